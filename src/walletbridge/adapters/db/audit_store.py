"""Persistence of the append-only audit log.

Rows are only ever inserted here; the database's triggers refuse UPDATE and DELETE, so not even a
bug in this module could rewrite history. ``details`` is stored as JSON text; ``AuditRecord`` has
already refused any key naming a credential.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from walletbridge.adapters.db.tables_platform import audit_events
from walletbridge.adapters.db.wallet_records import write
from walletbridge.adapters.system import UuidV7Source
from walletbridge.domain.audit import ActorKind, AuditEvent, AuditQuery, AuditRecord, Outcome
from walletbridge.domain.ledger import TenantId

_ids = UuidV7Source()
_APPEND = (
    "INSERT INTO audit_events (id, tenant_id, at_us, actor_kind, actor_id, action, outcome, "
    "object_type, object_id, ip, user_agent, request_id, details) VALUES (%(id)s, %(t)s, "
    "%(at)s, %(ak)s, %(aid)s, %(act)s, %(o)s, %(ot)s, %(oid)s, %(ip)s, %(ua)s, %(rid)s, %(d)s)"
)


class SqlAuditStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def append(self, record: AuditRecord, at_us: int, event_id: str | None = None) -> None:
        # Raw and write-only: a payment that defers its writes sends this with its commit.
        write(
            self.connection,
            _APPEND,
            {
                "id": event_id or _ids.new_id(),
                "t": record.tenant_id,
                "at": at_us,
                "ak": record.actor_kind.value,
                "aid": record.actor_id,
                "act": record.action,
                "o": record.outcome.value,
                "ot": record.object_type,
                "oid": record.object_id,
                "ip": _clip(record.ip, 64),
                "ua": _clip(record.user_agent, 500),
                "rid": _clip(record.request_id, 64),
                "d": json.dumps(dict(record.details), sort_keys=True, separators=(",", ":")),
            },
        )

    def events(self, query: AuditQuery) -> list[AuditEvent]:
        t = audit_events
        statement = select(t).where(t.c.tenant_id == query.tenant_id)
        if query.actor_id is not None:
            statement = statement.where(t.c.actor_id == query.actor_id)
        if query.action is not None:
            statement = statement.where(t.c.action == query.action)
        if query.since_us is not None:
            statement = statement.where(t.c.at_us >= query.since_us)
        if query.until_us is not None:
            statement = statement.where(t.c.at_us < query.until_us)
        if query.before_seq is not None:
            statement = statement.where(t.c.seq < query.before_seq)
        statement = statement.order_by(t.c.seq.desc()).limit(query.limit)
        return [_event(row._mapping) for row in self.connection.execute(statement)]


def _clip(text: str | None, length: int) -> str | None:
    """Request metadata comes from the client; cut it to the column rather than refuse the
    record, which would lose the event itself."""
    return None if text is None else text[:length]


def _event(row: Any) -> AuditEvent:
    tenant_id = row["tenant_id"]
    return AuditEvent(
        seq=int(row["seq"]),
        id=str(row["id"]),
        at_us=int(row["at_us"]),
        record=AuditRecord(
            tenant_id=TenantId(tenant_id) if tenant_id is not None else None,
            action=row["action"],
            outcome=Outcome(row["outcome"]),
            actor_kind=ActorKind(row["actor_kind"]),
            actor_id=row["actor_id"],
            object_type=row["object_type"],
            object_id=row["object_id"],
            ip=row["ip"],
            user_agent=row["user_agent"],
            request_id=row["request_id"],
            details=json.loads(row["details"]),
        ),
    )
