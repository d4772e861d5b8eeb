"""Contact identifiers (handle, email address, phone number): their normal forms and blind indexes.

Email addresses and phone numbers are personal data and are stored sealed; to find a user by one,
the store keeps a blind index, an HMAC of the normal form under a key derived from the deployment
secret. Every part of the wallet that looks a user up by contact computes the index here, so the
normal form is the same everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.errors import DomainError

_HANDLE = re.compile(r"^[a-z][a-z0-9_.]{2,29}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


class InvalidContact(DomainError):
    code = "contact-invalid"
    template = "{kind} is not valid: {reason}."
    public = ("kind",)


def normalise(kind: RecipientKind, value: str) -> str:
    """The normal form, or ``InvalidContact``. Handles and email addresses are case-folded; phone
    numbers are E.164 (``+`` and digits; spaces, dashes and brackets are dropped)."""
    text = value.strip()
    if kind is RecipientKind.HANDLE:
        text = text.removeprefix("@").lower()
        if not _HANDLE.match(text):
            raise InvalidContact(
                kind="handle",
                reason="3-30 characters: a letter, then letters, digits, '_' or '.'",
            )
        return text
    if kind is RecipientKind.EMAIL:
        text = text.lower()
        if len(text) > 254 or not _EMAIL.match(text):
            raise InvalidContact(kind="email", reason="it does not look like an email address")
        return text
    text = re.sub(r"[\s\-().]", "", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _PHONE.match(text):
        raise InvalidContact(
            kind="phone", reason="use the international form with country code, like +8613800138000"
        )
    return text


def blind_index(secret_key: bytes, kind: RecipientKind, normal_form: str) -> bytes:
    """The 32-byte lookup key for an email address or phone number in its normal form."""
    key = hmac.new(secret_key, b"walletbridge/blind-index/v1", hashlib.sha256).digest()
    return hmac.new(key, f"{kind.value}:{normal_form}".encode(), hashlib.sha256).digest()
