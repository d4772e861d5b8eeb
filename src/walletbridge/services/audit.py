"""Audit use cases: append a record in its own transaction (refusals seen at the edge) and read the
log.

Use cases that change something append their record inside their own transaction
(``uow.audit.append(record, now_us)``), so the record commits with the change; ``record`` here is
for events that change nothing else (a refused request, a failed login). Readers page newest first
with an opaque cursor; a customer reads only their own records, an operator the tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass

from walletbridge.domain.actors import Actor
from walletbridge.domain.audit import (
    AuditCursorInvalid,
    AuditEvent,
    AuditQuery,
    AuditRecord,
    require_operator,
)
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.services.settings import ServiceSettings

MAX_PAGE = 100
CURSOR_PREFIX = "a"


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEvent]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What an operator may filter the log by; times are microseconds UTC, ``until`` exclusive."""

    action: str | None = None
    user_id: str | None = None
    since_us: int | None = None
    until_us: int | None = None


def encode_cursor(seq: int) -> str:
    return f"{CURSOR_PREFIX}{seq:x}"


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    body = cursor[len(CURSOR_PREFIX) :]
    if not cursor.startswith(CURSOR_PREFIX) or not body or len(body) > 16:
        raise AuditCursorInvalid()
    try:
        return int(body, 16)
    except ValueError:
        raise AuditCursorInvalid() from None


class AuditService:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        ids: IdSource,
        settings: ServiceSettings,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._settings = settings

    def record(self, record: AuditRecord) -> str:
        """Append ``record`` in a transaction of its own; return the new event's id."""
        event_id = self._ids.new_id()
        now_us = self._clock.now_us()

        def append(uow: UnitOfWork) -> None:
            uow.audit.append(record, now_us, event_id)
            uow.commit()

        self._runner.write(append)
        return event_id

    def security_events_for(
        self, actor: Actor, *, cursor: str | None = None, limit: int = 50
    ) -> AuditPage:
        """The caller's own records (what they did, and what was refused them), newest first."""
        return self._page(
            AuditQuery(tenant_id=actor.tenant_id, actor_id=actor.user_id), cursor, limit
        )

    def audit_events(
        self,
        actor: Actor,
        filters: AuditFilter | None = None,
        *,
        cursor: str | None = None,
        limit: int = 50,
    ) -> AuditPage:
        """The tenant's whole log, newest first; operators only (``operator-only`` otherwise)."""
        require_operator(actor)
        filters = filters or AuditFilter()
        query = AuditQuery(
            tenant_id=actor.tenant_id,
            actor_id=filters.user_id,
            action=filters.action,
            since_us=filters.since_us,
            until_us=filters.until_us,
        )
        return self._page(query, cursor, limit)

    def _page(self, query: AuditQuery, cursor: str | None, limit: int) -> AuditPage:
        limit = max(1, min(limit, MAX_PAGE))
        before_seq = decode_cursor(cursor)
        # One more than asked tells whether another page exists without a count query.
        bounded = AuditQuery(
            tenant_id=query.tenant_id,
            actor_id=query.actor_id,
            action=query.action,
            since_us=query.since_us,
            until_us=query.until_us,
            before_seq=before_seq,
            limit=limit + 1,
        )
        events = self._runner.read(lambda uow: uow.audit.events(bounded))
        page = events[:limit]
        more = len(events) > limit
        return AuditPage(items=page, next_cursor=encode_cursor(page[-1].seq) if more else None)
