"""Table definitions for outbox, activity feed, audit log, throttle counters and the key-value
store behind sessions (SQLAlchemy Core, sharing the ledger's metadata). Migration 0002 owns the
schema; these mirror it for queries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from walletbridge.adapters.db.tables import metadata

__all__ = [
    "activity_feed",
    "audit_events",
    "kv_store",
    "metadata",
    "outbox",
    "throttle_counters",
]

SEQ = BigInteger().with_variant(Integer, "sqlite")

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", SEQ, primary_key=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("tenant_id", String(40)),
    Column("at_us", BigInteger, nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(64)),
    Column("action", String(100), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("object_type", String(64)),
    Column("object_id", String(64)),
    Column("ip", String(64)),
    Column("user_agent", String(500)),
    Column("request_id", String(64)),
    Column("details", Text, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40)),
    Column("topic", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("available_at_us", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200)),
    Column("delivered_at_us", BigInteger),
)

activity_feed = Table(
    "activity_feed",
    metadata,
    Column("seq", SEQ, primary_key=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("tenant_id", String(40), nullable=False),
    Column("user_id", String(40), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

throttle_counters = Table(
    "throttle_counters",
    metadata,
    Column("bucket", String(128), primary_key=True),
    Column("window_start_us", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("max_count", Integer, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    CheckConstraint("count >= 1 AND count <= max_count", name="ck_throttle_count"),
)

kv_store = Table(
    "kv_store",
    metadata,
    Column("namespace", String(100), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("value", LargeBinary, nullable=False),
    Column("expires_at_us", BigInteger),
)
