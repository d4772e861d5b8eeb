"""Outbox messages: side effects (mail, SMS, in-app events, later bank calls) written in the same
transaction as the change that causes them, and delivered after commit by the relay, at least
once; each handler makes its effect happen once per message id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from walletbridge.domain.ledger import TenantId


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
    payload: Mapping[str, str | int | bool | None]
