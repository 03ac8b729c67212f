from django.contrib.auth import views as auth_views
from django.urls import path

from rapport.workspaces import views

app_name = "workspaces"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("workspaces/new/", views.create_workspace, name="create"),
    path("workspaces/<int:pk>/switch/", views.switch_workspace, name="switch"),
    path("settings/", views.workspace_settings, name="settings"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("settings/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]

auth_urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="workspaces/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="workspaces/password_change.html", success_url="/"
        ),
        name="password_change",
    ),
]
