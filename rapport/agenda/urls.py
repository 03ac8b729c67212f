from django.urls import path

from rapport.agenda import views

app_name = "agenda"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("agenda/items/<int:pk>/done/", views.done, name="done"),
    path("agenda/items/<int:pk>/snooze/", views.snooze, name="snooze"),
    path("agenda/rebuild/", views.rebuild, name="rebuild"),
    path("agenda/capacity/", views.capacity, name="capacity"),
    path("settings/scripts/", views.scripts, name="scripts"),
    path("settings/scripts/<slug:key>/", views.script_edit, name="script_edit"),
]
