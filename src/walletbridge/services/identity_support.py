"""Small pieces the identity use cases share: secret generation and hashing, login identifier
parsing, audit records and issued tokens.

Every secret handed to a person (verification code, recovery code, password-reset token,
session token) is stored only as a keyed hash; tokens carry 256 random bits, codes are keyed by
the deployment secret and their own id so a leaked table cannot be brute-forced offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from walletbridge.domain.actors import RecipientKind, RequestContext, Scope, SessionId, UserId
from walletbridge.domain.audit import ActorKind, AuditRecord, Outcome
from walletbridge.domain.contacts import InvalidContact, blind_index, normalise
from walletbridge.domain.identity import Channel
from walletbridge.domain.ledger import TenantId

_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A bearer token, shown to its holder once; only its hash is kept."""

    access_token: str
    session_id: SessionId
    scopes: frozenset[Scope]
    expires_at_us: int
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret


@dataclass(frozen=True, slots=True)
class LoginIdentifier:
    """What a person typed to sign in, parsed: a handle, or an address's blind index."""

    handle: str | None = None
    channel: Channel | None = None
    index: bytes | None = None
    bucket: str = ""
    """A stable, non-personal key for rate limiting (a hash, never the address itself)."""


class Secrets:
    """Keyed hashes and fresh secrets, derived from the deployment secret."""

    def __init__(self, secret_key: bytes) -> None:
        self.secret_key = secret_key
        self._code_key = _derive(secret_key, b"walletbridge/codes/v1")

    def code_hash(self, scope: str, code: str) -> bytes:
        return hmac.new(self._code_key, f"{scope}:{code}".encode(), hashlib.sha256).digest()

    @staticmethod
    def token_hash(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    @staticmethod
    def new_token() -> str:
        """32 random bytes, base64url without padding (43 characters, 256 bits)."""
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()

    @staticmethod
    def new_numeric_code(digits: int) -> str:
        return f"{secrets.randbelow(10**digits):0{digits}d}"

    @staticmethod
    def new_recovery_code() -> str:
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{chars[:5]}-{chars[5:]}"

    @staticmethod
    def normal_recovery_code(code: str) -> str:
        return code.strip().lower().replace("-", "").replace(" ", "")

    def parse_login(self, login: str) -> LoginIdentifier | None:
        """A handle, email address or phone number in its normal form, or None if it is none of
        them (the caller answers as for a wrong password)."""
        text = login.strip()
        if "@" in text and not text.startswith("@"):
            kind, channel = RecipientKind.EMAIL, Channel.EMAIL
        elif text[:1] == "+" or text[:2] == "00" or text.replace(" ", "").isdigit():
            kind, channel = RecipientKind.PHONE, Channel.PHONE
        else:
            kind, channel = RecipientKind.HANDLE, None
        try:
            normal = normalise(kind, text)
        except InvalidContact:
            return None
        bucket = hashlib.sha256(self._code_key + f"{kind.value}:{normal}".encode()).hexdigest()[:32]
        if channel is None:
            return LoginIdentifier(handle=normal, bucket=bucket)
        return LoginIdentifier(
            channel=channel, index=blind_index(self.secret_key, kind, normal), bucket=bucket
        )


def _derive(secret_key: bytes, label: bytes) -> bytes:
    return hmac.new(secret_key, label, hashlib.sha256).digest()


def audit(
    tenant_id: TenantId | None,
    action: str,
    outcome: Outcome,
    context: RequestContext,
    *,
    user_id: UserId | None = None,
    actor_kind: ActorKind | None = None,
    actor_id: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    extra: Mapping[str, str | int | bool | None] | None = None,
    **details: str | int | bool | None,
) -> AuditRecord:
    """An audit record of a security event; ``user_id`` is the actor unless ``actor_id`` says
    otherwise (an operator acting on a user)."""
    kind = actor_kind or (ActorKind.CUSTOMER if user_id else ActorKind.ANONYMOUS)
    return AuditRecord(
        tenant_id=tenant_id,
        action=action,
        outcome=outcome,
        actor_kind=kind,
        actor_id=actor_id if actor_id is not None else user_id,
        object_type=object_type or ("user" if user_id else None),
        object_id=object_id if object_id is not None else user_id,
        ip=context.ip,
        user_agent=context.user_agent,
        request_id=context.request_id,
        details={**(extra or {}), **details},
    )
