"""Persistence of the transactional outbox and of the activity feed it fills.

``add`` is one INSERT, so any use case can call it inside its own transaction: the message
commits or rolls back with the change that caused it. ``claim_due`` leases messages to one relay
at a time: on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` (concurrent relays take different rows);
on SQLite the writer's ``BEGIN IMMEDIATE`` already makes claims one at a time. A lease is an
``available_at_us`` in the future, so a relay that dies mid-delivery leaves its messages to be
claimed again once the lease ends (at least once; the handlers make effects idempotent).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from walletbridge.adapters.db.tables_platform import activity_feed, outbox
from walletbridge.adapters.db.wallet_records import write
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import ActivityItem, ClaimedMessage, OutboxMessage, Topic
from walletbridge.ports.platform import UnknownCursor

MAX_ERROR_LENGTH = 200
_ADD = (
    "INSERT INTO outbox (id, tenant_id, topic, payload, created_at_us, available_at_us, "
    "attempts) VALUES (%(id)s, %(t)s, %(topic)s, %(p)s, %(at)s, %(at)s, 0)"
)


def _json(payload: object) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


class SqlOutboxStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, message: OutboxMessage, at_us: int) -> None:
        # Raw and write-only: a payment that defers its writes sends this with its commit.
        write(
            self.connection,
            _ADD,
            {
                "id": message.id,
                "t": message.tenant_id,
                "topic": message.topic.value,
                "p": _json(dict(message.payload)),
                "at": at_us,
            },
        )

    def claim_due(
        self, now_us: int, *, limit: int, lease_until_us: int, max_attempts: int
    ) -> list[ClaimedMessage]:
        due = (
            select(outbox.c.id)
            .where(
                outbox.c.delivered_at_us.is_(None),
                outbox.c.available_at_us <= now_us,
                outbox.c.attempts < max_attempts,
            )
            .order_by(outbox.c.available_at_us)
            .limit(limit)
            .with_for_update(skip_locked=True)  # SQLite renders no locking clause
        )
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(due.scalar_subquery()))
            .values(attempts=outbox.c.attempts + 1, available_at_us=lease_until_us)
            .returning(
                outbox.c.id,
                outbox.c.tenant_id,
                outbox.c.topic,
                outbox.c.payload,
                outbox.c.created_at_us,
                outbox.c.attempts,
            )
        )
        rows = sorted(
            self.connection.execute(statement), key=lambda row: (row.created_at_us, row.id)
        )
        return [
            ClaimedMessage(
                message=OutboxMessage(
                    id=row.id,
                    tenant_id=TenantId(row.tenant_id) if row.tenant_id is not None else None,
                    topic=Topic(row.topic),
                    payload=json.loads(row.payload),
                ),
                created_at_us=int(row.created_at_us),
                attempts=int(row.attempts),
            )
            for row in rows
        ]

    def mark_delivered(self, message_id: str, at_us: int) -> None:
        self.connection.execute(
            update(outbox)
            .where(outbox.c.id == message_id, outbox.c.delivered_at_us.is_(None))
            .values(delivered_at_us=at_us, last_error=None)
        )

    def mark_failed(self, message_id: str, *, retry_at_us: int, error: str) -> None:
        self.connection.execute(
            update(outbox)
            .where(outbox.c.id == message_id, outbox.c.delivered_at_us.is_(None))
            .values(available_at_us=retry_at_us, last_error=error[:MAX_ERROR_LENGTH])
        )

    def add_activity(self, item: ActivityItem) -> None:
        values = {
            "id": item.id,
            "tenant_id": item.tenant_id,
            "user_id": item.user_id,
            "kind": item.kind,
            "payload": _json(dict(item.payload)),
            "created_at_us": item.created_at_us,
        }
        self.connection.execute(self._insert_ignoring_duplicates(values))

    def _insert_ignoring_duplicates(self, values: dict[str, Any]) -> Insert:
        if self.connection.dialect.name == "postgresql":
            return postgresql.insert(activity_feed).values(values).on_conflict_do_nothing()
        return sqlite.insert(activity_feed).values(values).on_conflict_do_nothing()

    def activity_for(
        self, tenant_id: TenantId, user_id: str, *, after: str | None, limit: int
    ) -> list[ActivityItem]:
        t = activity_feed
        mine = select(t).where(t.c.tenant_id == tenant_id, t.c.user_id == user_id)
        if after is None:
            rows = list(self.connection.execute(mine.order_by(t.c.seq.desc()).limit(limit)))
            rows.reverse()
        else:
            after_seq = self.connection.execute(
                select(t.c.seq).where(
                    t.c.id == after, t.c.tenant_id == tenant_id, t.c.user_id == user_id
                )
            ).scalar()
            if after_seq is None:
                raise UnknownCursor(after)
            statement = mine.where(t.c.seq > after_seq).order_by(t.c.seq).limit(limit)
            rows = list(self.connection.execute(statement))
        return [
            ActivityItem(
                id=row.id,
                tenant_id=TenantId(row.tenant_id),
                user_id=row.user_id,
                kind=row.kind,
                payload=json.loads(row.payload),
                created_at_us=int(row.created_at_us),
            )
            for row in rows
        ]
