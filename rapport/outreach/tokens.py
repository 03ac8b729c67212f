"""Public tokens: unguessable, stored hashed, re-derivable only with the key.

A client page link or an unsubscribe link must be in the email, yet the
database must not hold live links (a leaked backup would hand them out).
So a token is derived from the server's SECRET_KEY, the object and a random
salt: the database keeps the salt and the token's hash, the outbox keeps the
message with a placeholder, and the link is rebuilt at send time.
"""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

from rapport.workspaces.models import hash_token

TOKEN_BYTES = 24  # 192 bits, above the 128 the design asks for


def new_salt() -> str:
    return secrets.token_hex(16)


def derive(purpose: str, pk: int, salt: str) -> str:
    message = f"rapport:{purpose}:{pk}:{salt}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).rstrip(b"=").decode()


__all__ = ["derive", "hash_token", "new_salt"]
