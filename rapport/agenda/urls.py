from django.urls import path

from rapport.agenda import views

app_name = "agenda"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("agenda/items/<int:pk>/done/", views.done, name="done"),
    path("agenda/items/<int:pk>/snooze/", views.snooze, name="snooze"),
    path("agenda/readings/<int:pk>/answer/", views.answer_reading, name="answer_reading"),
    path(
        "agenda/permission-proposals/<int:pk>/",
        views.decide_permission,
        name="decide_permission",
    ),
    path("agenda/rebuild/", views.rebuild, name="rebuild"),
    path("agenda/capacity/", views.capacity, name="capacity"),
    path("settings/scripts/", views.scripts, name="scripts"),
    path("settings/scripts/<slug:key>/", views.script_edit, name="script_edit"),
]
