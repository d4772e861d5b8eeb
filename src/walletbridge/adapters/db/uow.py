"""Unit of work and transaction runner over SQLAlchemy connections.

A unit of work rolls back unless the use case commits it. ``write`` re-runs the whole function on
retryable failures, so a use case must be a function of the database alone (no I/O besides it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

from walletbridge.adapters.db.audit_store import SqlAuditStore
from walletbridge.adapters.db.engine import retrying, transaction
from walletbridge.adapters.db.idempotency_store import SqlIdempotencyStore
from walletbridge.adapters.db.identity_store import SqlIdentityStore
from walletbridge.adapters.db.integrity_store import SqlIntegrityStore
from walletbridge.adapters.db.ledger_store import SqlLedgerStore
from walletbridge.adapters.db.outbox_store import SqlOutboxStore
from walletbridge.adapters.db.tenant_store import SqlTenantStore
from walletbridge.adapters.db.throttle_store import SqlThrottleStore
from walletbridge.adapters.db.wallet_store import SqlWalletStore

T = TypeVar("T")


class SqlUnitOfWork:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.ledger = SqlLedgerStore(connection)
        self.integrity = SqlIntegrityStore(connection)
        self.tenants = SqlTenantStore(connection)
        self.identity = SqlIdentityStore(connection)
        self.wallets = SqlWalletStore(connection)
        self.idempotency = SqlIdempotencyStore(connection)
        self.audit = SqlAuditStore(connection)
        self.outbox = SqlOutboxStore(connection)
        self.throttle = SqlThrottleStore(connection)

    def commit(self) -> None:
        self.connection.commit()


class SqlTransactionRunner:
    def __init__(self, engine: Engine, *, attempts: int = 8) -> None:
        self.engine = engine
        self.attempts = attempts
        self.read_engine = engine.execution_options(walletbridge_read_only=True)

    def write(self, fn: Callable[[SqlUnitOfWork], T]) -> T:
        def once() -> T:
            with transaction(self.engine) as connection:
                return fn(SqlUnitOfWork(connection))

        return retrying(once, attempts=self.attempts)

    def read(self, fn: Callable[[SqlUnitOfWork], T]) -> T:
        def once() -> T:
            with transaction(self.read_engine) as connection:
                return fn(SqlUnitOfWork(connection))

        return retrying(once, attempts=self.attempts)
