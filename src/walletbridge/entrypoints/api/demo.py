"""The demo ledger, read-only: balances of the demo tenants and the history of their accounts.

Amounts leave as decimal strings next to their currency ("12.34", "EUR"), never as JSON numbers,
so no client parses money into a float. Only the demo tenants are served here: this API has no
authentication, so it must not become a window onto real tenants' accounts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter

# The API may not reach adapters except through bootstrap, but the ISO 4217 table is pure data
from walletbridge.bootstrap import Container
from walletbridge.domain.errors import AccountNotFound
from walletbridge.domain.instants import iso_utc
from walletbridge.domain.ledger import Account, AccountId, Balance, Posting, Seal
from walletbridge.domain.money import Money, format_amount
from walletbridge.entrypoints.api.problems import problem_spec
from walletbridge.ports import CurrencyCatalog
from walletbridge.services.demo import DemoTenant, find_demo
from walletbridge.services.ledger import MAX_PAGE

PREFIX = "/api/v1/demo/ledger"


@dataclass(frozen=True, slots=True)
class MoneyView:
    amount: str
    currency: str


@dataclass(frozen=True, slots=True)
class BalancesView:
    posted: MoneyView
    pending: MoneyView
    available: MoneyView


@dataclass(frozen=True, slots=True)
class AccountView:
    id: uuid.UUID
    code: str | None
    kind: str
    currency: str
    balances: BalancesView


@dataclass(frozen=True, slots=True)
class TenantView:
    id: str
    name: str
    home_currency: str
    accounts: list[AccountView]


@dataclass(frozen=True, slots=True)
class SealView:
    number: int
    hash: str
    last_seq: int
    sealed_at: str


@dataclass(frozen=True, slots=True)
class LedgerView:
    tenants: list[TenantView]
    latest_seal: SealView | None
    """Seals span every tenant, so there is one latest seal for the whole ledger."""


@dataclass(frozen=True, slots=True)
class PostingView:
    entry_id: uuid.UUID
    leg: int
    side: str
    amount: MoneyView
    """The change to the account's balance: positive when the balance grew."""
    posted_at: str


@dataclass(frozen=True, slots=True)
class HistoryView:
    account_id: uuid.UUID
    postings: list[PostingView]
    next_cursor: str | None


def money(currencies: CurrencyCatalog, amount_minor: int, currency: str) -> MoneyView:
    return MoneyView(format_amount(Money(amount_minor, currencies.get(currency))), currency)


def balances_view(currencies: CurrencyCatalog, balance: Balance) -> BalancesView:
    return BalancesView(
        posted=money(currencies, balance.posted_minor, balance.currency),
        pending=money(currencies, balance.pending_minor, balance.currency),
        available=money(currencies, balance.available_minor, balance.currency),
    )


def tenant_view(container: Container, demo: DemoTenant) -> TenantView:
    accounts = demo.accounts
    balances = container.ledger.balances(demo.tenant.id, [a.id for a in accounts])
    by_id = {balance.account_id: balance for balance in balances}
    return TenantView(
        id=demo.tenant.id,
        name=demo.tenant.name,
        home_currency=demo.tenant.home_currency,
        accounts=[
            AccountView(
                a.id,
                a.code,
                a.kind.value,
                a.currency,
                balances_view(container.currencies, by_id[a.id]),
            )
            for a in accounts
        ],
    )


def seal_view(seal: Seal | None) -> SealView | None:
    if seal is None:
        return None
    return SealView(seal.seal_no, seal.seal_hash.hex(), seal.last_seq, iso_utc(seal.sealed_at_us))


def posting_view(currencies: CurrencyCatalog, account: Account, posting: Posting) -> PostingView:
    return PostingView(
        entry_id=posting.entry_id,
        leg=posting.leg,
        side="debit" if posting.amount_minor > 0 else "credit",
        amount=money(currencies, account.normal_side.sign * posting.amount_minor, posting.currency),
        posted_at=iso_utc(posting.posted_at_us),
    )


def demo_account(container: Container, tenant_id: str, account_id: uuid.UUID) -> Account:
    """An account of a demo tenant; any other tenant is as unknown as a missing one."""
    demo = find_demo(container).tenant(tenant_id)
    for account in demo.accounts:
        if account.id == account_id:
            return account
    raise AccountNotFound(account_id=str(account_id))


def demo_routes(container: Container) -> list[HTTPRouteHandler]:
    @get(
        PREFIX,
        sync_to_thread=True,
        tags=["demo"],
        summary="Show the demo ledger",
        responses={
            404: problem_spec(404, "demo-not-found", "The demo data has not been seeded yet.")
        },
    )
    def ledger() -> LedgerView:
        """Balances of every demo account, and the latest seal of the ledger."""
        demo = find_demo(container)
        return LedgerView(
            tenants=[tenant_view(container, tenant) for tenant in demo.tenants],
            latest_seal=seal_view(container.integrity.latest_seal()),
        )

    @get(
        PREFIX + "/{tenant_id:str}/accounts/{account_id:uuid}/history",
        sync_to_thread=True,
        tags=["demo"],
        summary="Page through a demo account's postings",
        responses={
            400: problem_spec(400, "request-invalid", "The request's parameters are not valid."),
            404: problem_spec(404, "account-not-found", "Account 0193... does not exist."),
        },
    )
    def history(
        tenant_id: FromPath[str],
        account_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> HistoryView:
        """Postings of one demo account, newest first; pass ``next_cursor`` back for more."""
        account = demo_account(container, tenant_id, account_id)
        page = container.ledger.history(
            account.tenant_id, AccountId(account.id), limit=limit, cursor=cursor
        )
        return HistoryView(
            account_id=account.id,
            postings=[posting_view(container.currencies, account, p) for p in page.postings],
            next_cursor=page.next_cursor,
        )

    return [ledger, history]
