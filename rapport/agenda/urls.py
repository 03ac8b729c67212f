from django.urls import path

from rapport.agenda import views

app_name = "agenda"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("agenda/items/<int:pk>/outcome/", views.outcome, name="outcome"),
    path("agenda/items/<int:pk>/done/", views.done, name="done"),
    path("agenda/items/<int:pk>/recover/", views.recover, name="recover"),
    path("agenda/items/<int:pk>/reactivation/", views.reactivation, name="reactivation"),
    path("agenda/items/<int:pk>/snooze/", views.snooze, name="snooze"),
    path("agenda/rebuild/", views.rebuild, name="rebuild"),
    path("settings/scripts/", views.scripts, name="scripts"),
    path("settings/scripts/<slug:key>/", views.script_edit, name="script_edit"),
]
