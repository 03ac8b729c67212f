from django.db import models
from django.utils import timezone


class MessageQuerySet(models.QuerySet):
    def for_workspace(self, workspace, member_emails=()):
        """What an owner reads: mail the workspace sent (the outbox's, and
        mail sent while one of its members was working in it), and account
        mail to its members that belongs to no workspace (a password reset)."""
        unattributed = models.Q()
        for email in member_emails:
            unattributed |= models.Q(recipients__contains=f"\n{email.lower()}\n")
        query = models.Q(workspace=workspace)
        if unattributed:
            query |= models.Q(workspace__isnull=True) & unattributed
        return self.filter(query)


class Message(models.Model):
    """One email as it would have been sent: nothing here was delivered."""

    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.CASCADE
    )
    from_email = models.CharField(max_length=400)
    # One address a line, lower case, with a line break before the first and
    # after the last, so "\n<address>\n" finds an exact recipient.
    recipients = models.TextField()
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=400, blank=True, db_index=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    # The whole message, headers and every part, as the server would have got it.
    raw = models.TextField()

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_list()}"

    def to_list(self) -> str:
        return ", ".join(a for a in self.recipients.split("\n") if a)
