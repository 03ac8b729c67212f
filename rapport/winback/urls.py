from django.urls import path

from rapport.winback import views

app_name = "winback"

urlpatterns = [
    path("winback/", views.winback, name="winback"),
    path("winback/export.csv", views.export, name="export"),
    path("agenda/items/<int:pk>/recover/", views.recover, name="recover"),
    path("agenda/items/<int:pk>/reactivation/", views.reactivation, name="reactivation"),
]
