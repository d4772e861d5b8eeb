"""Tenants: the white-label programmes one deployment serves. Every tenant-owned row names one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from walletbridge.domain.errors import DomainError
from walletbridge.domain.ledger import TenantId

_TENANT_ID = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


class InvalidTenant(DomainError):
    code = "tenant-invalid"
    template = "The tenant cannot be created: {reason}."


@dataclass(frozen=True, slots=True)
class Tenant:
    id: TenantId
    name: str
    home_currency: str

    def validate(self) -> None:
        if not _TENANT_ID.match(self.id):
            raise InvalidTenant(reason="the id is 2-40 lowercase letters, digits or hyphens")
        if not 1 <= len(self.name) <= 200:
            raise InvalidTenant(reason="the name is 1-200 characters")
