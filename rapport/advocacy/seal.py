"""Sealing what the business must not see: a referred person's email or
phone held for a double-opt-in introduction until they accept.

Encrypted with a key derived from SECRET_KEY (Fernet: AES-128-CBC with an
HMAC), so that not even the admin, a database browser or a backup shows it.
A rotated key makes pending seals unreadable; the introduction then asks the
friend to type their details, which is what it offers anyway.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = hashlib.sha256(f"rapport:seal:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(details: dict[str, str]) -> str:
    kept = {k: v for k, v in details.items() if v}
    return _fernet().encrypt(json.dumps(kept).encode()).decode() if kept else ""


def unseal(sealed: str) -> dict[str, str]:
    if not sealed:
        return {}
    try:
        return json.loads(_fernet().decrypt(sealed.encode()))
    except (InvalidToken, ValueError):
        return {}


def masked_email(address: str) -> str:
    """b•••@e•••.com: enough for its owner to recognise, little for anyone else."""
    local, _, domain = address.partition("@")
    name, _, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{name[:1]}•••.{tld}" if name else f"{local[:1]}•••"


def masked_phone(number: str) -> str:
    digits = [c for c in number if c.isdigit()]
    return "•••• " + "".join(digits[-2:]) if digits else "••••"
