"""Erasure reaches the mailbox too: a contact deleted (erased) takes with it
every kept message to their address and every outbox message about them
(the outbox rows themselves are blanked by rapport.outreach.privacy)."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from rapport.clients.models import Contact


@receiver(pre_delete, sender=Contact, dispatch_uid="mailbox-forget-contact")
def forget_contact(sender, instance, **kwargs):
    from rapport.mailbox.models import Message
    from rapport.outreach.models import OutboundMessage

    ids = list(
        OutboundMessage.objects.filter(contact_id=instance.pk)
        .exclude(message_id="")
        .values_list("message_id", flat=True)
    )
    kept = Message.objects.filter(workspace_id=instance.workspace_id)
    if ids:
        kept.filter(message_id__in=ids).delete()
    if instance.email:
        kept.filter(recipients__contains=f"\n{instance.email.lower()}\n").delete()
