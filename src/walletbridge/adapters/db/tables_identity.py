"""Table definitions for users, credentials, verification codes, sessions, tenant brands and host
names (SQLAlchemy Core, sharing the ledger's metadata). Migration 0003 creates them.

Personal data (email address, phone number, TOTP secret) is stored only sealed, under the user's
own data key (``data_key``, wrapped by the master key); emails and phones are found by blind index.
Codes and tokens are stored only as hashes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from walletbridge.adapters.db.tables import metadata

tenant_brands = Table(
    "tenant_brands",
    metadata,
    Column("tenant_id", String(40), ForeignKey("tenants.id"), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("primary_colour", String(7), nullable=False),
    Column("logo_text", String(40), nullable=False),
    Column("default_locale", String(10), nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

tenant_hosts = Table(
    "tenant_hosts",
    metadata,
    Column("host", String(253), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("handle", String(30), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("data_key", LargeBinary(128), nullable=False),
    Column("email_index", LargeBinary(32)),
    Column("email_sealed", LargeBinary(600)),
    Column("phone_index", LargeBinary(32)),
    Column("phone_sealed", LargeBinary(200)),
    Column("email_verified", Boolean, nullable=False),
    Column("phone_verified", Boolean, nullable=False),
    Column("role", String(16), nullable=False),
    Column("kyc_tier", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("totp_secret_sealed", LargeBinary(200)),
    Column("totp_enabled", Boolean, nullable=False),
    Column("totp_last_step", BigInteger),
    Column("second_factor_failures", Integer, nullable=False),
    Column("second_factor_blocked_until_us", BigInteger),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "handle", name="uq_users_handle"),
    UniqueConstraint("tenant_id", "email_index", name="uq_users_email_index"),
    UniqueConstraint("tenant_id", "phone_index", name="uq_users_phone_index"),
)

verifications = Table(
    "verifications",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("address_index", LargeBinary(32), nullable=False),
    Column("address_sealed", LargeBinary(600), nullable=False),
    Column("data_key", LargeBinary(128), nullable=False),
    Column("code_hash", LargeBinary(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("locale", String(10), nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("consumed_at_us", BigInteger),
    Column("created_at_us", BigInteger, nullable=False),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("code_hash", LargeBinary(32), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("used_at_us", BigInteger),
)

login_challenges = Table(
    "login_challenges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("consumed_at_us", BigInteger),
    Column("created_at_us", BigInteger, nullable=False),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("used_at_us", BigInteger),
    Column("created_at_us", BigInteger, nullable=False),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("scopes", String(200), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("last_seen_at_us", BigInteger, nullable=False),
    Column("last_auth_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("revoked_at_us", BigInteger),
    Column("user_agent", String(300)),
    Column("ip", String(64)),
)

IDENTITY_TABLES = (
    tenant_brands,
    tenant_hosts,
    users,
    verifications,
    recovery_codes,
    login_challenges,
    password_resets,
    auth_sessions,
)
