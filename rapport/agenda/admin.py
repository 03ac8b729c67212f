from django.contrib import admin

from rapport.agenda.models import AgendaDecision, AgendaItem, Script


@admin.register(AgendaItem)
class AgendaItemAdmin(admin.ModelAdmin):
    list_display = ["contact", "action", "priority", "readiness", "date", "workspace"]
    list_filter = ["workspace", "action"]
    raw_id_fields = ["contact"]


@admin.register(AgendaDecision)
class AgendaDecisionAdmin(admin.ModelAdmin):
    list_display = ["contact", "action", "key", "status", "until", "decided_at"]
    raw_id_fields = ["contact"]


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = ["key", "workspace", "updated_at"]
