"""The audit log's record: who did what, to which object, when, from where, with what outcome.

Records are appended and never changed; the database refuses UPDATE and DELETE on them (triggers on
both engines). A record never carries a password, code, token, secret, card number or IBAN:
``details`` holds identifiers, amounts and error codes only, and ``AuditRecord`` refuses (by
assertion: it is a programmer error) any detail key that names a credential — see
``FORBIDDEN_DETAIL_WORDS``. Name an error code ``error``, never ``code``.

    DomainError
    └── AuditError
        └── AuditCursorInvalid       cursor-invalid        400

Reading the whole log is for operators only: ``OperatorOnly`` (``operator-only``, 403) lives with
the identity rules in ``domain.identity``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from walletbridge.domain.actors import Actor, Role, Scope
from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.identity import OperatorOnly
from walletbridge.domain.ledger import TenantId

__all__ = [
    "FORBIDDEN_DETAIL_WORDS",
    "ActorKind",
    "AuditCursorInvalid",
    "AuditError",
    "AuditEvent",
    "AuditQuery",
    "AuditRecord",
    "OperatorOnly",
    "Outcome",
    "require_operator",
]

FORBIDDEN_DETAIL_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "code",
        "otp",
        "totp",
        "pin",
        "token",
        "secret",
        "cvv",
        "cvc",
        "pan",
        "card",
        "iban",
        "cookie",
        "authorization",
    }
)
"""A detail key is refused when any of its words (split on ``_``, ``-``, ``.`` and case changes)
is one of these, or when it contains ``password``, ``secret`` or ``token`` anywhere."""

_ALWAYS_FORBIDDEN_PARTS = ("password", "secret", "token")
_WORD_SPLIT = re.compile(r"[_\-.\s]+|(?<=[a-z])(?=[A-Z])")
MAX_DETAIL_TEXT = 500
"""Details are short facts; a long text is more likely a dumped payload carrying personal data."""


def detail_key_allowed(key: str) -> bool:
    lowered = key.lower()
    if any(part in lowered for part in _ALWAYS_FORBIDDEN_PARTS):
        return False
    words = {word.lower() for word in _WORD_SPLIT.split(key) if word}
    return not words & FORBIDDEN_DETAIL_WORDS


class ActorKind(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    tenant_id: TenantId | None
    action: str
    """Dotted and past tense: ``auth.login.succeeded``, ``payment.p2p.sent``."""
    outcome: Outcome
    actor_kind: ActorKind
    actor_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: Mapping[str, str | int | bool | None] = field(default_factory=dict)

    @classmethod
    def of_actor(
        cls,
        actor: Actor,
        action: str,
        outcome: Outcome = Outcome.SUCCESS,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        details: Mapping[str, str | int | bool | None] | None = None,
    ) -> AuditRecord:
        """A record of what ``actor`` did, with where the request came from."""
        return cls(
            tenant_id=actor.tenant_id,
            action=action,
            outcome=outcome,
            actor_kind=ActorKind.OPERATOR if actor.role is Role.OPERATOR else ActorKind.CUSTOMER,
            actor_id=actor.user_id,
            object_type=object_type,
            object_id=object_id,
            ip=actor.context.ip,
            user_agent=actor.context.user_agent,
            request_id=actor.context.request_id,
            details=dict(details or {}),
        )

    def __post_init__(self) -> None:
        assert self.action and len(self.action) <= 100, "an audit action is 1-100 characters"
        for key, value in self.details.items():
            assert detail_key_allowed(key), f"audit details must not hold credentials: {key!r}"
            assert not isinstance(value, str) or len(value) <= MAX_DETAIL_TEXT, (
                f"audit detail {key!r} is too long"
            )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """A record as stored: its place in the log (``seq``), its id and when it was written."""

    seq: int
    id: str
    at_us: int
    record: AuditRecord


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for reading the log of one tenant, newest first; ``before_seq`` is the cursor."""

    tenant_id: TenantId
    actor_id: str | None = None
    action: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    before_seq: int | None = None
    limit: int = 50


class AuditError(DomainError):
    code = "audit-error"


class AuditCursorInvalid(AuditError):
    code = "cursor-invalid"
    kind = ErrorKind.BAD_REQUEST
    template = "The cursor is not one this list handed out."


def require_operator(actor: Actor) -> None:
    """Only an operator holding the operator scope reads other people's records."""
    if actor.role is not Role.OPERATOR or Scope.OPERATOR not in actor.scopes:
        raise OperatorOnly()
