"""Ports for the platform's plumbing: the audit log, the outbox and the throttle counters."""

from __future__ import annotations

from typing import Protocol

from walletbridge.domain.audit import AuditRecord
from walletbridge.domain.outbox import OutboxMessage


class AuditStore(Protocol):
    def append(self, record: AuditRecord, at_us: int) -> None: ...


class OutboxStore(Protocol):
    def add(self, message: OutboxMessage, at_us: int) -> None: ...


class ThrottleStore(Protocol):
    def hit(self, bucket: str, window_start_us: int, expires_at_us: int) -> int:
        """Count one attempt in the bucket's window atomically; return the count so far."""
        ...
