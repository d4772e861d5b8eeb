"""Helpers for the wallet stories: a configured tenant with customers, actors and orders."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, RecipientKind, SessionId, UserSummary
from walletbridge.domain.fees import P2P, FeeSchedule
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.limits import TierLimits
from walletbridge.domain.money import Currency, Money
from walletbridge.domain.payments import RecipientRef
from walletbridge.domain.wallets import TenantConfiguration, default_configuration
from walletbridge.services.payment_plans import TransferOrder
from walletbridge.services.wallets import WalletService

PASSWORD = "violet-harbour-lantern-42"
EUR = Currency("EUR", 2)


def eur(text: str) -> Money:
    whole, _, cents = text.partition(".")
    return Money(int(whole) * 100 + int(cents.ljust(2, "0") or 0), EUR)


def configuration(
    *,
    basis_points: int = 50,
    fixed_minor: int = 0,
    per_transaction_minor: int = 1_000_00,
    daily_minor: int = 2_000_00,
    monthly_minor: int = 10_000_00,
    balance_cap_minor: int = 10_000_00,
) -> TenantConfiguration:
    base = default_configuration(EUR)
    tier = TierLimits(
        tier=1,
        currency="EUR",
        per_transaction_minor=per_transaction_minor,
        daily_minor=daily_minor,
        monthly_minor=monthly_minor,
        balance_cap_minor=balance_cap_minor,
    )
    fee = FeeSchedule(
        product=P2P,
        currency="EUR",
        basis_points=basis_points,
        fixed_minor=fixed_minor,
        maximum_minor=10_00,
    )
    tiers = (*(t for t in base.tiers if t.tier != 1), tier)
    return replace(base, tiers=tiers, fees=(fee,))


@dataclass
class People:
    app: Container
    tenant: TenantId
    wallets: WalletService

    def customer(self, handle: str | None = None, **kwargs: object) -> UserSummary:
        handle = handle or f"u{secrets.token_hex(5)}"
        return self.app.identity.register_verified(
            self.tenant,
            handle=handle,
            display_name=handle.title(),
            password=PASSWORD,
            **kwargs,  # type: ignore[arg-type]
        )

    def actor(self, user: UserSummary, **kwargs: object) -> Actor:
        return Actor(self.tenant, user.user_id, SessionId(f"s-{user.handle}"), **kwargs)  # type: ignore[arg-type]

    def fund(self, user: UserSummary, amount: str) -> None:
        self.wallets.fund_wallet(self.tenant, user.user_id, eur(amount), secrets.token_hex(8))

    def posted(self, user: UserSummary, currency: str = "EUR") -> int:
        wallet, balances = self.wallets.balances(self.actor(user))
        del wallet
        found = [b.posted_minor for b in balances if b.account.currency == currency]
        return found[0] if found else 0

    def fee_revenue(self) -> int:
        account = self.app.ledger.account_by_code(self.tenant, "fees:EUR")
        assert account is not None
        return self.app.ledger.balance(self.tenant, account.id).posted_minor

    def pay(
        self,
        payer: UserSummary,
        payee: UserSummary,
        amount: str,
        *,
        key: str | None = None,
        note: str | None = None,
        fee: str | None = None,
    ) -> object:
        money = eur(amount)
        to = RecipientRef(RecipientKind.HANDLE, payee.handle)
        shown = (
            eur(fee)
            if fee is not None
            else self.wallets.payments.quote(self.actor(payer), to, money).fee
        )
        order = TransferOrder(to=to, amount=money, fee=shown, note=note)
        return self.wallets.payments.transfer(self.actor(payer), order, key or secrets.token_hex(8))


def people_for(
    app: Container,
    tenant: TenantId,
    wallets: WalletService | None = None,
    config: TenantConfiguration | None = None,
) -> People:
    service = wallets or app.wallets
    service.configure_tenant(tenant, config or configuration())
    return People(app, tenant, service)
