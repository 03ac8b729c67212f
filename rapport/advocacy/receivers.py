"""How advocacy hears about facts recorded below it (clients, agenda)."""

from django.db.models.signals import post_save

from rapport.clients.models import Stage
from rapport.clients.signals import promoted

BEFORE_CLIENT = {Stage.SUSPECT, Stage.PROSPECT}


def _became_clients(sender, changes, **kwargs):
    """A referred friend's first purchase or won deal, by any path (the
    contact page, an import, the API): their open referral is won."""
    from rapport.advocacy.actions import became_clients

    ids = [
        pk
        for pk, before, after, _ in changes
        if before in BEFORE_CLIENT and Stage.rank(after) >= Stage.rank(Stage.CUSTOMER)
    ]
    if ids:
        became_clients(sender, ids, on=sender.today())


def _thank_item_done(sender, instance, created, **kwargs):
    """A `thank` item marked done on Today logged a card there: the thank-you
    task for the same moment is done too (and no second card is asked for)."""
    if instance.action != "thank" or instance.status != "done":
        return
    from rapport.advocacy.actions import thank_you_done_elsewhere

    thank_you_done_elsewhere(
        instance.workspace, instance.contact_id, instance.key, by=instance.decided_by
    )


def connect():
    from django.db.models.signals import pre_save

    from rapport.advocacy.models import Testimonial
    from rapport.advocacy.testimonials import disclose_on_arrival
    from rapport.agenda.models import AgendaDecision

    pre_save.connect(disclose_on_arrival, sender=Testimonial, dispatch_uid="advocacy-disclose")
    promoted.connect(_became_clients, dispatch_uid="advocacy-became-clients")
    post_save.connect(_thank_item_done, sender=AgendaDecision, dispatch_uid="advocacy-thank-done")
