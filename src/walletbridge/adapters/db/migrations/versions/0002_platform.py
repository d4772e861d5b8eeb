"""outbox, activity feed, audit log, throttle counters, key-value store.

The audit log is append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of
``audit_events`` on both engines. Throttle counters never pass their limit: ``count <= max_count``
is a CHECK constraint, so a counter cannot be pushed past it by any writer.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PG_STATEMENTS = [
    """
    CREATE FUNCTION wb_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit-append-only: % on %', TG_OP, TG_TABLE_NAME;
    END $$
    """,
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION wb_audit_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION wb_audit_append_only()",
]

SQLITE_STATEMENTS = [
    f"CREATE TRIGGER audit_events_no_{name.lower()} BEFORE {name} ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, 'audit-append-only: {name} on audit_events'); END"
    for name in ("UPDATE", "DELETE")
]

SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    _create_audit_log()
    _create_outbox_and_feed()
    _create_throttle_and_kv()
    statements = PG_STATEMENTS if op.get_bind().dialect.name == "postgresql" else SQLITE_STATEMENTS
    for statement in statements:
        op.execute(statement)


def _create_audit_log() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", SEQ, sa.Identity(always=False), primary_key=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40)),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64)),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("object_type", sa.String(64)),
        sa.Column("object_id", sa.String(64)),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(500)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("details", sa.Text, nullable=False),
        sa.UniqueConstraint("id", name="uq_audit_events_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_actor", "audit_events", ["tenant_id", "actor_id", "seq"])
    op.create_index("ix_audit_events_tenant", "audit_events", ["tenant_id", "seq"])


def _create_outbox_and_feed() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40)),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("available_at_us", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(200)),
        sa.Column("delivered_at_us", sa.BigInteger),
        sa.CheckConstraint("attempts >= 0", name="ck_outbox_attempts"),
    )
    # The relay only ever looks for undelivered messages: a partial index keeps that scan small
    # however long the delivered history grows.
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["available_at_us"],
        postgresql_where=sa.text("delivered_at_us IS NULL"),
        sqlite_where=sa.text("delivered_at_us IS NULL"),
    )
    op.create_table(
        "activity_feed",
        sa.Column("seq", SEQ, sa.Identity(always=False), primary_key=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("id", name="uq_activity_feed_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_activity_feed_user", "activity_feed", ["tenant_id", "user_id", "seq"])


def _create_throttle_and_kv() -> None:
    op.create_table(
        "throttle_counters",
        sa.Column("bucket", sa.String(128), primary_key=True),
        sa.Column("window_start_us", sa.BigInteger, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("max_count", sa.Integer, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.CheckConstraint("count >= 1 AND count <= max_count", name="ck_throttle_count"),
    )
    op.create_index("ix_throttle_expiry", "throttle_counters", ["expires_at_us"])
    op.create_table(
        "kv_store",
        sa.Column("namespace", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger),
    )
    op.create_index("ix_kv_store_expiry", "kv_store", ["expires_at_us"])


def downgrade() -> None:
    for table in ("kv_store", "throttle_counters", "activity_feed", "outbox", "audit_events"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS wb_audit_append_only()")
