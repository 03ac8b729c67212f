from django.apps import AppConfig


class AgendaConfig(AppConfig):
    name = "rapport.agenda"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rapport.agenda import store
        from rapport.agenda.actions import refresh_after_change
        from rapport.agenda.views import contact_section
        from rapport.clients import hooks
        from rapport.clients.signals import facts_changed
        from rapport.workspaces.signals import settings_changed

        def follow(sender, workspace, contact_ids, **kwargs):
            refresh_after_change(workspace, contact_ids)

        def rebuild(sender, workspace, **kwargs):
            store.refresh(workspace)

        # The record tells the agenda that facts changed, a workspace that its
        # settings did; the agenda follows.
        facts_changed.connect(follow, dispatch_uid="agenda-follows-the-record", weak=False)
        settings_changed.connect(rebuild, dispatch_uid="agenda-follows-settings", weak=False)
        hooks.add_contact_section("agenda", contact_section)
        hooks.add_moment_reader("agenda", moment_kinds)


def moment_kinds(workspace, on, contact_ids=None) -> dict[int, list[str]]:
    from rapport.agenda.moments import moments_on

    found = moments_on(workspace, on, contact_ids=contact_ids)
    return {pk: [m.kind for m in ms] for pk, ms in found.items()}
