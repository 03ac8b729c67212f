from django.contrib import admin

from rapport.clients import models


class WorkspaceScopedAdmin(admin.ModelAdmin):
    """Staff see every workspace; the workspace is always shown and filterable."""

    list_filter = ["workspace"]
    list_select_related = True


@admin.register(models.Contact)
class ContactAdmin(WorkspaceScopedAdmin):
    list_display = ["__str__", "external_id", "workspace", "stage", "relationship", "readiness"]
    list_filter = ["workspace", "stage"]
    search_fields = ["first_name", "last_name", "email", "external_id"]
    raw_id_fields = ["organization", "referred_by", "owner"]
    readonly_fields = ["readiness", "erased_at"]


@admin.register(models.Organization)
class OrganizationAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace"]
    search_fields = ["name"]


for model, fields in [
    (models.Purchase, ["contact", "date", "amount", "description"]),
    (models.Activity, ["contact", "occurred_on", "kind", "direction", "carries_moment"]),
    (models.Deal, ["title", "contact", "stage", "won_on", "completed_on"]),
    (models.Issue, ["summary", "contact", "status", "opened_on", "resolved_on"]),
    (models.Permission, ["contact", "kind", "granted_on", "ask_after"]),
    (models.StageChange, ["contact", "from_stage", "to_stage", "reason", "changed_at"]),
    (models.ConsentRecord, ["contact", "channel", "granted", "source", "recorded_at"]),
]:
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (WorkspaceScopedAdmin,),
            {"list_display": [*fields, "workspace"], "raw_id_fields": ["contact"]},
        ),
    )
