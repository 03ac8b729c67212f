from django.urls import path

from rapport.mailbox import views

app_name = "mailbox"

urlpatterns = [
    path("settings/mailbox/", views.workspace_mailbox, name="workspace"),
    path("mailbox/", views.sent_here, name="sent_here"),
]
