"""users, credentials, verification codes, sessions, tenant hosts and brands.

Uniqueness the service also checks is kept here too: one handle, one email blind index and one
phone blind index per tenant; token hashes unique. CHECK constraints pin the enumerations and the
second-factor counter's range.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "tenant_brands",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("primary_colour", sa.String(7), nullable=False),
        sa.Column("logo_text", sa.String(40), nullable=False),
        sa.Column("default_locale", sa.String(10), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tenant_hosts",
        sa.Column("host", sa.String(253), primary_key=True),
        _tenant(),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        _tenant(),
        sa.Column("handle", sa.String(30), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("data_key", sa.LargeBinary(128), nullable=False),
        sa.Column("email_index", sa.LargeBinary(32)),
        sa.Column("email_sealed", sa.LargeBinary(600)),
        sa.Column("phone_index", sa.LargeBinary(32)),
        sa.Column("phone_sealed", sa.LargeBinary(200)),
        sa.Column("email_verified", sa.Boolean, nullable=False),
        sa.Column("phone_verified", sa.Boolean, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("kyc_tier", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(10), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("totp_secret_sealed", sa.LargeBinary(200)),
        sa.Column("totp_enabled", sa.Boolean, nullable=False),
        sa.Column("totp_last_step", sa.BigInteger),
        sa.Column("second_factor_failures", sa.Integer, nullable=False),
        sa.Column("second_factor_blocked_until_us", sa.BigInteger),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("updated_at_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("tenant_id", "handle", name="uq_users_handle"),
        sa.UniqueConstraint("tenant_id", "email_index", name="uq_users_email_index"),
        sa.UniqueConstraint("tenant_id", "phone_index", name="uq_users_phone_index"),
        sa.CheckConstraint("role IN ('customer', 'operator')", name="ck_users_role"),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="ck_users_status"),
        sa.CheckConstraint("kyc_tier BETWEEN 1 AND 3", name="ck_users_kyc_tier"),
        sa.CheckConstraint("second_factor_failures >= 0", name="ck_users_sf_failures"),
    )
    op.create_table(
        "verifications",
        sa.Column("id", sa.Uuid, primary_key=True),
        _tenant(),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("address_index", sa.LargeBinary(32), nullable=False),
        sa.Column("address_sealed", sa.LargeBinary(600), nullable=False),
        sa.Column("data_key", sa.LargeBinary(128), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("locale", sa.String(10), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("consumed_at_us", sa.BigInteger),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.CheckConstraint("channel IN ('email', 'phone')", name="ck_verifications_channel"),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("code_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("used_at_us", sa.BigInteger),
    )
    op.create_table(
        "login_challenges",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("consumed_at_us", sa.BigInteger),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("used_at_us", sa.BigInteger),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_password_resets_token"),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("last_seen_at_us", sa.BigInteger, nullable=False),
        sa.Column("last_auth_at_us", sa.BigInteger, nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("revoked_at_us", sa.BigInteger),
        sa.Column("user_agent", sa.String(300)),
        sa.Column("ip", sa.String(64)),
        sa.UniqueConstraint("token_hash", name="uq_auth_sessions_token"),
        sa.CheckConstraint("kind IN ('browser', 'api')", name="ck_auth_sessions_kind"),
    )
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_auth_sessions_user_id", table_name="auth_sessions")
    for table in (
        "auth_sessions",
        "password_resets",
        "login_challenges",
        "recovery_codes",
        "verifications",
        "users",
        "tenant_hosts",
        "tenant_brands",
    ):
        op.drop_table(table)
