"""Wallet use cases: tenant configuration (currencies, KYC tier limits, fee schedules), wallets and
their accounts per currency, balances, limits, funding, and the payment capabilities composed
here (``payments``, ``requests``, ``payees``, ``history``).

A wallet is opened on demand (``ensure_wallet``); its accounts are ledger liability accounts with
floor 0 and the tier's balance cap as ceiling, so the ledger itself refuses an overdraft or a
balance over the cap.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from walletbridge.domain.actors import Actor, Scope, UserId
from walletbridge.domain.errors import CeilingExceeded
from walletbridge.domain.ledger import Account, EntryDraft, EntryId, Leg, TenantId
from walletbridge.domain.limits import (
    DailyLimitRaise,
    LimitKind,
    PayeeLimitExceeded,
    TierLimits,
    Usage,
    day_period,
    month_period,
)
from walletbridge.domain.money import Currency, Money
from walletbridge.domain.payments import (
    Direction,
    HistoryId,
    HistoryItem,
    HistoryKind,
    InvalidPayment,
    TransferId,
    validate_idempotency_key,
    validate_note,
)
from walletbridge.domain.wallets import TenantConfiguration, Wallet, wallet_code
from walletbridge.ports import (
    Clock,
    DuplicateIdempotencyKey,
    IdSource,
    TransactionRunner,
    UnitOfWork,
)
from walletbridge.services.history import HistoryService
from walletbridge.services.payees import PayeeService
from walletbridge.services.payment_requests import PaymentRequestService
from walletbridge.services.payments import PaymentService
from walletbridge.services.settings import ServiceSettings
from walletbridge.services.wallet_accounts import WalletAccounts
from walletbridge.services.wallet_views import minor_json

PURGE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class WalletBalance:
    account: Account
    posted_minor: int
    pending_minor: int
    available_minor: int


class WalletService:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        ids: IdSource,
        settings: ServiceSettings,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._settings = settings
        self.accounts = WalletAccounts(runner, clock, ids)
        self.payments = PaymentService(runner, clock, ids, settings, self.accounts)
        self.requests = PaymentRequestService(runner, clock, ids, self.payments)
        self.payees = PayeeService(runner, clock, ids, settings, self.payments)
        self.history = HistoryService(runner)

    # -- tenant configuration -----------------------------------------------------------------

    def configure_tenant(self, tenant_id: TenantId, configuration: TenantConfiguration) -> None:
        """Write the tenant's offered currencies, tier limits and fee schedules (replacing the
        rows named), and open its settlement and fee accounts per currency if missing."""
        configuration.validate()

        def write(uow: UnitOfWork) -> None:
            uow.wallets.put_configuration(tenant_id, configuration)
            for currency in configuration.currencies:
                self.accounts.open_system_accounts(uow, tenant_id, currency.code)
            uow.commit()

        self._runner.write(write)

    # -- wallets ------------------------------------------------------------------------------

    def ensure_wallet(self, tenant_id: TenantId, user_id: UserId) -> Wallet:
        """The user's wallet, opened (with its home-currency account) if missing."""
        return self.accounts.ensure(tenant_id, user_id)[0]

    def open_account(self, actor: Actor, currency: str) -> tuple[Account, bool]:
        """Open the caller's account in ``currency``; the bool says whether it is new."""
        actor.require_scope(Scope.WALLET_READ)
        wallet = self.ensure_wallet(actor.tenant_id, actor.user_id)
        code = wallet_code(wallet.id, currency)
        existed = self._runner.read(lambda uow: uow.ledger.account_by_code(actor.tenant_id, code))
        _, account = self.accounts.ensure(actor.tenant_id, actor.user_id, currency)
        return account, existed is None

    def balances(self, actor: Actor) -> tuple[Wallet, list[WalletBalance]]:
        actor.require_scope(Scope.WALLET_READ)
        wallet = self.ensure_wallet(actor.tenant_id, actor.user_id)

        def read(uow: UnitOfWork) -> list[WalletBalance]:
            accounts = uow.ledger.accounts_of_owner(actor.tenant_id, str(wallet.id))
            found = {
                b.account_id: b
                for b in uow.ledger.balances(actor.tenant_id, [a.id for a in accounts])
            }
            return [
                WalletBalance(
                    a,
                    found[a.id].posted_minor,
                    found[a.id].pending_minor,
                    found[a.id].available_minor,
                )
                for a in accounts
                if a.id in found
            ]

        return wallet, self._runner.read(read)

    def wallet_json(self, actor: Actor) -> dict[str, object]:
        """``GET /wallet``: the wallet and its balances per currency."""
        wallet, balances = self.balances(actor)

        def currencies(uow: UnitOfWork) -> dict[str, object]:
            known = {c.code: c for c in uow.wallets.currencies(actor.tenant_id)}
            return {
                "id": str(wallet.id),
                "home_currency": wallet.home_currency,
                "accounts": [
                    {
                        "currency": b.account.currency,
                        "posted": minor_json(b.posted_minor, known[b.account.currency]),
                        "pending": minor_json(b.pending_minor, known[b.account.currency]),
                        "available": minor_json(b.available_minor, known[b.account.currency]),
                    }
                    for b in balances
                ],
            }

        return self._runner.read(currencies)

    def fund_wallet(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        money: Money,
        idempotency_key: str,
        memo: str | None = None,
    ) -> TransferId:
        """Credit the user's wallet from the tenant's settlement account, once per key (demo data
        and tests; top-ups replace it later). Returns the movement's transfer id."""
        validate_idempotency_key(idempotency_key)
        note = validate_note(memo)
        if money.amount_minor <= 0:
            raise InvalidPayment(reason="an amount is more than zero")
        code = money.currency.code
        _, account = self.accounts.ensure(tenant_id, user_id, code)
        # The caller's key is scoped to the user; the ledger's keys are per tenant.
        digest = hashlib.sha256(f"{user_id}\x00{idempotency_key}".encode()).hexdigest()[:48]
        entry_key = f"fund:{digest}"

        def write(uow: UnitOfWork) -> TransferId:
            settlement, _ = self.accounts.system_accounts(uow, tenant_id, code)
            now_us = self._clock.now_us()
            legs = (
                Leg(settlement.id, code, money.amount_minor),
                Leg(account.id, code, -money.amount_minor),
            )
            entry = EntryDraft(tenant_id, entry_key, legs)
            entry_id = EntryId(uuid.UUID(self._ids.new_id()))
            transfer_id = TransferId(uuid.UUID(self._ids.new_id()))
            accounts = {settlement.id: settlement, account.id: account}
            try:
                uow.ledger.post(entry, entry_id, now_us, accounts)
            except CeilingExceeded:
                raise PayeeLimitExceeded(limit=LimitKind.BALANCE_CAP.value, currency=code) from None
            item_id = HistoryId(uuid.UUID(self._ids.new_id()))
            owner = (tenant_id, user_id)
            item = _top_up_item(item_id, owner, transfer_id, money, note, entry_id, now_us)
            uow.wallets.insert_history([item])
            uow.commit()
            return transfer_id

        try:
            return self._runner.write(write)
        except DuplicateIdempotencyKey:
            return self._funded(tenant_id, user_id, entry_key)

    def _funded(self, tenant_id: TenantId, user_id: UserId, entry_key: str) -> TransferId:
        """The transfer a replayed funding key made the first time."""

        def read(uow: UnitOfWork) -> TransferId:
            found = uow.ledger.entry_by_key(tenant_id, entry_key)
            assert found is not None, "a duplicate key implies a committed entry"
            item = uow.wallets.history_of_entry(tenant_id, user_id, found[0].id)
            assert item is not None, "a funding entry has its history row"
            return item.transfer_id

        return self._runner.read(read)

    # -- limits -------------------------------------------------------------------------------

    def limits_json(self, actor: Actor) -> dict[str, object]:
        """``GET /limits``: what remains per currency for the caller's tier."""
        actor.require_scope(Scope.WALLET_READ)
        _, balances = self.balances(actor)
        by_currency = {b.account.currency: b.posted_minor for b in balances}
        now_us = self._clock.now_us()
        day, month = day_period(now_us), month_period(now_us)

        def read(uow: UnitOfWork) -> dict[str, object]:
            summary = uow.identity.summary(actor.tenant_id, actor.user_id)
            tier = summary.kyc_tier if summary is not None else 0
            known = {c.code: c for c in uow.wallets.currencies(actor.tenant_id)}
            items = []
            for limits in uow.wallets.tier_limits(actor.tenant_id, tier):
                code = limits.currency
                used = uow.wallets.usage(actor.tenant_id, actor.user_id, code, [day, month])
                override = uow.wallets.daily_override(actor.tenant_id, actor.user_id, code)
                daily = (
                    limits.daily_minor if override is None else min(limits.daily_minor, override)
                )
                items.append(
                    _limits_item(
                        limits,
                        known[code],
                        Usage(daily, used[day]),
                        Usage(limits.monthly_minor, used[month]),
                        by_currency.get(code, 0),
                    )
                )
            return {"tier": tier, "items": items}

        return self._runner.read(read)

    def lower_daily_limit(self, actor: Actor, amount: Money) -> None:
        """Lower (never raise) the caller's own daily limit in ``amount``'s currency."""
        actor.require_fresh()
        actor.require_scope(Scope.PAYMENTS_WRITE)
        code = amount.currency.code
        if amount.amount_minor < 0:
            raise InvalidPayment(reason="a limit is not negative")

        def write(uow: UnitOfWork) -> None:
            summary = uow.identity.summary(actor.tenant_id, actor.user_id)
            tier = summary.kyc_tier if summary is not None else 0
            limits = {t.currency: t for t in uow.wallets.tier_limits(actor.tenant_id, tier)}
            if code not in limits:
                raise InvalidPayment(
                    reason="there is no limit in this currency to lower", currency=code
                )
            override = uow.wallets.daily_override(actor.tenant_id, actor.user_id, code)
            current = (
                limits[code].daily_minor
                if override is None
                else min(limits[code].daily_minor, override)
            )
            if amount.amount_minor > current:
                raise DailyLimitRaise(
                    maximum=Money(current, amount.currency).to_decimal_string(), currency=code
                )
            uow.wallets.set_daily_override(
                actor.tenant_id, actor.user_id, code, amount.amount_minor
            )
            uow.commit()

        self._runner.write(write)

    def apply_kyc_tier(self, tenant_id: TenantId, user_id: UserId) -> None:
        """Set the ceilings of the user's wallet accounts to their (new) tier's balance caps;
        call it after a tier change."""

        def write(uow: UnitOfWork) -> None:
            summary = uow.identity.summary(tenant_id, user_id)
            wallet = uow.wallets.wallet_of(tenant_id, user_id)
            if summary is None or wallet is None:
                return
            caps = {t.currency: t for t in uow.wallets.tier_limits(tenant_id, summary.kyc_tier)}
            for account in uow.ledger.accounts_of_owner(tenant_id, str(wallet.id)):
                tier = caps.get(account.currency)
                cap = tier.balance_cap_minor if tier is not None else 0
                uow.ledger.set_limits(account, 0, cap)
            uow.commit()

        self._runner.write(write)

    # -- housekeeping -------------------------------------------------------------------------

    def purge_idempotency_keys(self, now_us: int | None = None) -> int:
        """Delete idempotency keys past their retention; returns how many (a periodic job)."""
        at_us = self._clock.now_us() if now_us is None else now_us
        purged = 0
        while True:

            def write(uow: UnitOfWork) -> int:
                count = uow.idempotency.purge(at_us, PURGE_BATCH)
                uow.commit()
                return count

            count = self._runner.write(write)
            purged += count
            if count < PURGE_BATCH:
                return purged


