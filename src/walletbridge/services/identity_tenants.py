"""Tenant branding use cases: each tenant's brand (name, colour, logo text, default locale) and the
host names that resolve to it. A host name belongs to at most one tenant (it is the key).
"""

from __future__ import annotations

from walletbridge.domain.errors import TenantNotFound
from walletbridge.domain.identity import TenantBrand, validate_host
from walletbridge.domain.ledger import TenantId
from walletbridge.ports import UnitOfWork
from walletbridge.services.identity_base import IdentityBase, brand_of


class TenantBranding(IdentityBase):
    def set_brand(
        self,
        tenant_id: TenantId,
        *,
        display_name: str,
        primary_colour: str = "#1f6feb",
        logo_text: str = "",
        default_locale: str = "en",
    ) -> TenantBrand:
        brand = TenantBrand(tenant_id, display_name, primary_colour, logo_text, default_locale)
        brand.validate()

        def write(uow: UnitOfWork) -> TenantBrand:
            if uow.tenants.get(tenant_id) is None:
                raise TenantNotFound(tenant_id=tenant_id)
            uow.identity.set_brand(brand, self._clock.now_us())
            uow.commit()
            return brand

        return self._runner.write(write)

    def brand(self, tenant_id: TenantId) -> TenantBrand:
        """The tenant's brand; a tenant without one shows its name in the default colours."""

        return self._runner.read(lambda uow: brand_of(uow, tenant_id))

    def add_host(self, tenant_id: TenantId, host: str) -> str:
        """Map a host name to the tenant (moving it if another tenant had it)."""
        name = validate_host(host)

        def write(uow: UnitOfWork) -> str:
            if uow.tenants.get(tenant_id) is None:
                raise TenantNotFound(tenant_id=tenant_id)
            uow.identity.set_host(name, tenant_id, self._clock.now_us())
            uow.commit()
            return name

        return self._runner.write(write)

    def tenant_for_host(self, host: str) -> TenantId | None:
        return self._runner.read(lambda uow: uow.identity.tenant_for_host(host))

    def tenant_exists(self, tenant_id: str) -> bool:
        return self._runner.read(lambda uow: uow.tenants.get(tenant_id) is not None)
