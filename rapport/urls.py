from django.contrib import admin
from django.urls import include, path

from rapport.workspaces.urls import auth_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    *auth_urlpatterns,
    path("", include("rapport.workspaces.urls")),
    path("", include("rapport.agenda.urls")),
    path("contacts/", include("rapport.clients.urls")),
    path("", include("rapport.outreach.urls")),
    path("", include("rapport.winback.urls")),
    path("", include("rapport.advocacy.urls")),
    path("", include("rapport.mailbox.urls")),
]
