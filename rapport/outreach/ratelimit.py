"""The rate limits moved to rapport.workspaces.ratelimit, where sign-in and
password reset use them too; outreach's public views keep importing them
from here."""

from rapport.workspaces.ratelimit import client_ip, limited, take

__all__ = ["client_ip", "limited", "take"]
