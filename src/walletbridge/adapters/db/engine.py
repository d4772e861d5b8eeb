"""Engines, transactions and retries for SQLite and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
``BEGIN IMMEDIATE``: a deferred BEGIN lets two writers both read and then fail to upgrade their
lock ("database is locked"), losing most concurrent writes. PostgreSQL runs at READ COMMITTED;
the ledger's correctness comes from conditional updates, CHECK constraints and row locks taken in
a fixed order, not from the isolation level.

``TransactionRunner.write`` re-runs a whole transaction function on serialization failures and
deadlocks (SQLSTATE 40001 / 40P01), with jittered exponential backoff,
so the core stays portable to engines that abort transactions under contention.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import structlog
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")
log = structlog.get_logger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
SERVER_GONE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})

# SQLAlchemy's Uuid type stores 32 hex digits on SQLite; raw statements must store the same text.
sqlite3.register_adapter(uuid.UUID, lambda value: value.hex)


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Build an engine; nothing connects until first use."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    engine = create_engine(
        url,
        echo=echo,
        # Statement parameters are customer data: keep them out of error messages and logs.
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it would cost a round trip per transaction. A connection found broken is
        # invalidated instead, and the transaction re-run (see ``transaction`` and
        # ``is_retryable``); entries are idempotent, so a re-run after an unknown COMMIT replays.
        pool_recycle=1800,
        # The driver stays in autocommit; transactions are opened by an explicit BEGIN that
        # travels in the same network round trip as the first statements (see below).
        isolation_level="AUTOCOMMIT",
    )
    _install_lazy_begin(engine)
    return engine


BEGIN_PENDING = "walletbridge_begin_pending"


def _install_lazy_begin(engine: Engine) -> None:
    """Open PostgreSQL transactions lazily, so BEGIN costs no round trip of its own.

    ``Connection.begin()`` only marks a BEGIN as owed. The first statement pays it: SQLAlchemy
    statements send it just before themselves; the ledger store puts it at the head of its
    pipeline. COMMIT and ROLLBACK go out as usual. Read-only work never owes a BEGIN: each of its
    statements sees a consistent snapshot of its own (READ COMMITTED), which is all it needs.
    """

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if not connection.get_execution_options().get("walletbridge_read_only"):
            connection.connection.info[BEGIN_PENDING] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _pay_begin(connection: Connection, cursor: Any, *_: Any) -> None:
        if connection.connection.info.pop(BEGIN_PENDING, False):
            cursor.execute("BEGIN")

    def _settle(connection: Connection) -> None:
        if not connection.invalidated:
            connection.connection.info.pop(BEGIN_PENDING, None)

    event.listen(engine, "commit", _settle)
    event.listen(engine, "rollback", _settle)


def pay_pending_begin(connection: Connection, dbapi_connection: Any) -> None:
    """Send the BEGIN a lazily begun transaction owes, if any (inside a pipeline: no wait)."""
    if connection.connection.info.pop(BEGIN_PENDING, False):
        dbapi_connection.execute("BEGIN")


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"timeout": 30, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Readers take a deferred snapshot (WAL lets them run beside the writer); writers take
        # the write lock up front so they never fail to upgrade it halfway through.
        if connection.get_execution_options().get("walletbridge_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_retryable(error: BaseException) -> bool:
    """True for errors after which re-running the whole transaction is the right answer."""
    original = error.orig if isinstance(error, DBAPIError) else error
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES or sqlstate in SERVER_GONE_SQLSTATES:
        return True
    if sqlstate and sqlstate.startswith("08"):  # connection exceptions
        return True
    # A PostgreSQL connection that died mid-transaction reports no SQLSTATE at all. SQLite's
    # "database is locked" is not retried: BEGIN IMMEDIATE already waited the whole busy
    # timeout for the write lock, so another attempt would only double the wait.
    return isinstance(original, psycopg.OperationalError) and sqlstate is None


def backoff_seconds(attempt: int, *, base: float = 0.002, cap: float = 0.25) -> float:
    """Full jitter: a random wait up to an exponentially growing ceiling."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def retrying(fn: Callable[[], T], *, attempts: int) -> T:
    """Run ``fn`` until it succeeds or a non-retryable error (or the last attempt) escapes."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as error:
            if attempt == attempts - 1 or not is_retryable(error):
                raise
            log.info("transaction retried", attempt=attempt + 1, error=type(error).__name__)
            time.sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable: the loop returns or raises")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that rolls back unless committed by the caller."""
    with engine.connect() as connection:
        connection.begin()
        try:
            yield connection
        except Exception:
            if _is_broken(connection):
                # Never hand a dead connection back to the pool.
                connection.invalidate()
            raise
        finally:
            if connection.in_transaction() and not connection.invalidated:
                connection.rollback()


def _is_broken(connection: Connection) -> bool:
    if connection.invalidated:
        return False  # SQLAlchemy noticed first and already dropped it
    dbapi = connection.connection.driver_connection
    return bool(getattr(dbapi, "broken", False) or getattr(dbapi, "closed", False))


def driver_connection(connection: Connection) -> Any:
    """The DBAPI connection under a SQLAlchemy connection, for pipelined statements."""
    dbapi = connection.connection.driver_connection
    assert dbapi is not None
    return dbapi
