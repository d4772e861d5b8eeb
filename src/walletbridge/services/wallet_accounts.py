"""Finding and opening wallets and their ledger accounts, and the tenant's system accounts.

A wallet account is opened on demand, idempotently: the wallet row is inserted unless present,
the account found by its code before it is opened, and a concurrent opener that loses the race on
the code simply finds the winner's account. Wallets and accounts never change identity, so they
are cached per process; balances are never cached.

The tenant's terms (offered currencies, tier limits, fee schedules) change rarely and are read by
every payment: they are cached for ``TERMS_TTL_US`` and keyed on the store's configuration
generation, so this process sees its own changes at once and other processes' within the TTL.
A currency not offered, or a tier without limits in a currency, is looked up again every time.
"""

from __future__ import annotations

import uuid

from walletbridge.domain.actors import UserId, UserStatus
from walletbridge.domain.errors import InvalidAccount, TenantNotFound
from walletbridge.domain.fees import FeeSchedule, free
from walletbridge.domain.ledger import Account, AccountId, AccountKind, NewAccount, TenantId
from walletbridge.domain.limits import TierLimits
from walletbridge.domain.money import Currency
from walletbridge.domain.payments import RecipientNotFound
from walletbridge.domain.wallets import (
    CurrencyNotOffered,
    TenantNotConfigured,
    Wallet,
    WalletId,
    fees_code,
    settlement_code,
    wallet_code,
)
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork

FEE_SHARDS = 8
"""The fee revenue account is credited by every payment with a fee: shards keep it from
serialising them."""

TERMS_TTL_US = 5_000_000
"""How long another process's change to a tenant's terms may go unseen."""


