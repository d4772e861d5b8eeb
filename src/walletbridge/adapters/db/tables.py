"""Table definitions (SQLAlchemy Core) shared by queries. Migrations own the schema's history.

Ledger tables keep times as integer microseconds since the epoch (``*_at_us``): eight bytes, one
meaning on every engine, and no time-zone conversions between drivers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Uuid,
)

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("home_currency", String(3), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("normal_side", String(8), nullable=False),
    Column("shard_count", SmallInteger, nullable=False),
    Column("floor_minor", BigInteger),
    Column("ceiling_minor", BigInteger),
    Column("code", String(100)),
    Column("owner_ref", String(100)),
    Column("created_at_us", BigInteger, nullable=False),
)

account_balances = Table(
    "account_balances",
    metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("posted_minor", BigInteger, nullable=False),
    Column("pending_minor", BigInteger, nullable=False),
    Column("floor_minor", BigInteger),
    Column("ceiling_minor", BigInteger),
    ForeignKeyConstraint(
        ["account_id", "tenant_id", "currency"],
        ["accounts.id", "accounts.tenant_id", "accounts.currency"],
    ),
)

entries = Table(
    "entries",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("id", Uuid, nullable=False, unique=True),
    Column("tenant_id", String(40), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("posted_at_us", BigInteger, nullable=False),
    Column("memo", String(500)),
    Column("reverses_id", Uuid),
    Column("hold_id", Uuid),
)

postings = Table(
    "postings",
    metadata,
    Column("entry_id", Uuid, primary_key=True),
    Column("leg", SmallInteger, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("posted_at_us", BigInteger, nullable=False),
)

holds = Table(
    "holds",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("debit_account_id", Uuid, nullable=False),
    Column("credit_account_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("captured_minor", BigInteger),
    Column("status", String(10), nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("finished_at_us", BigInteger),
    Column("capture_entry_id", Uuid),
)

seals = Table(
    "seals",
    metadata,
    Column("seal_no", Integer, primary_key=True, autoincrement=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("merkle_root", LargeBinary(32), nullable=False),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("seal_hash", LargeBinary(32), nullable=False),
    Column("sealed_at_us", BigInteger, nullable=False),
)
