"""QUALITY R-06: change one sealed row by raw SQL, 1,000 times; verify flags every one.

Each tampering runs in its own transaction with the immutability triggers bypassed (as a database
administrator could), the validators run inside that same transaction, and it is rolled back.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from tests.conftest import Book, create_pg_database, drop_pg_database, settings_for
from walletbridge.adapters.db.engine import make_engine
from walletbridge.adapters.db.integrity_store import SqlIntegrityStore
from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import Container, build
from walletbridge.domain.ledger import AccountKind, NewAccount
from walletbridge.services.integrity import VALIDATORS

ROUNDS = 1_000
SQLITE_TRIGGERS = (
    "postings_no_update",
    "postings_no_delete",
    "entries_no_update",
    "entries_no_delete",
    "seals_no_update",
    "seals_no_delete",
    "postings_open_entry",
    "entries_balanced",
)


@pytest.fixture(params=["sqlite", "postgres"])
def sealed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    """A fresh database holding a small sealed ledger whose sequence has gaps."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tamper.sqlite3'}"
    else:
        request.getfixturevalue("postgres_url")
        url = create_pg_database("wb_tamper")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = build(settings_for(url, tmp_path))
    try:
        book = Book(app, app.tenants.create("tamper", "Tamper bank", "EUR").id)
        wallets = [book.wallet(10_000) for _ in range(4)]
        fees = app.ledger.open_account(NewAccount(book.tenant, "EUR", AccountKind.REVENUE))
        rng = random.Random(6)
        for n in range(30):
            payer, payee = rng.sample(wallets, 2)
            book.send(payer, payee if n % 5 else fees, rng.randint(1, 300))
            if n % 10 == 9:
                _skip_sequence(app, 3)
        app.integrity.seal()
        assert app.integrity.verify() == []
        yield app
    finally:
        app.close()
        if request.param == "postgres":
            drop_pg_database(url)


def _skip_sequence(app: Container, by: int) -> None:
    with app.engine.connect() as c:
        c.begin()
        if c.dialect.name == "sqlite":
            c.execute(
                text("UPDATE sqlite_sequence SET seq = seq + :n WHERE name = 'entries'"), {"n": by}
            )
        else:
            c.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('entries', 'seq'), "
                    "(SELECT max(seq) FROM entries) + :n)"
                ),
                {"n": by},
            )
        c.commit()


def _bypass_guards(c: Connection) -> None:
    """Take away triggers and CHECKs for this transaction only, as a rogue administrator might."""
    if c.dialect.name == "sqlite":
        c.execute(text("PRAGMA ignore_check_constraints = ON"))
        for name in SQLITE_TRIGGERS:
            c.execute(text(f"DROP TRIGGER {name}"))
    else:
        c.execute(text("SET LOCAL session_replication_role = replica"))
        for table, name in (
            ("account_balances", "ck_balances_floor"),
            ("account_balances", "ck_balances_ceiling"),
            ("postings", "ck_postings_amount"),
        ):
            c.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))


def _pick(c: Connection, sql: str, rng: random.Random) -> Any:
    rows = c.execute(text(sql)).all()
    return rng.choice(rows)


Tamper = Callable[[Connection, random.Random], None]


def change_amount(c: Connection, rng: random.Random) -> None:
    row = _pick(c, "SELECT entry_id, leg FROM postings", rng)
    c.execute(
        text(
            "UPDATE postings SET amount_minor = amount_minor + :d WHERE entry_id = :e AND leg = :l"
        ),
        {"d": rng.choice([-1, 1, 100]), "e": row[0], "l": row[1]},
    )


def change_both_amounts_and_balances(c: Connection, rng: random.Random) -> None:
    """A careful forger keeps the entry balanced and the stored balances consistent."""
    row = _pick(c, "SELECT entry_id FROM postings GROUP BY entry_id HAVING count(*) = 2", rng)
    legs = c.execute(
        text(
            "SELECT p.leg, p.account_id, a.normal_side FROM postings p "
            "JOIN accounts a ON a.id = p.account_id WHERE p.entry_id = :e "
            "ORDER BY p.leg"
        ),
        {"e": row[0]},
    ).all()
    for (leg, account, side), delta in zip(legs, (1, -1), strict=True):
        sign = 1 if side == "debit" else -1
        c.execute(
            text(
                "UPDATE postings SET amount_minor = amount_minor + :d "
                "WHERE entry_id = :e AND leg = :l"
            ),
            {"d": delta, "e": row[0], "l": leg},
        )
        c.execute(
            text(
                "UPDATE account_balances SET posted_minor = posted_minor + :d "
                "WHERE account_id = :a AND shard = 0"
            ),
            {"d": sign * delta, "a": account},
        )


def change_account(c: Connection, rng: random.Random) -> None:
    row = _pick(c, "SELECT entry_id, leg, account_id FROM postings", rng)
    other = c.execute(
        text("SELECT id FROM accounts WHERE id <> :a AND currency = 'EUR'"), {"a": row[2]}
    ).first()
    assert other is not None
    c.execute(
        text("UPDATE postings SET account_id = :o WHERE entry_id = :e AND leg = :l"),
        {"o": other[0], "e": row[0], "l": row[1]},
    )


def change_time(c: Connection, rng: random.Random) -> None:
    row = _pick(c, "SELECT id FROM entries", rng)
    c.execute(
        text("UPDATE entries SET posted_at_us = posted_at_us + :d WHERE id = :e"),
        {"d": rng.choice([-1, 1, 3_600_000_000]), "e": row[0]},
    )
    c.execute(
        text("UPDATE postings SET posted_at_us = posted_at_us WHERE entry_id = :e"), {"e": row[0]}
    )


