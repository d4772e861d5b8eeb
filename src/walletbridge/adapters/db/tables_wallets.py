"""Table definitions for wallets, limits, fees, payees, payment requests, wallet history and
idempotency keys (SQLAlchemy Core, sharing the ledger's metadata).

The money-guarding rules live in the schema too: ``wallet_limit_usage`` refuses usage above its
limit (CHECK ``ck_wallet_usage_within_limit``), idempotency keys are unique per (tenant, caller,
key), and amounts are positive by CHECK.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from walletbridge.adapters.db.tables import metadata

__all__ = [
    "metadata",
    "payees",
    "payment_requests",
    "tenant_currencies",
    "tenant_fees",
    "tenant_tiers",
    "wallet_history",
    "wallet_idempotency",
    "wallet_limit_overrides",
    "wallet_limit_usage",
    "wallets",
]

tenant_currencies = Table(
    "tenant_currencies",
    metadata,
    Column("tenant_id", String(40), ForeignKey("tenants.id"), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("exponent", SmallInteger, nullable=False),
)

tenant_tiers = Table(
    "tenant_tiers",
    metadata,
    Column("tenant_id", String(40), ForeignKey("tenants.id"), primary_key=True),
    Column("tier", SmallInteger, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("per_transaction_minor", BigInteger, nullable=False),
    Column("daily_minor", BigInteger, nullable=False),
    Column("monthly_minor", BigInteger, nullable=False),
    Column("balance_cap_minor", BigInteger, nullable=False),
    CheckConstraint(
        "per_transaction_minor >= 0 AND daily_minor >= 0 AND monthly_minor >= 0 "
        "AND balance_cap_minor >= 0",
        name="ck_tenant_tiers_non_negative",
    ),
)

tenant_fees = Table(
    "tenant_fees",
    metadata,
    Column("tenant_id", String(40), ForeignKey("tenants.id"), primary_key=True),
    Column("product", String(20), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("fixed_minor", BigInteger, nullable=False),
    Column("basis_points", Integer, nullable=False),
    Column("minimum_minor", BigInteger, nullable=False),
    Column("maximum_minor", BigInteger),
    CheckConstraint(
        "fixed_minor >= 0 AND basis_points BETWEEN 0 AND 10000 AND minimum_minor >= 0",
        name="ck_tenant_fees_range",
    ),
)

wallets = Table(
    "wallets",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("home_currency", String(3), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "user_id", name="uq_wallets_tenant_user"),
)

wallet_limit_usage = Table(
    "wallet_limit_usage",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("used_minor", BigInteger, nullable=False),
    Column("limit_minor", BigInteger, nullable=False),
    CheckConstraint("used_minor <= limit_minor", name="ck_wallet_usage_within_limit"),
    CheckConstraint("used_minor >= 0", name="ck_wallet_usage_non_negative"),
)

wallet_limit_overrides = Table(
    "wallet_limit_overrides",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("daily_minor", BigInteger, nullable=False),
    CheckConstraint("daily_minor >= 0", name="ck_wallet_override_non_negative"),
)

wallet_history = Table(
    "wallet_history",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("transfer_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("counterparty_user_id", String(36)),
    Column("counterparty_handle", String(40)),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("note", String(140)),
    Column("entry_id", Uuid, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    CheckConstraint("amount_minor > 0 AND fee_minor >= 0", name="ck_wallet_history_amounts"),
    UniqueConstraint("transfer_id", "user_id", name="uq_wallet_history_transfer_user"),
    Index("ix_wallet_history_owner_time", "tenant_id", "user_id", "created_at_us", "id"),
)

payment_requests = Table(
    "payment_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("requester_id", String(36), nullable=False),
    Column("requester_handle", String(40), nullable=False),
    Column("payer_id", String(36), nullable=False),
    Column("payer_handle", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("note", String(140)),
    Column("status", String(10), nullable=False),
    Column("transfer_id", Uuid),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    CheckConstraint("amount_minor > 0", name="ck_payment_requests_amount"),
    Index("ix_payment_requests_payer", "tenant_id", "payer_id", "created_at_us", "id"),
    Index("ix_payment_requests_requester", "tenant_id", "requester_id", "created_at_us", "id"),
)

payees = Table(
    "payees",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("owner_id", String(36), nullable=False),
    Column("payee_user_id", String(36), nullable=False),
    Column("nickname", String(60), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "owner_id", "payee_user_id", name="uq_payees_owner_payee"),
)

wallet_idempotency = Table(
    "wallet_idempotency",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("status_code", SmallInteger),
    Column("body", Text),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Index("ix_wallet_idempotency_expiry", "expires_at_us"),
)
