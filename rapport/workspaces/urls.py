from django.contrib.auth import views as auth_views
from django.urls import path

from rapport.workspaces import auth, views

app_name = "workspaces"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("signup/confirm/<str:token>/", views.signup_confirm, name="signup_confirm"),
    path("workspaces/new/", views.create_workspace, name="create"),
    path("workspaces/<int:pk>/switch/", views.switch_workspace, name="switch"),
    path("settings/", views.workspace_settings, name="settings"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("settings/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("settings/security/", views.security_log, name="security_log"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]

auth_urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="workspaces/password_reset_sent.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="workspaces/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
