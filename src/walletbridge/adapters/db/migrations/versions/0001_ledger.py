"""The ledger: tenants, accounts, balances, entries, postings, holds and seals.

The database refuses what the domain refuses: an unbalanced entry (checked when the entry row is
inserted after its postings), postings added to an entry already written, any UPDATE or DELETE of
an entry, posting or seal, balances below their floor or above their ceiling (CHECK constraints
on the balance row, so a conditional update cannot overdraw).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IMMUTABLE_TABLES = ("entries", "postings", "seals")

PG_FUNCTIONS = [
    """
    CREATE FUNCTION wb_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger-immutable: % on %', TG_OP, TG_TABLE_NAME;
    END $$
    """,
    """
    CREATE FUNCTION wb_posting_into_open_entry() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM entries WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION 'entry-closed: postings cannot be added to entry %', NEW.entry_id;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION wb_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT count(*) FROM postings WHERE entry_id = NEW.id) < 2
           OR EXISTS (SELECT 1 FROM postings WHERE entry_id = NEW.id
                      GROUP BY currency HAVING sum(amount_minor) <> 0) THEN
            RAISE EXCEPTION 'entry-unbalanced: entry %', NEW.id;
        END IF;
        RETURN NEW;
    END $$
    """,
]

PG_TRIGGERS = [
    *(
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION wb_refuse_change()"
        for table in IMMUTABLE_TABLES
    ),
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION wb_refuse_change()"
        for table in IMMUTABLE_TABLES
    ),
    "CREATE TRIGGER postings_open_entry BEFORE INSERT ON postings "
    "FOR EACH ROW EXECUTE FUNCTION wb_posting_into_open_entry()",
    "CREATE TRIGGER entries_balanced BEFORE INSERT ON entries "
    "FOR EACH ROW EXECUTE FUNCTION wb_entry_balanced()",
]

SQLITE_TRIGGERS = [
    *(
        f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'ledger-immutable: {op_name} on {table}'); END"
        for table in IMMUTABLE_TABLES
        for op_name in ("UPDATE", "DELETE")
    ),
    "CREATE TRIGGER postings_open_entry BEFORE INSERT ON postings "
    "WHEN EXISTS (SELECT 1 FROM entries WHERE id = NEW.entry_id) "
    "BEGIN SELECT RAISE(ABORT, 'entry-closed: postings cannot be added'); END",
    "CREATE TRIGGER entries_balanced BEFORE INSERT ON entries "
    "WHEN (SELECT count(*) FROM postings WHERE entry_id = NEW.id) < 2 "
    "OR EXISTS (SELECT 1 FROM postings WHERE entry_id = NEW.id "
    "GROUP BY currency HAVING sum(amount_minor) <> 0) "
    "BEGIN SELECT RAISE(ABORT, 'entry-unbalanced'); END",
]


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("home_currency", sa.String(3), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("normal_side", sa.String(8), nullable=False),
        sa.Column("shard_count", sa.SmallInteger, nullable=False),
        sa.Column("floor_minor", sa.BigInteger),
        sa.Column("ceiling_minor", sa.BigInteger),
        sa.Column("code", sa.String(100)),
        sa.Column("owner_ref", sa.String(100)),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("id", "tenant_id", "currency", name="uq_accounts_id_tenant_currency"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_accounts_tenant_code"),
        sa.CheckConstraint("shard_count BETWEEN 1 AND 64", name="ck_accounts_shards"),
        sa.CheckConstraint(
            "kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')",
            name="ck_accounts_kind",
        ),
        sa.CheckConstraint("normal_side IN ('debit', 'credit')", name="ck_accounts_side"),
        sa.CheckConstraint("length(currency) = 3", name="ck_accounts_currency"),
    )
    op.create_index("ix_accounts_owner", "accounts", ["tenant_id", "owner_ref"])
    op.create_table(
        "account_balances",
        sa.Column("account_id", sa.Uuid, primary_key=True),
        sa.Column("shard", sa.SmallInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("posted_minor", sa.BigInteger, nullable=False),
        sa.Column("pending_minor", sa.BigInteger, nullable=False),
        sa.Column("floor_minor", sa.BigInteger),
        sa.Column("ceiling_minor", sa.BigInteger),
        sa.ForeignKeyConstraint(
            ["account_id", "tenant_id", "currency"],
            ["accounts.id", "accounts.tenant_id", "accounts.currency"],
            name="fk_balances_account",
        ),
        sa.CheckConstraint(
            "floor_minor IS NULL OR posted_minor - pending_minor >= floor_minor",
            name="ck_balances_floor",
        ),
        sa.CheckConstraint(
            "ceiling_minor IS NULL OR posted_minor <= ceiling_minor", name="ck_balances_ceiling"
        ),
        sa.CheckConstraint("pending_minor >= 0", name="ck_balances_pending"),
    )
    op.create_table(
        "entries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            sa.Identity(always=False),
            primary_key=True,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("posted_at_us", sa.BigInteger, nullable=False),
        sa.Column("memo", sa.String(500)),
        sa.Column("reverses_id", sa.Uuid),
        sa.Column("hold_id", sa.Uuid),
        sa.UniqueConstraint("id", name="uq_entries_id"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_entries_tenant_key"),
        sa.UniqueConstraint("reverses_id", name="uq_entries_reverses"),
        sa.ForeignKeyConstraint(["reverses_id"], ["entries.id"], name="fk_entries_reverses"),
        sa.CheckConstraint("kind IN ('transfer', 'capture', 'reversal')", name="ck_entries_kind"),
        sa.CheckConstraint(
            "length(idempotency_key) BETWEEN 1 AND 255", name="ck_entries_key_length"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "postings",
        sa.Column("entry_id", sa.Uuid, primary_key=True),
        sa.Column("leg", sa.SmallInteger, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("posted_at_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
            name="fk_postings_entry",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "tenant_id", "currency"],
            ["accounts.id", "accounts.tenant_id", "accounts.currency"],
            name="fk_postings_account",
        ),
        sa.CheckConstraint(
            "amount_minor <> 0 AND amount_minor BETWEEN -1000000000000000 AND 1000000000000000",
            name="ck_postings_amount",
        ),
    )
    op.create_index(
        "ix_postings_account_time", "postings", ["account_id", "posted_at_us", "entry_id"]
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("debit_account_id", sa.Uuid, nullable=False),
        sa.Column("credit_account_id", sa.Uuid, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("captured_minor", sa.BigInteger),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger, nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("finished_at_us", sa.BigInteger),
        sa.Column("capture_entry_id", sa.Uuid),
        sa.ForeignKeyConstraint(
            ["debit_account_id", "tenant_id", "currency"],
            ["accounts.id", "accounts.tenant_id", "accounts.currency"],
            name="fk_holds_debit",
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id", "tenant_id", "currency"],
            ["accounts.id", "accounts.tenant_id", "accounts.currency"],
            name="fk_holds_credit",
        ),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_holds_tenant_key"),
        sa.CheckConstraint(
            "amount_minor > 0 AND amount_minor <= 1000000000000000", name="ck_holds_amount"
        ),
        sa.CheckConstraint(
            "captured_minor IS NULL OR (captured_minor > 0 AND captured_minor <= amount_minor)",
            name="ck_holds_captured",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'captured', 'voided', 'expired')", name="ck_holds_status"
        ),
    )
    op.create_index(
        "ix_holds_pending_expiry",
        "holds",
        ["expires_at_us"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "seals",
        sa.Column("seal_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("entry_count", sa.Integer, nullable=False),
        sa.Column("merkle_root", sa.LargeBinary(32), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("seal_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("sealed_at_us", sa.BigInteger, nullable=False),
        sa.CheckConstraint("last_seq >= first_seq - 1", name="ck_seals_range"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*PG_FUNCTIONS, *PG_TRIGGERS):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    for table in ("seals", "holds", "postings", "entries", "account_balances", "accounts"):
        op.drop_table(table)
    op.drop_table("tenants")
    if op.get_bind().dialect.name == "postgresql":
        for name in ("wb_refuse_change", "wb_posting_into_open_entry", "wb_entry_balanced"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
