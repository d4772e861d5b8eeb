"""Planning a payment: what the payer asked for (``TransferOrder``), what it would cost
(``Quote``), and the checked, resolved ``Plan`` a movement executes.

Planning reads only (recipients, fees, limits, the tenant's accounts) and happens before the
payment's transaction, which moves the plan by the entry ``entry_of`` drafts; everything that
guards money (funds, limits, caps) is checked again by the database inside that transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from walletbridge.domain.actors import Actor, UserStatus, UserSummary
from walletbridge.domain.errors import DomainError
from walletbridge.domain.fees import P2P, FeeSchedule
from walletbridge.domain.ledger import Account, EntryDraft, EntryId, Leg, TenantId
from walletbridge.domain.limits import LimitExceeded, LimitKind, TierLimits
from walletbridge.domain.money import Money
from walletbridge.domain.payments import (
    BatchItemRefused,
    Direction,
    FeeChanged,
    HistoryId,
    HistoryItem,
    HistoryKind,
    InvalidPayment,
    PayingYourself,
    RecipientNotFound,
    RecipientRef,
    TransferId,
)
from walletbridge.domain.wallets import TenantNotConfigured
from walletbridge.ports import IdSource, UnitOfWork
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
    """The payer's tier limits; a lower daily limit the payer set is applied by the statement
    that counts the usage (``WalletStore.add_usage``)."""
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
        self._terms: dict[str, tuple[TierLimits, Account]] = {}
        self._schedules: dict[str, FeeSchedule] = {}

    def _schedule(self, code: str) -> FeeSchedule:
        found = self._schedules.get(code)
        if found is None:
            tenant_id, accounts = self._actor.tenant_id, self._payments.accounts
            accounts.offered(self._uow, tenant_id, code)
            found = self._schedules[code] = accounts.fee_schedule(self._uow, tenant_id, P2P, code)
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
        limits, fee_account = self._terms_in(order.amount.currency.code)
        return Plan(
            tenant_id=tenant_id,
            payer=self.payer,
            payee=to,
            amount=order.amount,
            fee=fee,
            note=order.note,
            limits=limits,
            payer_account=fee_account,
            payee_account=fee_account,
            fee_account=fee_account,
        )

    def _terms_in(self, code: str) -> tuple[TierLimits, Account]:
        found = self._terms.get(code)
        if found is not None:
            return found
        uow, tenant_id = self._uow, self._actor.tenant_id
        limits = self._payments.accounts.tier_limit(uow, tenant_id, self.payer.kyc_tier, code)
        if limits is None:
            raise TenantNotConfigured(currency=code)
        _, fee_account = self._payments.accounts.system_accounts(uow, tenant_id, code)
        self._terms[code] = (limits, fee_account)
        return self._terms[code]


def entry_of(
    plan: Plan,
    transfer_id: TransferId,
    now_us: int,
    ids: IdSource,
    kind: HistoryKind = HistoryKind.P2P,
) -> tuple[EntryDraft, EntryId, list[HistoryItem]]:
    """The ledger entry that moves ``plan`` (payer → payee, fee → the fee account) and its two
    history rows, payer's first. Nothing here reads the database."""
    code = plan.amount.currency.code
    amount, fee = plan.amount.amount_minor, plan.fee.amount_minor
    legs = [
        Leg(plan.payer_account.id, code, amount + fee),
        Leg(plan.payee_account.id, code, -amount),
    ]
    if fee:
        legs.append(Leg(plan.fee_account.id, code, -fee))
    draft = EntryDraft(
        tenant_id=plan.tenant_id, idempotency_key=f"p2p:{transfer_id}", legs=tuple(legs)
    )
    entry_id = EntryId(uuid.UUID(ids.new_id()))
    common = {
        "tenant_id": plan.tenant_id,
        "transfer_id": transfer_id,
        "kind": kind,
        "currency": code,
        "amount_minor": amount,
        "note": plan.note,
        "entry_id": entry_id,
        "created_at_us": now_us,
    }
    items = [
        HistoryItem(
            id=HistoryId(uuid.UUID(ids.new_id())),
            user_id=plan.payer.user_id,
            direction=Direction.OUT,
            counterparty_user_id=plan.payee.user_id,
            counterparty_handle=plan.payee.handle,
            fee_minor=fee,
            **common,  # type: ignore[arg-type]
        ),
        HistoryItem(
            id=HistoryId(uuid.UUID(ids.new_id())),
            user_id=plan.payee.user_id,
            direction=Direction.IN,
            counterparty_user_id=plan.payer.user_id,
            counterparty_handle=plan.payer.handle,
            fee_minor=0,
            **common,  # type: ignore[arg-type]
        ),
    ]
    return draft, entry_id, items


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


def usage_refusal(uow: UnitOfWork, plans: Sequence[Plan], code: str, period: str) -> DomainError:
    """Why adding ``plans``' usage in ``code`` passed ``period``'s limit, read afresh (the
    refused transaction is spoilt): the limit and what remains, naming the first batch item
    past it."""
    plan = next(p for p in plans if p.amount.currency.code == code)
    daily = period.startswith("day:")
    limit = plan.limits.daily_minor if daily else plan.limits.monthly_minor
    override = uow.wallets.daily_override(plan.tenant_id, plan.payer.user_id, code)
    if daily and override is not None:
        limit = min(limit, override)
    used = uow.wallets.usage(plan.tenant_id, plan.payer.user_id, code, [period])[period]
    remaining = max(limit - used, 0)
    error = LimitExceeded(
        limit=(LimitKind.DAILY if daily else LimitKind.MONTHLY).value,
        remaining=Money(remaining, plan.amount.currency).to_decimal_string(),
        currency=code,
    )
    if len(plans) == 1:
        return error
    running = 0
    for index, each in enumerate(plans):
        if each.amount.currency.code == code:
            running += each.amount.amount_minor
            if running > remaining:
                return item_refused(index, error)
    return item_refused(0, error)


def item_refused(index: int, error: DomainError) -> BatchItemRefused:
    return BatchItemRefused(index=index, item_code=error.code, reason=error.message)
