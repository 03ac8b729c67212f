"""The development mailbox: where mail goes when no mail server is set.

A Django app of its own rather than part of outreach, because it catches
every email the install sends — account mail (sign-up, password reset,
invitations) from rapport.workspaces as much as the outbox's — and so sits
above them all: it reads the outbox to tell which workspace a message was
for, and nothing imports it but settings. Nothing is delivered; staff read
what would have gone out at /settings/mailbox/, and a visitor who just
signed up reads the mail their own browser caused at /mailbox/.
"""
