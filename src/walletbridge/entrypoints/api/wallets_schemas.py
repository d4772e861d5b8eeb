"""Request and response bodies of the wallet and P2P API, with their OpenAPI examples.

Request bodies are ``msgspec.Struct``s that forbid unknown fields. Money travels as
``{"amount": "12.34", "currency": "EUR"}``, never as a JSON number; the edge parses it strictly
(``parse_amount``) with the currency's ISO 4217 precision, so "1e309", "NaN", " 1", "1,00" and
"0.001" in EUR are refused (422) before any use case runs.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import msgspec
from litestar.concurrency import sync_to_thread
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter

from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.money import Currency, Money, parse_amount
from walletbridge.domain.payments import InvalidPayment, RecipientRef
from walletbridge.ports import CurrencyCatalog

P = ParamSpec("P")
T = TypeVar("T")


Amount = Annotated[str, msgspec.Meta(max_length=40, examples=["12.34"])]
Code = Annotated[str, msgspec.Meta(max_length=3, examples=["EUR"])]
Note = Annotated[str, msgspec.Meta(max_length=140)]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description=(
            "Required on every money-moving POST: 1-255 printable ASCII characters chosen by the "
            "client, unique per request. The same key and body replay the first answer (status "
            "and body); another body under the key is refused (422); keys are scoped to the "
            "caller and kept at least 24 hours."
        ),
        examples=[Example(summary="A UUID", value="6f1c2a7e-3b1d-4a55-9d1e-2f7b8c9d0e1f")],
    ),
]


class MoneyBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    amount: Amount
    currency: Code


class ToBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Exactly one of handle, email or phone (E.164)."""

    handle: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class QuoteBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    to: ToBody
    amount: MoneyBody


class TransferBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    to: ToBody
    amount: MoneyBody
    fee: MoneyBody
    note: Note | None = None


class BatchBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    items: Annotated[list[TransferBody], msgspec.Meta(min_length=1, max_length=100)]


class AccountBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    currency: Code


class DailyLimitBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    amount: MoneyBody


class RequestBody(
    msgspec.Struct, forbid_unknown_fields=True, frozen=True, rename={"from_": "from"}
):
    from_: ToBody
    amount: MoneyBody
    note: Note | None = None


class AcceptBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    fee: MoneyBody


class PayeeBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    to: ToBody
    nickname: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]


class PayeePatch(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    nickname: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]


# -- responses ------------------------------------------------------------------------------------


class MoneyView(msgspec.Struct, frozen=True):
    amount: str
    currency: str


class PersonView(msgspec.Struct, frozen=True):
    handle: str
    display_name: str | None


class AccountView(msgspec.Struct, frozen=True):
    currency: str
    posted: MoneyView
    pending: MoneyView
    available: MoneyView


class WalletView(msgspec.Struct, frozen=True):
    id: str
    home_currency: str
    accounts: list[AccountView]


class UsageView(msgspec.Struct, frozen=True):
    limit: MoneyView
    used: MoneyView
    remaining: MoneyView


class CapView(msgspec.Struct, frozen=True):
    limit: MoneyView
    balance: MoneyView
    remaining: MoneyView


class LimitsItemView(msgspec.Struct, frozen=True):
    currency: str
    per_transaction: MoneyView
    daily: UsageView
    monthly: UsageView
    balance_cap: CapView


class LimitsView(msgspec.Struct, frozen=True):
    tier: int
    items: list[LimitsItemView]


class QuoteView(msgspec.Struct, frozen=True):
    recipient: PersonView
    amount: MoneyView
    fee: MoneyView
    total: MoneyView


class TransferView(msgspec.Struct, frozen=True):
    id: str
    status: str
    direction: Literal["in", "out"]
    amount: MoneyView
    fee: MoneyView
    total: MoneyView
    counterparty: PersonView | None
    note: str | None
    created_at: str


class BatchView(msgspec.Struct, frozen=True):
    items: list[TransferView]


class RequestView(msgspec.Struct, frozen=True):
    id: str
    status: Literal["pending", "paid", "declined", "cancelled"]
    direction: Literal["incoming", "outgoing"]
    requester: PersonView
    payer: PersonView
    amount: MoneyView
    note: str | None
    transfer_id: str | None
    created_at: str
    updated_at: str


class RequestPageView(msgspec.Struct, frozen=True):
    items: list[RequestView]
    next_cursor: str | None


class PayeeView(msgspec.Struct, frozen=True):
    id: str
    nickname: str
    handle: str | None
    display_name: str | None
    payable: bool
    created_at: str


class PayeeListView(msgspec.Struct, frozen=True):
    items: list[PayeeView]


class HistoryItemView(msgspec.Struct, frozen=True):
    id: str
    transfer_id: str
    type: Literal["p2p", "request", "top-up"]
    direction: Literal["in", "out"]
    amount: MoneyView
    fee: MoneyView
    balance_change: MoneyView
    counterparty: PersonView | None
    note: str | None
    entry_id: str
    created_at: str


class HistoryPageView(msgspec.Struct, frozen=True):
    items: list[HistoryItemView]
    next_cursor: str | None


# -- handlers -------------------------------------------------------------------------------------


def threaded(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """Run a blocking handler (it talks to the database) in a worker thread.

    An ``async def`` wrapper instead of ``sync_to_thread=True``: Litestar 2.25 registers every
    handler of a path that has several methods more than once, and wraps a sync handler anew
    each time, so the earlier handlers of such a path answered with an un-awaited coroutine.
    """

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await sync_to_thread(fn, *args, **kwargs)

    return run


# -- parsing --------------------------------------------------------------------------------------


def currency_of(currencies: CurrencyCatalog, code: str) -> Currency:
    return currencies.get(code)


def money_of(currencies: CurrencyCatalog, body: MoneyBody, *, allow_zero: bool = False) -> Money:
    """A strict amount: the currency must exist and the digits fit its precision."""
    return parse_amount(body.amount, currencies.get(body.currency), allow_zero=allow_zero)


def recipient_of(body: ToBody) -> RecipientRef:
    named = [
        (kind, value)
        for kind, value in (
            (RecipientKind.HANDLE, body.handle),
            (RecipientKind.EMAIL, body.email),
            (RecipientKind.PHONE, body.phone),
        )
        if value is not None
    ]
    if len(named) != 1:
        raise InvalidPayment(reason="name the recipient by exactly one of handle, email or phone")
    return RecipientRef(*named[0])


def view(value: object, kind: type[Any]) -> Any:
    """A service's JSON-ready dict as a typed view (and checked against its schema)."""
    return msgspec.convert(value, kind)
