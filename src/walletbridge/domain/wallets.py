"""Wallets: one per customer per tenant, one ledger account per currency, and the tenant's
configuration that governs them (offered currencies, KYC tier limits, fee schedules).

A wallet account is a ledger liability account with ``owner_ref`` = the wallet id, floor 0 and
the tier's balance cap as its ceiling; it is found again by its code (``wallet_code``). The
tenant's system accounts (settlement, fee revenue) per currency are found by code the same way
(``settlement_code``, ``fees_code``, the codes the demo ledger uses).

Errors raised by wallets, payments, limits and idempotency keys::

    DomainError
    ├── CurrencyNotOffered         currency-not-offered       (domain.wallets)
    ├── TenantNotConfigured        tenant-not-configured      (domain.wallets)
    ├── InvalidFeeSchedule         fee-schedule-invalid       (domain.fees)
    ├── InvalidLimits              limits-invalid             (domain.limits)
    ├── LimitExceeded              limit-exceeded             (domain.limits)
    ├── PayeeLimitExceeded         limit-exceeded             (domain.limits)
    ├── DailyLimitRaise            limit-raise-refused        (domain.limits)
    └── PaymentError                                          (domain.payments)
        ├── RecipientNotFound      recipient-not-found
        ├── PayingYourself         self-payment
        ├── FeeChanged             fee-changed
        ├── InvalidPayment         payment-invalid
        ├── TransferNotFound       transfer-not-found
        ├── TransactionNotFound    transaction-not-found
        ├── PaymentRequestNotFound payment-request-not-found
        ├── RequestNotPending      payment-request-not-pending
        ├── PayeeNotFound          payee-not-found
        ├── PayeeExists            payee-exists
        ├── BatchItemRefused       batch-item-refused
        ├── InvalidFilter          filter-invalid
        ├── IdempotencyKeyMissing  idempotency-key-missing
        ├── IdempotencyKeyInvalid  idempotency-key-invalid
        ├── IdempotencyKeyReused   idempotency-key-reused
        └── RequestInFlight        idempotency-request-in-flight (a safety net: a duplicate
                                   waits for the first and replays it instead)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import NewType

from walletbridge.domain.actors import UserId
from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.fees import P2P, FeeSchedule
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.limits import TierLimits
from walletbridge.domain.money import Currency

WalletId = NewType("WalletId", uuid.UUID)


class CurrencyNotOffered(DomainError):
    code = "currency-not-offered"
    template = "{currency} is not offered by this wallet provider."
    public = ("currency",)


class TenantNotConfigured(DomainError):
    code = "tenant-not-configured"
    kind = ErrorKind.CONFLICT
    template = "This wallet provider has not set up {currency} yet."
    public = ("currency",)


def settlement_code(currency: str) -> str:
    return f"settlement:{currency}"


def fees_code(currency: str) -> str:
    return f"fees:{currency}"


def wallet_code(wallet_id: WalletId, currency: str) -> str:
    return f"wallet:{wallet_id}:{currency}"


@dataclass(frozen=True, slots=True)
class Wallet:
    id: WalletId
    tenant_id: TenantId
    user_id: UserId
    home_currency: str


@dataclass(frozen=True, slots=True)
class TenantConfiguration:
    """What ``WalletService.configure_tenant`` writes: every offered currency with its tier
    limits and fee schedules. Writing it again replaces the rows it names."""

    currencies: tuple[Currency, ...]
    tiers: tuple[TierLimits, ...]
    fees: tuple[FeeSchedule, ...] = field(default=())

    def validate(self) -> None:
        codes = {currency.code for currency in self.currencies}
        for tier in self.tiers:
            tier.validate()
            if tier.currency not in codes:
                raise CurrencyNotOffered(currency=tier.currency)
        for schedule in self.fees:
            schedule.validate()
            if schedule.currency not in codes:
                raise CurrencyNotOffered(currency=schedule.currency)


def default_configuration(currency: Currency) -> TenantConfiguration:
    """A sensible starting point for tests and new tenants: tiers 0-3 (0 may not pay at all)
    and a P2P fee of 0.5 %, rounded up, at most 10 major units."""
    unit = 10**currency.exponent
    tiers = tuple(
        TierLimits(
            tier=tier,
            currency=currency.code,
            per_transaction_minor=per_tx * unit,
            daily_minor=daily * unit,
            monthly_minor=monthly * unit,
            balance_cap_minor=cap * unit,
        )
        for tier, per_tx, daily, monthly, cap in (
            (0, 0, 0, 0, 0),
            (1, 1_000, 2_000, 10_000, 10_000),
            (2, 5_000, 10_000, 50_000, 100_000),
            (3, 50_000, 100_000, 500_000, 1_000_000),
        )
    )
    fees = (
        FeeSchedule(
            product=P2P,
            currency=currency.code,
            basis_points=50,
            maximum_minor=10 * unit,
        ),
    )
    return TenantConfiguration(currencies=(currency,), tiers=tiers, fees=fees)
