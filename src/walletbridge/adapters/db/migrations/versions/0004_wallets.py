"""wallets, KYC tiers and limits, fees, payees, payment requests, wallet history, idempotency keys.

The database keeps the money rules the services state: limit usage never exceeds its limit
(CHECK ``ck_wallet_usage_within_limit``), amounts are positive, an idempotency key is unique per
(tenant, caller, key), a payee and a wallet exist once per owner.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (
    "tenant_currencies",
    "tenant_tiers",
    "tenant_fees",
    "wallets",
    "wallet_limit_usage",
    "wallet_limit_overrides",
    "wallet_history",
    "payment_requests",
    "payees",
    "wallet_idempotency",
)


def upgrade() -> None:
    op.create_table(
        "tenant_currencies",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("exponent", sa.SmallInteger, nullable=False),
    )
    op.create_table(
        "tenant_tiers",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("tier", sa.SmallInteger, primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("per_transaction_minor", sa.BigInteger, nullable=False),
        sa.Column("daily_minor", sa.BigInteger, nullable=False),
        sa.Column("monthly_minor", sa.BigInteger, nullable=False),
        sa.Column("balance_cap_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint(
            "per_transaction_minor >= 0 AND daily_minor >= 0 AND monthly_minor >= 0 "
            "AND balance_cap_minor >= 0",
            name="ck_tenant_tiers_non_negative",
        ),
    )
    op.create_table(
        "tenant_fees",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("product", sa.String(20), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("fixed_minor", sa.BigInteger, nullable=False),
        sa.Column("basis_points", sa.Integer, nullable=False),
        sa.Column("minimum_minor", sa.BigInteger, nullable=False),
        sa.Column("maximum_minor", sa.BigInteger),
        sa.CheckConstraint(
            "fixed_minor >= 0 AND basis_points BETWEEN 0 AND 10000 AND minimum_minor >= 0",
            name="ck_tenant_fees_range",
        ),
    )
    op.create_table(
        "wallets",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("home_currency", sa.String(3), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_wallets_tenant_user"),
    )
    op.create_table(
        "wallet_limit_usage",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("used_minor", sa.BigInteger, nullable=False),
        sa.Column("limit_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("used_minor <= limit_minor", name="ck_wallet_usage_within_limit"),
        sa.CheckConstraint("used_minor >= 0", name="ck_wallet_usage_non_negative"),
    )
    op.create_table(
        "wallet_limit_overrides",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("daily_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("daily_minor >= 0", name="ck_wallet_override_non_negative"),
    )
    op.create_table(
        "wallet_history",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("transfer_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("counterparty_user_id", sa.String(36)),
        sa.Column("counterparty_handle", sa.String(40)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_minor", sa.BigInteger, nullable=False),
        sa.Column("note", sa.String(140)),
        sa.Column("entry_id", sa.Uuid, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount_minor > 0 AND fee_minor >= 0", name="ck_wallet_history_amounts"),
        sa.UniqueConstraint("transfer_id", "user_id", name="uq_wallet_history_transfer_user"),
    )
    op.create_index(
        "ix_wallet_history_owner_time",
        "wallet_history",
        ["tenant_id", "user_id", "created_at_us", "id"],
    )
    op.create_table(
        "payment_requests",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("requester_id", sa.String(36), nullable=False),
        sa.Column("requester_handle", sa.String(40), nullable=False),
        sa.Column("payer_id", sa.String(36), nullable=False),
        sa.Column("payer_handle", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("note", sa.String(140)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("transfer_id", sa.Uuid),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_payment_requests_amount"),
    )
    op.create_index(
        "ix_payment_requests_payer",
        "payment_requests",
        ["tenant_id", "payer_id", "created_at_us", "id"],
    )
    op.create_index(
        "ix_payment_requests_requester",
        "payment_requests",
        ["tenant_id", "requester_id", "created_at_us", "id"],
    )
    op.create_table(
        "payees",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("payee_user_id", sa.String(36), nullable=False),
        sa.Column("nickname", sa.String(60), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("tenant_id", "owner_id", "payee_user_id", name="uq_payees_owner_payee"),
    )
    op.create_table(
        "wallet_idempotency",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("status_code", sa.SmallInteger),
        sa.Column("body", sa.Text),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_wallet_idempotency_expiry", "wallet_idempotency", ["expires_at_us"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
