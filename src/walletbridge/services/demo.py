"""The demo ledger: two banks with wallets, a little history, one pending hold and a seal.

``seed_demo`` is idempotent. Tenants and accounts are found by id and account code before anything
is created, and every entry and hold carries a fixed idempotency key, so running it again replays
the same requests and changes nothing. ``find_demo`` looks the demo up without writing, for the
read-only demo API.

Amounts are minor units (hundredths for both CNY and EUR).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from walletbridge.domain.errors import DomainError, ErrorKind, TenantNotFound
from walletbridge.domain.ledger import (
    Account,
    AccountKind,
    Entry,
    EntryDraft,
    Hold,
    Leg,
    NewAccount,
    Seal,
    TenantId,
)
from walletbridge.domain.tenants import Tenant
from walletbridge.ports import TransactionRunner
from walletbridge.services.integrity import IntegrityService
from walletbridge.services.ledger import LedgerService
from walletbridge.services.tenants import TenantService

WALLET_OWNERS = ("alice", "bob", "carol")
FEE_SHARDS = 8
HOLD_SECONDS = 30 * 24 * 3600
"""Long enough that the demo's hold is still pending while someone looks at it."""


class DemoContainer(Protocol):
    """What the demo needs from the composition root (``bootstrap.Container`` fits)."""

    @property
    def ledger(self) -> LedgerService: ...
    @property
    def tenants(self) -> TenantService: ...
    @property
    def integrity(self) -> IntegrityService: ...
    @property
    def runner(self) -> TransactionRunner: ...


class DemoNotSeeded(DomainError):
    code = "demo-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "The demo ledger has not been seeded; run `walletbridge demo`."


@dataclass(frozen=True, slots=True)
class DemoBank:
    tenant_id: str
    name: str
    currency: str


BANKS = (
    DemoBank("cny-bank", "Lotus Bank", "CNY"),
    DemoBank("eur-bank", "Harbour Bank", "EUR"),
)


@dataclass(frozen=True, slots=True)
class DemoPayment:
    key: str
    payer: str
    payee: str
    amount_minor: int
    fee_minor: int = 0


FUNDING = {"alice": 500_00, "bob": 250_00, "carol": 100_00}
PAYMENTS = (
    DemoPayment("demo:pay:1", "alice", "bob", 42_50),
    DemoPayment("demo:pay:2", "bob", "carol", 10_00),
    DemoPayment("demo:pay:3", "alice", "carol", 75_00, fee_minor=1_50),
    DemoPayment("demo:pay:4", "carol", "alice", 20_00, fee_minor=40),
)
HOLD = DemoPayment("demo:hold:1", "carol", "bob", 15_00)


@dataclass(frozen=True, slots=True)
class DemoTenant:
    tenant: Tenant
    settlement: Account
    fees: Account
    wallets: tuple[Account, ...]

    @property
    def accounts(self) -> tuple[Account, ...]:
        return (self.settlement, self.fees, *self.wallets)

    def wallet(self, owner: str) -> Account:
        return self.wallets[WALLET_OWNERS.index(owner)]


@dataclass(frozen=True, slots=True)
class DemoLedger:
    """The demo's tenants and accounts. ``entries``, ``holds`` and ``seals`` are what
    ``seed_demo`` posted or replayed and sealed in this call; ``find_demo`` leaves them empty."""

    tenants: tuple[DemoTenant, ...]
    entries: tuple[Entry, ...] = ()
    holds: tuple[Hold, ...] = ()
    seals: tuple[Seal, ...] = ()

    def tenant(self, tenant_id: str) -> DemoTenant:
        for demo in self.tenants:
            if demo.tenant.id == tenant_id:
                return demo
        raise TenantNotFound(tenant_id=tenant_id)


def settlement_code(currency: str) -> str:
    return f"settlement:{currency}"


def fees_code(currency: str) -> str:
    return f"fees:{currency}"


def wallet_code(owner: str, currency: str) -> str:
    return f"wallet:{owner}:{currency}"


# -- seeding ------------------------------------------------------------------------------------


def seed_demo(container: DemoContainer) -> DemoLedger:
    """Create (or find) the demo tenants, accounts and history, then seal the ledger."""
    tenants: list[DemoTenant] = []
    entries: list[Entry] = []
    holds: list[Hold] = []
    for bank in BANKS:
        demo = _open_bank(container, bank)
        entries += _post_history(container.ledger, demo)
        holds.append(_place_hold(container.ledger, demo))
        tenants.append(demo)
    seals = container.integrity.seal()
    return DemoLedger(tuple(tenants), tuple(entries), tuple(holds), tuple(seals))


