"""Tenants in SQL (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from walletbridge.adapters.db.tables import tenants
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.tenants import Tenant


class SqlTenantStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def insert(self, tenant: Tenant, created_at_us: int) -> None:
        self._connection.execute(
            insert(tenants).values(
                id=tenant.id,
                name=tenant.name,
                home_currency=tenant.home_currency,
                created_at_us=created_at_us,
            )
        )

    def get(self, tenant_id: str) -> Tenant | None:
        row = self._connection.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
        return None if row is None else Tenant(TenantId(row.id), row.name, row.home_currency)

    def all(self) -> list[Tenant]:
        rows = self._connection.execute(select(tenants).order_by(tenants.c.id)).all()
        return [Tenant(TenantId(r.id), r.name, r.home_currency) for r in rows]
