from django.apps import AppConfig


class AdvocacyConfig(AppConfig):
    name = "rapport.advocacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Thank-yous, referrals left waiting and gives join the agenda's rules.
        # Links to advocacy's client pages in queued emails are rebuilt when
        # the message is sent (outreach.compose keeps no live link).
        from rapport.advocacy import (
            references,
            rules,  # noqa: F401
            testimonials,
        )
        from rapport.outreach.compose import register_link

        register_link("testimonial", testimonials.resolve_link)
        register_link("refrequest", references.resolve_link)

        from rapport.advocacy import receivers, timeline, views
        from rapport.clients import hooks

        receivers.connect()
        # What advocacy adds to the record's pages and to its ladder.
        hooks.add_timeline_source("advocacy", timeline.advocacy)
        hooks.add_ladder_evidence("advocacy", timeline.ladder_evidence)
        hooks.add_contact_section("advocacy", views.contact_section)