def change_key(c: Connection, rng: random.Random) -> None:
    row = _pick(c, "SELECT id FROM entries", rng)
    c.execute(
        text("UPDATE entries SET idempotency_key = :k WHERE id = :e"),
        {"k": secrets.token_hex(8), "e": row[0]},
    )


def delete_posting(c: Connection, rng: random.Random) -> None:
    row = _pick(c, "SELECT entry_id, leg FROM postings", rng)
    c.execute(
        text("DELETE FROM postings WHERE entry_id = :e AND leg = :l"), {"e": row[0], "l": row[1]}
    )


def delete_entry_and_fix_balances(c: Connection, rng: random.Random) -> None:
    row = _pick(c, "SELECT id FROM entries", rng)
    legs = c.execute(
        text(
            "SELECT p.account_id, p.amount_minor, a.normal_side FROM postings p "
            "JOIN accounts a ON a.id = p.account_id WHERE p.entry_id = :e"
        ),
        {"e": row[0]},
    ).all()
    for account, amount, side in legs:
        sign = 1 if side == "debit" else -1
        c.execute(
            text(
                "UPDATE account_balances SET posted_minor = posted_minor - :d "
                "WHERE account_id = :a AND shard = 0"
            ),
            {"d": sign * amount, "a": account},
        )
    c.execute(text("DELETE FROM postings WHERE entry_id = :e"), {"e": row[0]})
    c.execute(text("DELETE FROM entries WHERE id = :e"), {"e": row[0]})


def insert_entry_into_a_gap(c: Connection, rng: random.Random) -> None:
    """A fabricated, balanced entry slipped into a sealed range (where the sequence skipped)."""
    seqs = {r[0] for r in c.execute(text("SELECT seq FROM entries")).all()}
    last = c.execute(text("SELECT max(last_seq) FROM seals")).scalar_one()
    gap = rng.choice([s for s in range(1, last + 1) if s not in seqs])
    a, b = (
        r[0]
        for r in c.execute(
            text(
                "SELECT id FROM accounts WHERE currency = 'EUR' AND normal_side = 'credit' LIMIT 2"
            )
        ).all()
    )
    sqlite = c.dialect.name == "sqlite"
    entry = uuid.uuid4().hex if sqlite else uuid.uuid4()
    tenant = c.execute(text("SELECT id FROM tenants")).scalar_one()
    c.execute(
        text(
            "INSERT INTO postings (entry_id, leg, tenant_id, account_id, currency, "
            "amount_minor, posted_at_us) VALUES (:e, 0, :t, :a, 'EUR', 5, 1), "
            "(:e, 1, :t, :b, 'EUR', -5, 1)"
        ),
        {"e": entry, "t": tenant, "a": a, "b": b},
    )
    c.execute(
        text(
            "INSERT INTO entries (seq, id, tenant_id, idempotency_key, request_hash, kind, "
            "posted_at_us) VALUES (:s, :e, :t, :k, :h, 'transfer', 1)"
        ),
        {"s": gap, "e": entry, "t": tenant, "k": secrets.token_hex(4), "h": b"\0" * 32},
    )
    c.execute(
        text("UPDATE account_balances SET posted_minor = posted_minor - 5 WHERE account_id = :a"),
        {"a": a},
    )
    c.execute(
        text("UPDATE account_balances SET posted_minor = posted_minor + 5 WHERE account_id = :b"),
        {"b": b},
    )


def change_stored_balance(c: Connection, rng: random.Random) -> None:
    row = _pick(c, "SELECT account_id FROM account_balances", rng)
    c.execute(
        text("UPDATE account_balances SET posted_minor = posted_minor + 1 WHERE account_id = :a"),
        {"a": row[0]},
    )


def change_seal_root(c: Connection, rng: random.Random) -> None:
    c.execute(text("UPDATE seals SET merkle_root = :r"), {"r": secrets.token_bytes(32)})


TAMPERINGS: tuple[Tamper, ...] = (
    change_amount,
    change_both_amounts_and_balances,
    change_account,
    change_time,
    change_key,
    delete_posting,
    delete_entry_and_fix_balances,
    insert_entry_into_a_gap,
    change_stored_balance,
    change_seal_root,
)


def findings_after(app: Container, tamper: Tamper, rng: random.Random) -> list[Any]:
    with app.engine.connect() as c:
        c.begin()
        try:
            _bypass_guards(c)
            tamper(c, rng)
            store = SqlIntegrityStore(c)
            return [finding for check in VALIDATORS for finding in check(store)]
        finally:
            c.rollback()
            if c.dialect.name == "sqlite":
                c.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")


def test_every_single_row_tampering_is_flagged_and_the_ledger_is_untouched_after(
    sealed: Container,
) -> None:
    rng = random.Random(20_261_123)
    missed = []
    for round_no in range(ROUNDS):
        tamper = TAMPERINGS[round_no % len(TAMPERINGS)]
        if not findings_after(sealed, tamper, rng):
            missed.append((round_no, tamper.__name__))
    assert missed == []
    assert sealed.integrity.verify() == []


def test_a_careful_forgery_is_caught_by_the_seal_alone(sealed: Container) -> None:
    findings = findings_after(sealed, change_both_amounts_and_balances, random.Random(1))
    assert {f.check for f in findings} == {"seal-root"}
