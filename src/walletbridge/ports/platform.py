"""Ports for the platform's plumbing: the audit log, the outbox (and the activity feed it fills),
the throttle counters, and the transports that deliver mail and SMS.

Store methods run inside the caller's transaction (``uow.audit``, ``uow.outbox``,
``uow.throttle``); the transports are called by the relay outside any transaction.
"""

from __future__ import annotations

from typing import Protocol

from walletbridge.domain.audit import AuditEvent, AuditQuery, AuditRecord
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import (
    ActivityItem,
    ClaimedMessage,
    MailMessage,
    OutboxMessage,
    SmsMessage,
)


class ThrottleExceeded(Exception):
    """A store's signal: the bucket's window is full; nothing was counted."""


class UnknownCursor(Exception):
    """A store's signal: the cursor names no item of this list."""


class AuditStore(Protocol):
    def append(self, record: AuditRecord, at_us: int, event_id: str | None = None) -> None:
        """Append one record (one INSERT); ``event_id`` defaults to a fresh UUIDv7."""
        ...

    def events(self, query: AuditQuery) -> list[AuditEvent]:
        """The tenant's records matching ``query``, newest first (by ``seq``)."""
        ...


class OutboxStore(Protocol):
    def add(self, message: OutboxMessage, at_us: int) -> None:
        """One INSERT, due at once; safe inside any use case's transaction."""
        ...

    def claim_due(
        self, now_us: int, *, limit: int, lease_until_us: int, max_attempts: int
    ) -> list[ClaimedMessage]:
        """Lease up to ``limit`` undelivered messages due by ``now_us`` (attempts below
        ``max_attempts``): count the attempt and hide them until ``lease_until_us``. Concurrent
        relays never claim the same message while its lease runs."""
        ...

    def mark_delivered(self, message_id: str, at_us: int) -> None: ...
    def mark_failed(self, message_id: str, *, retry_at_us: int, error: str) -> None: ...
    def add_activity(self, item: ActivityItem) -> None:
        """Insert the feed item unless one with its id exists already."""
        ...

    def activity_for(
        self, tenant_id: TenantId, user_id: str, *, after: str | None, limit: int
    ) -> list[ActivityItem]:
        """The user's feed items in delivery order: the latest ``limit`` ones, or with ``after``
        (an item id) the ``limit`` ones delivered after it; raise ``UnknownCursor`` when
        ``after`` is not one of the user's items."""
        ...


class ThrottleStore(Protocol):
    def hit(self, bucket: str, window_start_us: int, expires_at_us: int, max_count: int) -> int:
        """Count one attempt in the bucket's window atomically and return the count so far;
        raise ``ThrottleExceeded`` (counting nothing) when ``max_count`` is reached already."""
        ...

    def hit_later(
        self, bucket: str, window_start_us: int, expires_at_us: int, max_count: int
    ) -> None:
        """``hit``, deferred while the transaction defers its writes (``WalletStore.
        defer_writes``): a full window raises ``ThrottleExceeded`` here, or from the next
        ``WalletStore.add_usage`` it travels with, and spoils the transaction."""
        ...

    def purge_expired(self, now_us: int) -> int: ...


class Mailer(Protocol):
    def send(self, mail: MailMessage) -> None:
        """Deliver one mail; sending the same ``mail.id`` again must not make a second mail
        where the transport can tell (the development mailbox can; SMTP cannot)."""
        ...


class SmsSender(Protocol):
    def send(self, sms: SmsMessage) -> None: ...


class MailboxReader(Protocol):
    """The development mailbox, read back (tests, the web app's development pages)."""

    def messages_for(self, address: str) -> list[MailMessage]:
        """Mail sent to ``address`` (case-insensitive), newest first."""
        ...


class SmsReader(Protocol):
    def messages_for(self, number: str) -> list[SmsMessage]:
        """SMS sent to ``number``, newest first."""
        ...