class WalletAccounts:
    def __init__(self, runner: TransactionRunner, clock: Clock, ids: IdSource) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._accounts: dict[tuple[TenantId, str], Account] = {}
        self._wallets: dict[tuple[TenantId, UserId], Wallet] = {}
        self._terms: dict[tuple[object, ...], tuple[int, int, object]] = {}

    # -- the tenant's terms (cached) ----------------------------------------------------------

    def _cached(self, uow: UnitOfWork, key: tuple[object, ...]) -> object | None:
        found = self._terms.get(key)
        if found is None:
            return None
        generation, at_us, value = found
        fresh = abs(self._clock.now_us() - at_us) < TERMS_TTL_US
        return value if fresh and generation == uow.wallets.configuration_generation() else None

    def _keep(self, uow: UnitOfWork, key: tuple[object, ...], value: object) -> None:
        generation = uow.wallets.configuration_generation()
        self._terms[key] = (generation, self._clock.now_us(), value)

    def offered(self, uow: UnitOfWork, tenant_id: TenantId, code: str) -> Currency:
        key = ("currency", tenant_id, code)
        cached = self._cached(uow, key)
        if isinstance(cached, Currency):
            return cached
        currency = uow.wallets.currency(tenant_id, code)
        if currency is None:
            raise CurrencyNotOffered(currency=code)
        self._keep(uow, key, currency)
        return currency

    def fee_schedule(
        self, uow: UnitOfWork, tenant_id: TenantId, product: str, code: str
    ) -> FeeSchedule:
        """The tenant's schedule for ``product`` in ``code`` (free when it has none)."""
        key = ("fee", tenant_id, product, code)
        cached = self._cached(uow, key)
        if isinstance(cached, FeeSchedule):
            return cached
        schedule = uow.wallets.fee_schedule(tenant_id, product, code) or free(product, code)
        self._keep(uow, key, schedule)
        return schedule

    def tier_limit(
        self, uow: UnitOfWork, tenant_id: TenantId, tier: int, code: str
    ) -> TierLimits | None:
        """The tier's limits in ``code``, None when the tenant set none."""
        key = ("tier", tenant_id, tier)
        cached = self._cached(uow, key)
        if isinstance(cached, dict) and code in cached:
            found: TierLimits = cached[code]
            return found
        limits = {t.currency: t for t in uow.wallets.tier_limits(tenant_id, tier)}
        self._keep(uow, key, limits)
        return limits.get(code)

    def cached_account(
        self, tenant_id: TenantId, user_id: UserId, currency: str
    ) -> tuple[Wallet, Account] | None:
        """The wallet and account ``ensure`` would return, when this process knows them."""
        wallet = self._wallets.get((tenant_id, user_id))
        if wallet is None:
            return None
        account = self._accounts.get((tenant_id, wallet_code(wallet.id, currency)))
        return None if account is None else (wallet, account)

    # -- lookups inside a transaction ---------------------------------------------------------

    def account_in(self, uow: UnitOfWork, tenant_id: TenantId, code: str) -> Account | None:
        cached = self._accounts.get((tenant_id, code))
        if cached is not None:
            return cached
        found = uow.ledger.account_by_code(tenant_id, code)
        if found is not None:
            self._accounts[(tenant_id, code)] = found
        return found

    def wallet_in(self, uow: UnitOfWork, tenant_id: TenantId, user_id: UserId) -> Wallet | None:
        cached = self._wallets.get((tenant_id, user_id))
        if cached is not None:
            return cached
        found = uow.wallets.wallet_of(tenant_id, user_id)
        if found is not None:
            self._wallets[(tenant_id, user_id)] = found
        return found

    def system_accounts(
        self, uow: UnitOfWork, tenant_id: TenantId, currency: str
    ) -> tuple[Account, Account]:
        """The tenant's settlement and fee revenue accounts in ``currency``."""
        settlement = self.account_in(uow, tenant_id, settlement_code(currency))
        fees = self.account_in(uow, tenant_id, fees_code(currency))
        if settlement is None or fees is None:
            raise TenantNotConfigured(currency=currency)
        return settlement, fees

    # -- opening ------------------------------------------------------------------------------

    def open_system_accounts(self, uow: UnitOfWork, tenant_id: TenantId, currency: str) -> None:
        now_us = self._clock.now_us()
        for request in (
            NewAccount(
                tenant_id,
                currency,
                AccountKind.ASSET,
                floor_minor=None,
                code=settlement_code(currency),
            ),
            NewAccount(
                tenant_id,
                currency,
                AccountKind.REVENUE,
                floor_minor=0,
                shard_count=FEE_SHARDS,
                code=fees_code(currency),
            ),
        ):
            assert request.code is not None
            if uow.ledger.account_by_code(tenant_id, request.code) is None:
                uow.ledger.insert_account(request.to_account(self._new_account_id()), now_us)

    def ensure(
        self, tenant_id: TenantId, user_id: UserId, currency: str | None = None
    ) -> tuple[Wallet, Account]:
        """The user's wallet and its account in ``currency`` (default: the wallet's home
        currency), opening either when missing."""
        if currency is not None:
            known = self.cached_account(tenant_id, user_id, currency)
            if known is not None:
                return known
        found = self._runner.read(lambda uow: self._find(uow, tenant_id, user_id, currency))
        if found is not None:
            return found
        try:
            return self._runner.write(lambda uow: self._open(uow, tenant_id, user_id, currency))
        except InvalidAccount:
            # A concurrent request opened the same account first (its code is taken): use it.
            again = self._runner.read(lambda uow: self._find(uow, tenant_id, user_id, currency))
            assert again is not None, "a taken account code means the account exists"
            return again

    def _find(
        self, uow: UnitOfWork, tenant_id: TenantId, user_id: UserId, currency: str | None
    ) -> tuple[Wallet, Account] | None:
        wallet = self.wallet_in(uow, tenant_id, user_id)
        if wallet is None:
            return None
        account = self.account_in(
            uow, tenant_id, wallet_code(wallet.id, currency or wallet.home_currency)
        )
        return None if account is None else (wallet, account)

    def _open(
        self, uow: UnitOfWork, tenant_id: TenantId, user_id: UserId, currency: str | None
    ) -> tuple[Wallet, Account]:
        summary = uow.identity.summary(tenant_id, user_id)
        if summary is None or summary.status is not UserStatus.ACTIVE:
            raise RecipientNotFound(kind="user")
        wallet = uow.wallets.wallet_of(tenant_id, user_id)
        if wallet is None:
            tenant = uow.tenants.get(tenant_id)
            if tenant is None:
                raise TenantNotFound(tenant_id=tenant_id)
            wallet_id = WalletId(uuid.UUID(self._ids.new_id()))
            fresh = Wallet(wallet_id, tenant_id, user_id, tenant.home_currency)
            uow.wallets.insert_wallet(fresh, self._clock.now_us())
            wallet = uow.wallets.wallet_of(tenant_id, user_id)
            assert wallet is not None
        code = currency or wallet.home_currency
        offered = self.offered(uow, tenant_id, code)
        account = uow.ledger.account_by_code(tenant_id, wallet_code(wallet.id, code))
        if account is None:
            caps = {t.currency: t for t in uow.wallets.tier_limits(tenant_id, summary.kyc_tier)}
            if code not in caps:
                raise TenantNotConfigured(currency=code)
            account = NewAccount(
                tenant_id,
                offered.code,
                AccountKind.LIABILITY,
                floor_minor=0,
                ceiling_minor=caps[code].balance_cap_minor,
                code=wallet_code(wallet.id, code),
                owner_ref=str(wallet.id),
            ).to_account(self._new_account_id())
            uow.ledger.insert_account(account, self._clock.now_us())
        uow.commit()
        return wallet, account

    def _new_account_id(self) -> AccountId:
        return AccountId(uuid.UUID(self._ids.new_id()))