def _usage_json(usage: Usage, currency: Currency) -> dict[str, object]:
    return {
        "limit": minor_json(usage.limit_minor, currency),
        "used": minor_json(usage.used_minor, currency),
        "remaining": minor_json(usage.remaining_minor, currency),
    }


def _limits_item(
    limits: TierLimits, currency: Currency, daily: Usage, monthly: Usage, balance_minor: int
) -> dict[str, object]:
    return {
        "currency": currency.code,
        "per_transaction": minor_json(limits.per_transaction_minor, currency),
        "daily": _usage_json(daily, currency),
        "monthly": _usage_json(monthly, currency),
        "balance_cap": {
            "limit": minor_json(limits.balance_cap_minor, currency),
            "balance": minor_json(balance_minor, currency),
            "remaining": minor_json(max(limits.balance_cap_minor - balance_minor, 0), currency),
        },
    }


def _top_up_item(
    item_id: HistoryId,
    owner: tuple[TenantId, UserId],
    transfer_id: TransferId,
    money: Money,
    note: str | None,
    entry_id: EntryId,
    now_us: int,
) -> HistoryItem:
    """The history line of a funding: money in from the provider, no counterparty."""
    return HistoryItem(
        id=item_id,
        tenant_id=owner[0],
        user_id=owner[1],
        transfer_id=transfer_id,
        kind=HistoryKind.TOP_UP,
        direction=Direction.IN,
        counterparty_user_id=None,
        counterparty_handle=None,
        currency=money.currency.code,
        amount_minor=money.amount_minor,
        fee_minor=0,
        note=note,
        entry_id=entry_id,
        created_at_us=now_us,
    )
