"""The person's transaction history: ``/history`` (filtered, paged), ``/history/export.csv`` (the
same filters, every page, as CSV) and one transaction in detail (``/history/{id}``, and
``/history/transfer/{transfer_id}`` which the live feed links to).

The filters are exactly what ``HistoryFilter`` supports: type, currency, counterparty, amount
range (in a chosen currency), dates and free text (note or counterparty). Dates are whole days in
the zone the page shows times in, so a day in the filter is the same day the list prints. Paging
uses the service's opaque cursor ("Older" carries it, with the filters, in the link).

A transaction that is not the person's is "not found" exactly like one that does not exist: the
same 404 page, whichever it was. The detail page shows the counterparty's name masked
(``mask_name``), as the other money pages do: paying a typed phone number a cent must not reveal
whose it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.instants import micros_of, parse_iso_utc
from walletbridge.domain.money import MoneyError, parse_amount
from walletbridge.domain.payments import (
    Direction,
    HistoryId,
    InvalidFilter,
    TransactionNotFound,
    TransferId,
    TransferNotFound,
)
from walletbridge.entrypoints.web.context import Msg, Visitor, page, translate
from walletbridge.entrypoints.web.forms import Form
from walletbridge.entrypoints.web.i18n import Formatter
from walletbridge.entrypoints.web.money_forms import mask_name
from walletbridge.ports import CurrencyCatalog
from walletbridge.services.history import HistoryFilter

PAGE_SIZE = 25
FILTER_FIELDS = (
    "q",
    "direction",
    "type",
    "currency",
    "counterparty",
    "min_amount",
    "max_amount",
    "from",
    "to",
)
DIRECTIONS = (("in", Msg("Money in")), ("out", Msg("Money out")))
TYPES = (("p2p", Msg("Payments")), ("request", Msg("Paid requests")), ("top-up", Msg("Top-ups")))
KIND_LABELS = {
    "p2p": Msg("Payment"),
    "request": Msg("Payment for a request"),
    "top-up": Msg("Top-up"),
}
STATUS_LABELS = {"completed": Msg("Completed")}
MAX_TEXT = 100


@dataclass(frozen=True)
class HistoryLine:
    """One line of the history as the pages show it, in the page's language."""

    id: str
    transfer_id: str
    incoming: bool
    title: str
    kind_label: str
    direction_label: str
    change: str
    amount: str
    fee: str
    has_fee: bool
    handle: str | None
    note: str | None
    created_at: str
    entry_id: str


def history_line(item: dict[str, Any], locale: str) -> HistoryLine:
    fmt = Formatter(locale)
    incoming = item["direction"] == "in"
    kind = str(item["type"])
    counterparty = item.get("counterparty") or {}
    handle = f"@{counterparty['handle']}" if counterparty.get("handle") else None
    kind_label = translate(locale, KIND_LABELS.get(kind) or Msg("Transaction"))
    if handle is None:
        title = kind_label
    elif incoming:
        title = translate(locale, "From {who}", who=handle)
    else:
        title = translate(locale, "To {who}", who=handle)
    change = item["balance_change"]
    shown = fmt.decimal_amount(change["amount"], change["currency"])
    fee = item["fee"]
    return HistoryLine(
        id=str(item["id"]),
        transfer_id=str(item["transfer_id"]),
        incoming=incoming,
        title=title,
        kind_label=kind_label,
        direction_label=translate(locale, "Money in" if incoming else "Money out"),
        change=shown if shown.startswith("-") else f"+{shown}",
        amount=fmt.decimal_amount(item["amount"]["amount"], item["amount"]["currency"]),
        fee=fmt.decimal_amount(fee["amount"], fee["currency"]),
        has_fee=Decimal(fee["amount"]) != 0,
        handle=handle,
        note=item.get("note"),
        created_at=str(item["created_at"]),
        entry_id=str(item["entry_id"]),
    )


