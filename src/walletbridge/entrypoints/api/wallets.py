"""Routes for the wallet, balances, limits and transfers (quote, confirm, batch); requests to pay,
payees and history live in ``wallets_requests`` and ``wallets_history``.

Money-moving POSTs take an ``Idempotency-Key``; the use case stores the answer (status and body)
with the key, and a replay sends exactly that. Balances and history are ``Cache-Control:
no-store``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Response, get, post, put
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.payments import TransferId
from walletbridge.entrypoints.api.wallets_docs import (
    BAD_REQUEST,
    BOB,
    FEE_CHANGED,
    KEY_MISSING,
    LIMIT_EXCEEDED,
    RATE_LIMITED,
    RECIPIENT_NOT_FOUND,
    SECURITY,
    TAG_TRANSFERS,
    TAG_WALLET,
    TRANSFER_EXAMPLE,
    TRANSFER_REQUEST_EXAMPLE,
    UNAUTHENTICATED,
    body,
    money_example,
    ok,
    problem,
)
from walletbridge.entrypoints.api.wallets_history import history_routes
from walletbridge.entrypoints.api.wallets_requests import request_routes
from walletbridge.entrypoints.api.wallets_schemas import (
    AccountBody,
    AccountView,
    BatchBody,
    BatchView,
    DailyLimitBody,
    IdempotencyKey,
    LimitsView,
    MoneyView,
    QuoteBody,
    QuoteView,
    TransferBody,
    TransferView,
    WalletView,
    money_of,
    recipient_of,
    threaded,
    view,
)
from walletbridge.ports import CurrencyCatalog
from walletbridge.services.payment_plans import TransferOrder
from walletbridge.services.wallet_views import minor_json, money_json

V1 = "/api/v1"
NO_STORE = CacheControlHeader(no_store=True)
ACCOUNT_EXAMPLE = {
    "currency": "EUR",
    "posted": money_example("120.00"),
    "pending": money_example("15.00"),
    "available": money_example("105.00"),
}
WALLET_EXAMPLE = {
    "id": "01942f4e-7b1a-7c3e-9d2f-5a6b7c8d9e01",
    "home_currency": "EUR",
    "accounts": [ACCOUNT_EXAMPLE],
}
USAGE = {
    "limit": money_example("2000.00"),
    "used": money_example("30.00"),
    "remaining": money_example("1970.00"),
}
LIMITS_EXAMPLE = {
    "tier": 1,
    "items": [
        {
            "currency": "EUR",
            "per_transaction": money_example("1000.00"),
            "daily": USAGE,
            "monthly": {**USAGE, "limit": money_example("10000.00")},
            "balance_cap": {
                "limit": money_example("10000.00"),
                "balance": money_example("70.00"),
                "remaining": money_example("9930.00"),
            },
        }
    ],
}


def transfer_order(currencies: CurrencyCatalog, data: TransferBody) -> TransferOrder:
    return TransferOrder(
        to=recipient_of(data.to),
        amount=money_of(currencies, data.amount),
        fee=money_of(currencies, data.fee, allow_zero=True),
        note=data.note,
    )


def wallet_routes(container: Container) -> list[ControllerRouterHandler]:
    return [
        *_wallet_routes(container),
        *_transfer_routes(container),
        *request_routes(container),
        *history_routes(container),
    ]


def _wallet_routes(container: Container) -> list[HTTPRouteHandler]:
    wallets, currencies = container.wallets, container.currencies
    common: dict[str, Any] = {"security": SECURITY, "tags": [TAG_WALLET]}

    @get(
        f"{V1}/wallet",
        summary="Show my wallet and balances",
        description=(
            "The caller's wallet (opened on first use) with each currency account's posted, "
            "pending (held) and available balance."
        ),
        cache_control=NO_STORE,
        responses={200: ok(WalletView, WALLET_EXAMPLE, "The wallet"), 401: UNAUTHENTICATED},
        **common,
    )
    @threaded
    def show_wallet(actor: NamedDependency[Actor]) -> WalletView:
        return view(wallets.wallet_json(actor), WalletView)  # type: ignore[no-any-return]

    @post(
        f"{V1}/wallet/accounts",
        status_code=201,
        summary="Open an account in another currency",
        description=(
            "Opens the caller's account in a currency the provider offers: 201 when new, 200 "
            "when it existed already."
        ),
        responses={
            201: ok(AccountView, ACCOUNT_EXAMPLE, "Opened"),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            422: problem(
                422,
                "currency-not-offered",
                "USD is not offered by this wallet provider.",
                currency="USD",
            ),
        },
        **common,
    )
    @threaded
    def open_account(
        actor: NamedDependency[Actor],
        data: Annotated[AccountBody, body({"currency": "EUR"}, "In euros")],
    ) -> Response[AccountView]:
        currency = currencies.get(data.currency)
        account, created = wallets.open_account(actor, currency.code)
        found = {b.account.id: b for b in wallets.balances(actor)[1]}.get(account.id)

        def shown(amount_minor: int) -> MoneyView:
            return view(minor_json(amount_minor, currency), MoneyView)  # type: ignore[no-any-return]

        opened = AccountView(
            currency=currency.code,
            posted=shown(found.posted_minor if found else 0),
            pending=shown(found.pending_minor if found else 0),
            available=shown(found.available_minor if found else 0),
        )
        return Response(opened, status_code=201 if created else 200)

    @get(
        f"{V1}/limits",
        summary="Show my limits and what remains",
        description=(
            "Per currency: the KYC tier's per-transaction limit, the daily and monthly limits "
            "with what is used and remains (UTC days and months), and the balance cap."
        ),
        cache_control=NO_STORE,
        responses={200: ok(LimitsView, LIMITS_EXAMPLE, "The limits"), 401: UNAUTHENTICATED},
        **common,
    )
    @threaded
    def show_limits(actor: NamedDependency[Actor]) -> LimitsView:
        return view(wallets.limits_json(actor), LimitsView)  # type: ignore[no-any-return]

    @put(
        f"{V1}/limits/daily",
        summary="Lower my daily limit",
        description=(
            "Sets a lower daily limit in one currency for the caller. It can be lowered again, "
            "never raised above what applies now. Needs a fresh session."
        ),
        responses={
            200: ok(LimitsView, LIMITS_EXAMPLE, "The limits after the change"),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            422: problem(
                422,
                "limit-raise-refused",
                "A daily limit can only be lowered here, to at most 50.00 EUR.",
                maximum="50.00",
                currency="EUR",
            ),
        },
        **common,
    )
    @threaded
    def lower_daily_limit(
        actor: NamedDependency[Actor],
        data: Annotated[DailyLimitBody, body({"amount": money_example("50.00")}, "To 50 EUR")],
    ) -> LimitsView:
        wallets.lower_daily_limit(actor, money_of(currencies, data.amount, allow_zero=True))
        return view(wallets.limits_json(actor), LimitsView)  # type: ignore[no-any-return]

    return [show_wallet, open_account, show_limits, lower_daily_limit]


def _transfer_routes(container: Container) -> list[HTTPRouteHandler]:
    payments, currencies = container.wallets.payments, container.currencies
    common: dict[str, Any] = {
        "security": SECURITY,
        "tags": [TAG_TRANSFERS],
    }
    refusals = {
        400: KEY_MISSING,
        401: UNAUTHENTICATED,
        404: RECIPIENT_NOT_FOUND,
        409: FEE_CHANGED,
        422: LIMIT_EXCEEDED,
        429: RATE_LIMITED,
    }

    @post(
        f"{V1}/transfers/quotes",
        status_code=200,
        summary="Quote a payment",
        description=(
            "Who the recipient is (by handle, email or phone), the fee and the total. Show it to "
            "the payer, then send POST /transfers with the fee shown."
        ),
        responses={
            200: ok(
                QuoteView,
                {
                    "recipient": BOB,
                    "amount": money_example("25.00"),
                    "fee": money_example("0.13"),
                    "total": money_example("25.13"),
                },
                "The quote",
            ),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            404: RECIPIENT_NOT_FOUND,
            422: problem(422, "self-payment", "You cannot pay yourself."),
        },
        **common,
    )
    @threaded
    def quote(
        actor: NamedDependency[Actor],
        data: Annotated[
            QuoteBody,
            body({"to": {"handle": "bob"}, "amount": money_example("25.00")}, "To bob"),
        ],
    ) -> QuoteView:
        made = payments.quote(actor, recipient_of(data.to), money_of(currencies, data.amount))
        return view(  # type: ignore[no-any-return]
            {
                "recipient": {
                    "handle": made.recipient.handle,
                    "display_name": made.recipient.display_name,
                },
                "amount": money_json(made.amount),
                "fee": money_json(made.fee),
                "total": money_json(made.total),
            },
            QuoteView,
        )

    @post(
        f"{V1}/transfers",
        status_code=201,
        summary="Send money",
        description=(
            "Pays the recipient the amount, charging the fee the payer was shown (409 "
            "`fee-changed` names the current fee if it differs). Needs `Idempotency-Key` and a "
            "fresh session; limits (422 `limit-exceeded` names the limit and what remains) and "
            "funds are checked in the same transaction as the posting."
        ),
        responses={201: ok(TransferView, TRANSFER_EXAMPLE, "Sent"), **refusals},
        **common,
    )
    @threaded
    def send(
        actor: NamedDependency[Actor],
        data: Annotated[TransferBody, body(TRANSFER_REQUEST_EXAMPLE, "To bob")],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TransferView]:
        outcome = payments.transfer(actor, transfer_order(currencies, data), idempotency_key)
        return Response(view(outcome.body, TransferView), status_code=outcome.status_code)

    @post(
        f"{V1}/transfers/batch",
        status_code=201,
        summary="Send up to 100 payments at once",
        description=(
            "All or nothing, in one transaction: if any item is refused nothing is paid and the "
            "answer (422 `batch-item-refused`) names the item's index and its refusal code. "
            "Needs `Idempotency-Key` (one for the batch) and a fresh session."
        ),
        responses={
            201: ok(BatchView, {"items": [TRANSFER_EXAMPLE]}, "All sent"),
            **refusals,
            422: problem(
                422,
                "batch-item-refused",
                "Item 2 of the batch was refused (insufficient-funds). Nothing was paid.",
                index=2,
                item_code="insufficient-funds",
            ),
        },
        **common,
    )
    @threaded
    def send_batch(
        actor: NamedDependency[Actor],
        data: Annotated[BatchBody, body({"items": [TRANSFER_REQUEST_EXAMPLE]}, "One item")],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BatchView]:
        orders = [transfer_order(currencies, item) for item in data.items]
        outcome = payments.transfer_batch(actor, orders, idempotency_key)
        return Response(view(outcome.body, BatchView), status_code=outcome.status_code)

    @get(
        f"{V1}/transfers/{{transfer_id:uuid}}",
        summary="Show one of my transfers",
        description="A transfer the caller sent or received; anyone else's is not found.",
        cache_control=NO_STORE,
        responses={
            200: ok(TransferView, TRANSFER_EXAMPLE, "The transfer"),
            401: UNAUTHENTICATED,
            404: problem(404, "transfer-not-found", "Transfer 0194... does not exist."),
        },
        **common,
    )
    @threaded
    def show_transfer(
        actor: NamedDependency[Actor], transfer_id: FromPath[uuid.UUID]
    ) -> TransferView:
        found = payments.transfer_detail(actor, TransferId(transfer_id))
        return view(found, TransferView)  # type: ignore[no-any-return]

    return [quote, send, send_batch, show_transfer]
