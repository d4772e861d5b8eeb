"""Ports for identity: users, credentials, sessions and the cryptography behind them."""

from __future__ import annotations

from typing import Protocol

from walletbridge.domain.actors import RecipientKind, UserId, UserSummary
from walletbridge.domain.ledger import TenantId


class IdentityStore(Protocol):
    def summary(self, tenant_id: TenantId, user_id: UserId) -> UserSummary | None: ...
    def recipient(self, tenant_id: TenantId, kind: RecipientKind, value: str) -> UserSummary | None:
        """The user that a handle, email address or phone number (normalised by the caller's
        service) names in this tenant."""
        ...