def recent_lines(container: Container, actor: Actor, locale: str, limit: int) -> list[HistoryLine]:
    found = container.wallets.history.page(actor, HistoryFilter(), limit=limit)
    return [history_line(item, locale) for item in found.items]


def account_currencies(container: Container, actor: Actor) -> list[str]:
    _, balances = container.wallets.balances(actor)
    return sorted({b.account.currency for b in balances})


def _day_start_us(day: date, zone: ZoneInfo) -> int:
    return micros_of(datetime(day.year, day.month, day.day, tzinfo=zone))


def _day(form: Form, name: str) -> date | None:
    """The day typed into ``name`` (YYYY-MM-DD, as a date input sends it), or None."""
    text = form.get(name)
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    form.error(name, Msg("Enter a date such as 2026-01-31."))
    return None


def _amount_minor(form: Form, name: str, currencies: CurrencyCatalog) -> int | None:
    text, code = form.get(name), form.get("currency")
    if not text:
        return None
    if not code:
        form.error("currency", Msg("Choose a currency to filter by amount."))
        return None
    try:
        return parse_amount(text, currencies.get(code), allow_zero=True).amount_minor
    except MoneyError as error:
        form.fail(error, name)
        return None


def read_filter(
    form: Form, offered: list[str], currencies: CurrencyCatalog, fmt: Formatter
) -> HistoryFilter | None:
    """The filter the form describes, or None with the form's errors set."""
    kind, code = form.get("type"), form.get("currency")
    direction = form.get("direction")
    if kind and kind not in dict(TYPES):
        form.error("type", Msg("Choose a type from the list."))
    if direction and direction not in dict(DIRECTIONS):
        form.error("direction", Msg("Choose money in or money out."))
    if code and code not in offered:
        form.error("currency", Msg("Choose a currency from the list."))
    for name in ("q", "counterparty"):
        if len(form.get(name)) > MAX_TEXT:
            form.error(name, Msg("Use at most {n} characters.", {"n": MAX_TEXT}))
    first, last = _day(form, "from"), _day(form, "to")
    if first and last and last < first:
        form.error("to", Msg("The end date is before the start date."))
    low = _amount_minor(form, "min_amount", currencies) if form.ok else None
    high = _amount_minor(form, "max_amount", currencies) if form.ok else None
    if low is not None and high is not None and high < low:
        form.error("max_amount", Msg("The maximum is below the minimum."))
    if not form.ok:
        return None
    handle = form.get("counterparty").removeprefix("@").lower()
    return HistoryFilter(
        since_us=_day_start_us(first, fmt.zone) if first else None,
        until_us=_day_start_us(last + timedelta(days=1), fmt.zone) if last else None,
        kind=kind or None,
        counterparty_handle=handle or None,
        min_amount_minor=low,
        max_amount_minor=high,
        currency=code or None,
        text=form.get("q") or None,
        direction=Direction(direction) if direction else None,
    )


def filter_query(form: Form, **extra: str) -> str:
    """The filters of ``form`` (the ones filled in) as a query string, plus ``extra``."""
    values = {name: form.get(name) for name in FILTER_FIELDS if form.get(name)}
    return urlencode({**values, **extra})


def routes(container: Container) -> list[HTTPRouteHandler]:
    return [*_list_routes(container), *_detail_routes(container)]


def _filtered(
    container: Container, visitor: Visitor, actor: Actor
) -> tuple[Form, list[str], HistoryFilter | None]:
    """The filter form as the query string fills it, the currencies offered, and the filter
    (None when the form has errors)."""
    query = visitor.request.query_params.dict()
    form = Form.of({name: query[name] for name in (*FILTER_FIELDS, "cursor") if name in query})
    offered = account_currencies(container, actor)
    return form, offered, read_filter(form, offered, container.currencies, visitor.fmt)


