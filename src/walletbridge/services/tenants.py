"""Tenant use cases."""

from __future__ import annotations

from walletbridge.domain.errors import TenantNotFound
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.tenants import Tenant
from walletbridge.ports import Clock, CurrencyCatalog, TransactionRunner, UnitOfWork


class TenantService:
    def __init__(
        self, runner: TransactionRunner, clock: Clock, currencies: CurrencyCatalog
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._currencies = currencies

    def create(self, tenant_id: str, name: str, home_currency: str) -> Tenant:
        self._currencies.get(home_currency)
        tenant = Tenant(TenantId(tenant_id), name, home_currency)
        tenant.validate()

        def write(uow: UnitOfWork) -> Tenant:
            uow.tenants.insert(tenant, self._clock.now_us())
            uow.commit()
            return tenant

        return self._runner.write(write)

    def get(self, tenant_id: str) -> Tenant:
        found = self._runner.read(lambda uow: uow.tenants.get(tenant_id))
        if found is None:
            raise TenantNotFound(tenant_id=tenant_id)
        return found

    def all(self) -> list[Tenant]:
        return self._runner.read(lambda uow: uow.tenants.all())
