"""The database itself refuses what the domain refuses, even to raw SQL (QUALITY R-05, R-12)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from tests.conftest import Book, create_pg_database, drop_pg_database
from walletbridge.adapters.db.engine import make_engine
from walletbridge.adapters.db.migrate import downgrade, upgrade
from walletbridge.bootstrap import Container


@contextmanager
def opened(app: Container) -> Iterator[Connection]:
    """A raw transaction, opened after the test's own writes (SQLite has one writer)."""
    with app.engine.connect() as connection:
        connection.begin()
        yield connection
        connection.rollback()


def _id(connection: Connection, value: uuid.UUID) -> object:
    return value.hex if connection.dialect.name == "sqlite" else value


def _refused(connection: Connection, sql: str, **params: object) -> None:
    savepoint = connection.begin_nested()
    with pytest.raises(Exception) as refused:
        connection.execute(text(sql), params)
    savepoint.rollback()
    assert (
        "immutable" in str(refused.value)
        or "constraint" in str(refused.value).lower()
        or ("unbalanced" in str(refused.value) or "closed" in str(refused.value))
    ), refused.value


def test_a_posting_cannot_be_updated_or_deleted(app: Container, book: Book) -> None:
    entry = book.send(book.wallet(100), book.wallet(), 10)
    with opened(app) as raw:
        eid = _id(raw, entry.id)
        _refused(raw, "UPDATE postings SET amount_minor = 1 WHERE entry_id = :e", e=eid)
        _refused(raw, "DELETE FROM postings WHERE entry_id = :e", e=eid)
        _refused(raw, "UPDATE entries SET posted_at_us = 1 WHERE id = :e", e=eid)
        _refused(raw, "DELETE FROM entries WHERE id = :e", e=eid)


def test_a_seal_cannot_be_changed(app: Container, book: Book) -> None:
    book.send(book.wallet(100), book.wallet(), 10)
    app.integrity.seal()
    with opened(app) as raw:
        _refused(raw, "UPDATE seals SET entry_count = entry_count + 1")
        _refused(raw, "DELETE FROM seals")


def test_an_unbalanced_entry_is_refused_by_the_database(app: Container, book: Book) -> None:
    alice, bob = book.wallet(100), book.wallet()
    entry_id = uuid.uuid4()
    with opened(app) as raw:
        raw.execute(
            text(
                "INSERT INTO postings (entry_id, leg, tenant_id, account_id, currency, "
                "amount_minor, posted_at_us) VALUES (:e, 0, :t, :a, 'EUR', 10, 1), "
                "(:e, 1, :t, :b, 'EUR', -9, 1)"
            ),
            {
                "e": _id(raw, entry_id),
                "t": book.tenant,
                "a": _id(raw, alice.id),
                "b": _id(raw, bob.id),
            },
        )
        _refused(
            raw,
            "INSERT INTO entries (id, tenant_id, idempotency_key, request_hash, kind, "
            "posted_at_us) VALUES (:e, :t, 'raw', :h, 'transfer', 1)",
            e=_id(raw, entry_id),
            t=book.tenant,
            h=b"\0" * 32,
        )


def test_postings_cannot_be_added_to_an_entry_already_written(app: Container, book: Book) -> None:
    alice, bob = book.wallet(100), book.wallet()
    entry = book.send(alice, bob, 10)
    with opened(app) as raw:
        _refused(
            raw,
            "INSERT INTO postings (entry_id, leg, tenant_id, account_id, currency, amount_minor, "
            "posted_at_us) VALUES (:e, 7, :t, :a, 'EUR', 5, 1), (:e, 8, :t, :b, 'EUR', -5, 1)",
            e=_id(raw, entry.id),
            t=book.tenant,
            a=_id(raw, alice.id),
            b=_id(raw, bob.id),
        )


def test_a_balance_below_its_floor_is_refused_by_a_check_constraint(
    app: Container, book: Book
) -> None:
    alice = book.wallet(100)
    with opened(app) as raw:
        _refused(
            raw,
            "UPDATE account_balances SET posted_minor = -1 WHERE account_id = :a",
            a=_id(raw, alice.id),
        )


@pytest.mark.parametrize("amount", [0, -5, 10**16])
def test_a_hold_of_a_bad_amount_is_refused_by_a_check_constraint(
    app: Container, book: Book, amount: int
) -> None:
    alice, bob = book.wallet(100), book.wallet()
    with opened(app) as raw:
        _refused(
            raw,
            "INSERT INTO holds (id, tenant_id, debit_account_id, credit_account_id, currency, "
            "amount_minor, status, expires_at_us, idempotency_key, request_hash, created_at_us) "
            "VALUES (:h, :t, :a, :b, 'EUR', :m, 'pending', 1, 'k', :x, 1)",
            h=_id(raw, uuid.uuid4()),
            t=book.tenant,
            a=_id(raw, alice.id),
            b=_id(raw, bob.id),
            m=amount,
            x=b"\0" * 32,
        )


def test_a_zero_posting_is_refused_by_a_check_constraint(app: Container, book: Book) -> None:
    wallet = book.wallet()
    with opened(app) as raw:
        _refused(
            raw,
            "INSERT INTO postings (entry_id, leg, tenant_id, account_id, currency, amount_minor, "
            "posted_at_us) VALUES (:e, 0, :t, :a, 'EUR', 0, 1)",
            e=_id(raw, uuid.uuid4()),
            t=book.tenant,
            a=_id(raw, wallet.id),
        )


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    request.getfixturevalue("postgres_url")  # skips or fails when PostgreSQL is unreachable
    url = create_pg_database("wb_migrate")
    yield url
    drop_pg_database(url)


def test_migrations_upgrade_downgrade_and_upgrade_again(empty_database: str) -> None:
    engine = make_engine(empty_database)
    try:
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"accounts", "account_balances", "entries", "postings", "holds", "seals"} <= tables
        downgrade(engine)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert "postings" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