def _listing(visitor: Visitor, form: Form, offered: list[str], **values: Any) -> Template:
    return page(
        visitor,
        "history.html",
        status=200 if form.ok else 400,
        form=form,
        translated_types=[(value, translate(visitor.locale, label)) for value, label in TYPES],
        directions=[(value, translate(visitor.locale, label)) for value, label in DIRECTIONS],
        currency_options=[(code, code) for code in offered],
        query=filter_query(form),
        **{"lines": [], "older": None, "paged": False, "notice": None, **values},
    )


def _list_routes(container: Container) -> list[HTTPRouteHandler]:
    history = container.wallets.history

    @get("/history", sync_to_thread=True)
    def show_history(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        form, offered, where = _filtered(container, visitor, actor)
        if where is None:
            return _listing(visitor, form, offered)
        cursor, notice = form.get("cursor")[:200] or None, None
        try:
            found = history.page(actor, where, cursor=cursor, limit=PAGE_SIZE)
        except InvalidFilter:
            # Only the cursor can be wrong here (the form checked the rest): start again.
            notice = Msg("That page link has expired. Showing the newest transactions.")
            cursor, found = None, history.page(actor, where, limit=PAGE_SIZE)
        older = found.next_cursor
        return _listing(
            visitor,
            form,
            offered,
            lines=[history_line(item, visitor.locale) for item in found.items],
            older=f"/history?{filter_query(form, cursor=older)}" if older else None,
            paged=cursor is not None,
            notice=notice,
        )

    @get("/history/export.csv", sync_to_thread=True)
    def export(visitor: NamedDependency[Visitor]) -> Stream | Template:
        actor = visitor.member()
        form, offered, where = _filtered(container, visitor, actor)
        if where is None:
            return _listing(visitor, form, offered)
        return Stream(
            history.export_csv(actor, where),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text/* types
            headers={
                "Content-Disposition": 'attachment; filename="transactions.csv"',
                "Cache-Control": "no-store",
            },
        )

    return [show_history, export]


def _detail_routes(container: Container) -> list[HTTPRouteHandler]:
    history, payments = container.wallets.history, container.wallets.payments

    @get("/history/{item_id:uuid}", sync_to_thread=True)
    def detail(visitor: NamedDependency[Visitor], item_id: FromPath[uuid.UUID]) -> Template:
        actor = visitor.member()
        try:
            item = history.detail(actor, HistoryId(item_id))
        except TransactionNotFound:
            raise NotFoundException() from None
        line = history_line(item, visitor.locale)
        try:
            transfer = payments.transfer_detail(actor, TransferId(uuid.UUID(line.transfer_id)))
        except TransferNotFound:
            transfer = {}
        counterparty = transfer.get("counterparty") or {}
        assert isinstance(counterparty, dict)
        status = str(transfer.get("status") or "completed")
        return page(
            visitor,
            "history_detail.html",
            line=line,
            # Masked as everywhere else: a payment to a typed contact must not reveal the name.
            counterparty_name=mask_name(str(counterparty.get("display_name") or "")),
            status_label=translate(visitor.locale, STATUS_LABELS.get(status) or status),
        )

    @get("/history/transfer/{transfer_id:uuid}", sync_to_thread=True)
    def by_transfer(
        visitor: NamedDependency[Visitor], transfer_id: FromPath[uuid.UUID]
    ) -> Redirect:
        actor = visitor.member()
        try:
            transfer = payments.transfer_detail(actor, TransferId(transfer_id))
        except TransferNotFound:
            raise NotFoundException() from None
        # The history line of a transfer has the transfer's instant: look in that microsecond.
        at_us = parse_iso_utc(str(transfer["created_at"]))
        where = HistoryFilter(since_us=at_us, until_us=at_us + 1)
        for item in history.page(actor, where, limit=200).items:
            if item["transfer_id"] == str(transfer_id):
                return Redirect(path=f"/history/{item['id']}", status_code=303)
        raise NotFoundException()

    return [detail, by_transfer]
