"""Outbox messages: side effects (mail, SMS, in-app events, later bank calls) written in the same
transaction as the change that causes them, and delivered after commit by the relay, at least
once; each handler makes its effect happen once per message id.

The relay claims due messages, performs the effect outside any database transaction, then marks
them delivered; a failed attempt is retried after an exponential backoff (capped), up to a retry
limit. The mail, SMS and activity values below are what the handlers deliver and what the
development mailbox and the activity feed hand back.

    DomainError
    └── ActivityCursorInvalid       cursor-invalid        400
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.ledger import TenantId

Scalar = str | int | bool | None


class Topic(StrEnum):
    EMAIL = "notify.email"
    """payload: to, subject, body (plain text), locale."""
    SMS = "notify.sms"
    """payload: to (E.164), text."""
    ACTIVITY = "activity"
    """payload: user_id, kind, and the event's own fields; feeds the in-app live feed."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    tenant_id: TenantId | None
    topic: Topic
    payload: Mapping[str, Scalar]

    @classmethod
    def email(
        cls,
        message_id: str,
        tenant_id: TenantId | None,
        *,
        to: str,
        subject: str,
        body: str,
        locale: str | None = None,
    ) -> OutboxMessage:
        payload = {"to": to, "subject": subject, "body": body, "locale": locale}
        return cls(message_id, tenant_id, Topic.EMAIL, payload)

    @classmethod
    def sms(
        cls, message_id: str, tenant_id: TenantId | None, *, to: str, text: str
    ) -> OutboxMessage:
        return cls(message_id, tenant_id, Topic.SMS, {"to": to, "text": text})

    @classmethod
    def activity(
        cls, message_id: str, tenant_id: TenantId, *, user_id: str, kind: str, **fields: Scalar
    ) -> OutboxMessage:
        """An entry for ``user_id``'s in-app feed; ``fields`` are the event's own (ids, amounts
        as decimal strings, currency), never secrets."""
        assert "user_id" not in fields and "kind" not in fields
        return cls(
            message_id, tenant_id, Topic.ACTIVITY, {"user_id": user_id, "kind": kind, **fields}
        )


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A message the relay has leased for one delivery attempt."""

    message: OutboxMessage
    created_at_us: int
    attempts: int
    """Attempts so far, this one included."""


@dataclass(frozen=True, slots=True)
class MailMessage:
    """One mail as sent; ``id`` is the outbox message id, so sending it twice is one mail."""

    id: str
    to: str
    subject: str
    body: str
    sender: str
    created_at_us: int
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class SmsMessage:
    id: str
    to: str
    text: str
    created_at_us: int


@dataclass(frozen=True, slots=True)
class ActivityItem:
    """One entry of a user's in-app activity feed; ``id`` is the outbox message id."""

    id: str
    tenant_id: TenantId
    user_id: str
    kind: str
    payload: Mapping[str, Scalar] = field(default_factory=dict)
    created_at_us: int = 0


class ActivityCursorInvalid(DomainError):
    code = "cursor-invalid"
    kind = ErrorKind.BAD_REQUEST
    template = "The cursor is not one this list handed out."
