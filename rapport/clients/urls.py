from django.urls import path

from rapport.clients import imports_views, views

app_name = "clients"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_create, name="create"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/edit/", views.contact_edit, name="edit"),
    path("<int:pk>/activities/", views.log_activity, name="log_activity"),
    path("<int:pk>/purchases/", views.add_purchase, name="add_purchase"),
    path("<int:pk>/issues/", views.open_issue, name="open_issue"),
    path("<int:pk>/permissions/", views.add_permission, name="add_permission"),
    path("<int:pk>/stage/", views.change_stage, name="change_stage"),
    path("<int:pk>/relationship/", views.set_relationship, name="set_relationship"),
    path("<int:pk>/deals/", views.add_deal, name="add_deal"),
    path("issues/<int:pk>/resolve/", views.resolve_issue, name="resolve_issue"),
    path("deals/<int:pk>/", views.update_deal, name="update_deal"),
    path("import/", imports_views.import_upload, name="import"),
    path("import/<str:batch>/", imports_views.import_preview, name="import_preview"),
    path("import/<str:batch>/status/", imports_views.import_status, name="import_status"),
]
