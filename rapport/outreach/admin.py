from django.contrib import admin

from rapport.outreach.models import Ask


@admin.register(Ask)
class AskAdmin(admin.ModelAdmin):
    list_display = ["contact", "kind", "channel", "outcome", "asked_on", "workspace"]
    list_filter = ["workspace", "kind", "outcome"]
    raw_id_fields = ["contact"]
