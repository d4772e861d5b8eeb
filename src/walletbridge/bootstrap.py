"""The composition root: the one place that knows which adapters stand behind which ports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from walletbridge.adapters.currencies import Iso4217Catalog
from walletbridge.adapters.db.engine import make_engine
from walletbridge.adapters.db.migrate import schema_is_current
from walletbridge.adapters.db.uow import SqlTransactionRunner
from walletbridge.adapters.system import SystemClock, UuidV7Source
from walletbridge.config import Settings
from walletbridge.ports import Clock, CurrencyCatalog, IdSource
from walletbridge.services.integrity import IntegrityService
from walletbridge.services.ledger import LedgerService
from walletbridge.services.tenants import TenantService


@dataclass
class Container:
    settings: Settings
    engine: Engine
    runner: SqlTransactionRunner
    clock: Clock
    ids: IdSource
    ledger: LedgerService
    integrity: IntegrityService
    tenants: TenantService
    currencies: CurrencyCatalog

    def schema_is_current(self) -> bool:
        """The database answers and its schema is at the latest migration."""
        return schema_is_current(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings | None = None, *, clock: Clock | None = None, ids: IdSource | None = None
) -> Container:
    settings = settings or Settings()
    engine = make_engine(settings.effective_database_url, pool_size=settings.database_pool_size)
    runner = SqlTransactionRunner(engine, attempts=settings.write_retry_attempts)
    clock = clock or SystemClock()
    ids = ids or UuidV7Source()
    currencies = Iso4217Catalog()
    return Container(
        settings=settings,
        engine=engine,
        runner=runner,
        clock=clock,
        ids=ids,
        ledger=LedgerService(runner, clock, ids),
        integrity=IntegrityService(runner, clock),
        tenants=TenantService(runner, clock, currencies),
        currencies=currencies,
    )
