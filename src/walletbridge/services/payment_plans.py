"""Planning a payment: what the payer asked for (``TransferOrder``), what it would cost
(``Quote``), and the checked, resolved ``Plan`` a movement executes.

Planning reads only (recipients, fees, limits, the tenant's accounts) and happens before the
payment's transaction; everything that guards money (funds, limits, caps) is checked again by the
database inside that transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from walletbridge.domain.actors import Actor, UserStatus, UserSummary
from walletbridge.domain.errors import DomainError
from walletbridge.domain.fees import P2P, FeeSchedule, free
from walletbridge.domain.ledger import Account, TenantId
from walletbridge.domain.limits import LimitExceeded, LimitKind, TierLimits
from walletbridge.domain.money import Money
from walletbridge.domain.payments import (
    BatchItemRefused,
    FeeChanged,
    InvalidPayment,
    PayingYourself,
    RecipientNotFound,
    RecipientRef,
)
from walletbridge.domain.wallets import TenantNotConfigured
from walletbridge.ports import UnitOfWork
from walletbridge.services.wallet_accounts import WalletAccounts


class PlanSources(Protocol):
    """What planning needs from the payment service."""

    @property
    def accounts(self) -> WalletAccounts: ...
    def resolve(self, uow: UnitOfWork, tenant_id: TenantId, to: RecipientRef) -> UserSummary: ...


@dataclass(frozen=True, slots=True)
class TransferOrder:
    """What a payer asks for. ``fee`` is the fee they were shown (None only for a quote)."""

    to: RecipientRef
    amount: Money
    fee: Money | None = None
    note: str | None = None

    def fingerprint(self) -> dict[str, object]:
        return {
            "to": [self.to.kind.value, self.to.value],
            "amount": [self.amount.amount_minor, self.amount.currency.code],
            "fee": None if self.fee is None else [self.fee.amount_minor, self.fee.currency.code],
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Quote:
    recipient: UserSummary
    amount: Money
    fee: Money

    @property
    def total(self) -> Money:
        return self.amount + self.fee


@dataclass(frozen=True, slots=True)
class Plan:
    """A payment checked and resolved, ready to move inside a transaction."""

    tenant_id: TenantId
    payer: UserSummary
    payee: UserSummary
    amount: Money
    fee: Money
    note: str | None
    limits: TierLimits
    daily_limit_minor: int
    payer_account: Account
    payee_account: Account
    fee_account: Account


class Planner:
    """Plans orders inside one read transaction, looking each recipient, fee schedule and limit
    up once."""

    def __init__(self, payments: PlanSources, uow: UnitOfWork, actor: Actor) -> None:
        self._payments, self._uow, self._actor = payments, uow, actor
        payer = uow.identity.summary(actor.tenant_id, actor.user_id)
        if payer is None or payer.status is not UserStatus.ACTIVE:
            raise RecipientNotFound(kind="user")
        self.payer = payer
        self._people: dict[RecipientRef, UserSummary] = {}
        self._terms: dict[str, tuple[TierLimits, int, Account]] = {}
        self._schedules: dict[str, FeeSchedule] = {}

    def _schedule(self, code: str) -> FeeSchedule:
        found = self._schedules.get(code)
        if found is None:
            tenant_id = self._actor.tenant_id
            self._payments.accounts.offered(self._uow, tenant_id, code)
            found = self._uow.wallets.fee_schedule(tenant_id, P2P, code) or free(P2P, code)
            self._schedules[code] = found
        return found

    def plan(self, order: TransferOrder, payee: UserSummary | None) -> Plan:
        tenant_id = self._actor.tenant_id
        to = payee or self._people.get(order.to)
        if to is None:
            to = self._people[order.to] = self._payments.resolve(self._uow, tenant_id, order.to)
        if to.user_id == self.payer.user_id:
            raise PayingYourself()
        fee = self._schedule(order.amount.currency.code).fee(order.amount)
        if order.fee is None or order.fee != fee:
            raise FeeChanged(fee=fee.to_decimal_string(), currency=fee.currency.code)
        limits, daily, fee_account = self._terms_in(order.amount.currency.code)
        return Plan(
            tenant_id=tenant_id,
            payer=self.payer,
            payee=to,
            amount=order.amount,
            fee=fee,
            note=order.note,
            limits=limits,
            daily_limit_minor=daily,
            payer_account=fee_account,
            payee_account=fee_account,
            fee_account=fee_account,
        )

    def _terms_in(self, code: str) -> tuple[TierLimits, int, Account]:
        found = self._terms.get(code)
        if found is not None:
            return found
        uow, tenant_id = self._uow, self._actor.tenant_id
        tiers = {t.currency: t for t in uow.wallets.tier_limits(tenant_id, self.payer.kyc_tier)}
        if code not in tiers:
            raise TenantNotConfigured(currency=code)
        override = uow.wallets.daily_override(tenant_id, self.payer.user_id, code)
        daily = (
            tiers[code].daily_minor if override is None else min(tiers[code].daily_minor, override)
        )
        _, fee_account = self._payments.accounts.system_accounts(uow, tenant_id, code)
        self._terms[code] = (tiers[code], daily, fee_account)
        return self._terms[code]


def check_amount(amount: Money) -> None:
    """Money parsed at the edge is exact; a payment also needs it positive."""
    if amount.amount_minor <= 0:
        raise InvalidPayment(reason="an amount is more than zero")


def check_per_transaction(plan: Plan) -> None:
    if plan.amount.amount_minor > plan.limits.per_transaction_minor:
        raise LimitExceeded(
            limit=LimitKind.PER_TRANSACTION.value,
            remaining=Money(
                plan.limits.per_transaction_minor, plan.amount.currency
            ).to_decimal_string(),
            currency=plan.amount.currency.code,
        )


def item_refused(index: int, error: DomainError) -> BatchItemRefused:
    return BatchItemRefused(index=index, item_code=error.code, reason=error.message)