def _open_bank(container: DemoContainer, bank: DemoBank) -> DemoTenant:
    tenant = _tenant(container.tenants, bank)
    tid, cur = tenant.id, bank.currency
    ledger = container.ledger
    return DemoTenant(
        tenant=tenant,
        settlement=_account(
            ledger,
            NewAccount(tid, cur, AccountKind.ASSET, floor_minor=None, code=settlement_code(cur)),
        ),
        fees=_account(
            ledger,
            NewAccount(
                tid,
                cur,
                AccountKind.REVENUE,
                floor_minor=0,
                shard_count=FEE_SHARDS,
                code=fees_code(cur),
            ),
        ),
        wallets=tuple(
            _account(
                ledger,
                NewAccount(
                    tid,
                    cur,
                    AccountKind.LIABILITY,
                    floor_minor=0,
                    code=wallet_code(owner, cur),
                    owner_ref=f"demo:{owner}",
                ),
            )
            for owner in WALLET_OWNERS
        ),
    )


def _tenant(tenants: TenantService, bank: DemoBank) -> Tenant:
    try:
        return tenants.get(bank.tenant_id)
    except TenantNotFound:
        return tenants.create(bank.tenant_id, bank.name, bank.currency)


def _account(ledger: LedgerService, request: NewAccount) -> Account:
    assert request.code is not None, "demo accounts are found again by their code"
    found = ledger.account_by_code(request.tenant_id, request.code)
    return found if found is not None else ledger.open_account(request)


def _post_history(ledger: LedgerService, demo: DemoTenant) -> list[Entry]:
    tenant_id = demo.tenant.id
    funded = [
        ledger.transfer(
            tenant_id,
            debit_account_id=demo.settlement.id,
            credit_account_id=demo.wallet(owner).id,
            amount_minor=amount,
            idempotency_key=f"demo:fund:{owner}",
            memo="opening deposit",
        )
        for owner, amount in FUNDING.items()
    ]
    return funded + [ledger.post_entry(_payment_draft(demo, p)) for p in PAYMENTS]


def _payment_draft(demo: DemoTenant, payment: DemoPayment) -> EntryDraft:
    """A wallet-to-wallet payment; with a fee it is one three-leg entry, so the payer is
    charged amount + fee atomically and the fee lands on the (sharded) revenue account."""
    currency = demo.tenant.home_currency
    payer, payee = demo.wallet(payment.payer), demo.wallet(payment.payee)
    legs = [
        Leg(payer.id, currency, payment.amount_minor + payment.fee_minor),
        Leg(payee.id, currency, -payment.amount_minor),
    ]
    if payment.fee_minor:
        legs.append(Leg(demo.fees.id, currency, -payment.fee_minor))
    return EntryDraft(
        tenant_id=demo.tenant.id,
        idempotency_key=payment.key,
        legs=tuple(legs),
        memo=f"{payment.payer} pays {payment.payee}",
    )


def _place_hold(ledger: LedgerService, demo: DemoTenant) -> Hold:
    return ledger.reserve(
        demo.tenant.id,
        debit_account_id=demo.wallet(HOLD.payer).id,
        credit_account_id=demo.wallet(HOLD.payee).id,
        amount_minor=HOLD.amount_minor,
        idempotency_key=HOLD.key,
        expires_in_seconds=HOLD_SECONDS,
    )


# -- reading ------------------------------------------------------------------------------------


def find_demo(container: DemoContainer) -> DemoLedger:
    """The demo's tenants and accounts, read-only; ``DemoNotSeeded`` if any is missing."""
    return DemoLedger(tuple(_find_bank(container, bank) for bank in BANKS))


def _find_bank(container: DemoContainer, bank: DemoBank) -> DemoTenant:
    try:
        tenant = container.tenants.get(bank.tenant_id)
    except TenantNotFound:
        raise DemoNotSeeded() from None
    tid = TenantId(bank.tenant_id)
    codes = [settlement_code(bank.currency), fees_code(bank.currency)]
    codes += [wallet_code(owner, bank.currency) for owner in WALLET_OWNERS]
    found = [container.ledger.account_by_code(tid, code) for code in codes]
    accounts = [account for account in found if account is not None]
    if len(accounts) != len(codes):
        raise DemoNotSeeded()
    return DemoTenant(tenant, accounts[0], accounts[1], tuple(accounts[2:]))
