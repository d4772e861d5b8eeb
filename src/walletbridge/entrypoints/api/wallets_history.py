"""Routes for the wallet history: the filtered list, one transaction, and the CSV export.

Filters: ``since``/``until`` (ISO 8601 date-time, or a date meaning that whole UTC day),
``type``, ``counterparty`` (handle), ``min_amount``/``max_amount`` (decimal strings, with
``currency``), ``currency`` and ``q`` (text in the note or the counterparty's handle).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.instants import micros_of
from walletbridge.domain.money import MoneyError, parse_amount
from walletbridge.domain.payments import Direction, HistoryId, InvalidFilter
from walletbridge.entrypoints.api.wallets_docs import (
    HISTORY_EXAMPLE,
    SECURITY,
    TAG_HISTORY,
    UNAUTHENTICATED,
    ok,
    problem,
)
from walletbridge.entrypoints.api.wallets_schemas import (
    HistoryItemView,
    HistoryPageView,
    threaded,
    view,
)
from walletbridge.ports import CurrencyCatalog
from walletbridge.services.history import HistoryFilter

V1 = "/api/v1"
NO_STORE = CacheControlHeader(no_store=True)
Text = Annotated[str | None, QueryParameter(max_length=100)]
Moment = Annotated[
    str | None,
    QueryParameter(max_length=40, description="ISO 8601 date-time (UTC if no offset) or a date."),
]
DirectionParameter = Annotated[
    Literal["in", "out"] | None,
    QueryParameter(description="`in` for money received, `out` for money sent; both if absent."),
]
FILTER_INVALID = problem(
    400, "filter-invalid", "The filter is not valid: min_amount needs currency."
)


def _moment_us(text: str, *, end: bool) -> int:
    """A date-time as microseconds; a date means its UTC day (its end for ``until``)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise InvalidFilter(reason=f"{text!r} is not an ISO 8601 date or date-time") from None
    return micros_of(moment)


def history_filter(
    currencies: CurrencyCatalog,
    *,
    since: str | None,
    until: str | None,
    type_: str | None,
    counterparty: str | None,
    min_amount: str | None,
    max_amount: str | None,
    currency: str | None,
    q: str | None,
    direction: str | None = None,
) -> HistoryFilter:
    amounts: list[int | None] = []
    for text in (min_amount, max_amount):
        if text is None:
            amounts.append(None)
            continue
        if currency is None:
            raise InvalidFilter(reason="an amount filter needs currency")
        try:
            amounts.append(
                parse_amount(text, currencies.get(currency), allow_zero=True).amount_minor
            )
        except MoneyError as error:
            raise InvalidFilter(reason=str(error)) from None
    return HistoryFilter(
        since_us=None if since is None else _moment_us(since, end=False),
        until_us=None if until is None else _moment_us(until, end=True),
        kind=type_,
        counterparty_handle=None
        if counterparty is None
        else counterparty.removeprefix("@").lower(),
        min_amount_minor=amounts[0],
        max_amount_minor=amounts[1],
        currency=currency,
        text=q or None,
        direction=None if direction is None else Direction(direction),
    )


def history_routes(container: Container) -> list[HTTPRouteHandler]:
    history, currencies = container.wallets.history, container.currencies
    common: dict[str, Any] = {
        "security": SECURITY,
        "tags": [TAG_HISTORY],
        "cache_control": NO_STORE,
    }

    def where(
        since: str | None,
        until: str | None,
        type_: str | None,
        counterparty: str | None,
        min_amount: str | None,
        max_amount: str | None,
        currency: str | None,
        q: str | None,
        direction: str | None,
    ) -> HistoryFilter:
        return history_filter(
            currencies,
            since=since,
            until=until,
            type_=type_,
            counterparty=counterparty,
            min_amount=min_amount,
            max_amount=max_amount,
            currency=currency,
            q=q,
            direction=direction,
        )

    @get(
        f"{V1}/transactions",
        summary="List my transactions",
        description="The caller's wallet history, newest first, filtered; pages with `cursor` "
        "(the previous page's `next_cursor`).",
        responses={
            200: ok(HistoryPageView, {"items": [HISTORY_EXAMPLE], "next_cursor": None}, "A page"),
            400: FILTER_INVALID,
            401: UNAUTHENTICATED,
        },
        **common,
    )
    @threaded
    def list_transactions(
        actor: NamedDependency[Actor],
        since: Moment = None,
        until: Moment = None,
        type_: Annotated[
            Literal["p2p", "request", "top-up"] | None, QueryParameter(name="type")
        ] = None,
        counterparty: Text = None,
        min_amount: Annotated[str | None, QueryParameter(max_length=40)] = None,
        max_amount: Annotated[str | None, QueryParameter(max_length=40)] = None,
        currency: Annotated[str | None, QueryParameter(max_length=3)] = None,
        q: Text = None,
        direction: DirectionParameter = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> HistoryPageView:
        chosen = where(
            since, until, type_, counterparty, min_amount, max_amount, currency, q, direction
        )
        page = history.page(actor, chosen, cursor=cursor, limit=limit)
        return view({"items": list(page.items), "next_cursor": page.next_cursor}, HistoryPageView)  # type: ignore[no-any-return]

    @get(
        f"{V1}/transactions/export.csv",
        summary="Export my transactions as CSV",
        description="The same filters as the list, all pages, as CSV: UTF-8 with a byte-order "
        "mark, a header row, and cells that a spreadsheet would run as a formula (starting with "
        "= + - @, tab or carriage return) prefixed with an apostrophe.",
        media_type="text/csv",
        responses={
            200: ok(
                str,
                "id,created_at,type,direction,counterparty,amount,fee,currency,note,transfer_id\r\n",
                "The CSV file",
                media_type="text/csv",
            ),
            400: FILTER_INVALID,
            401: UNAUTHENTICATED,
        },
        **common,
    )
    @threaded
    def export_transactions(
        actor: NamedDependency[Actor],
        since: Moment = None,
        until: Moment = None,
        type_: Annotated[
            Literal["p2p", "request", "top-up"] | None, QueryParameter(name="type")
        ] = None,
        counterparty: Text = None,
        min_amount: Annotated[str | None, QueryParameter(max_length=40)] = None,
        max_amount: Annotated[str | None, QueryParameter(max_length=40)] = None,
        currency: Annotated[str | None, QueryParameter(max_length=3)] = None,
        q: Text = None,
        direction: DirectionParameter = None,
    ) -> Response[bytes]:
        chosen = where(
            since, until, type_, counterparty, min_amount, max_amount, currency, q, direction
        )
        text = "".join(history.export_csv(actor, chosen))
        return Response(
            text.encode("utf-8"),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
        )

    @get(
        f"{V1}/transactions/{{transaction_id:uuid}}",
        summary="Show one of my transactions",
        description="One line of the caller's history; anyone else's is not found.",
        responses={
            200: ok(HistoryItemView, HISTORY_EXAMPLE, "The transaction"),
            401: UNAUTHENTICATED,
            404: problem(404, "transaction-not-found", "Transaction 0194... does not exist."),
        },
        **common,
    )
    @threaded
    def show_transaction(
        actor: NamedDependency[Actor], transaction_id: FromPath[uuid.UUID]
    ) -> HistoryItemView:
        found = history.detail(actor, HistoryId(transaction_id))
        return view(found, HistoryItemView)  # type: ignore[no-any-return]

    return [list_transactions, export_transactions, show_transaction]
