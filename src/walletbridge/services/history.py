"""Wallet history: the customer's own view of every movement, filtered, paged by an opaque cursor
over (created_at_us, id), one item in detail, and exported as CSV.

The CSV export is UTF-8 with a byte-order mark (spreadsheets then read it as UTF-8), a header row,
and every cell that a spreadsheet would treat as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) neutralised with a leading apostrophe, so a hostile note such as
``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from walletbridge.domain.actors import Actor, Scope
from walletbridge.domain.instants import iso_utc
from walletbridge.domain.money import Currency
from walletbridge.domain.payments import (
    Direction,
    HistoryId,
    HistoryItem,
    InvalidFilter,
    InvalidPayment,
    TransactionNotFound,
)
from walletbridge.ports import TransactionRunner, UnitOfWork
from walletbridge.ports.wallets import HistoryQuery
from walletbridge.services.payment_requests import decode_cursor, encode_cursor
from walletbridge.services.wallet_views import history_json

MAX_PAGE = 200
EXPORT_CHUNK = 500
MAX_EXPORT_ROWS = 100_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = (
    "id",
    "created_at",
    "type",
    "direction",
    "counterparty",
    "amount",
    "fee",
    "currency",
    "note",
    "transfer_id",
)


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What ``GET /transactions`` may filter by; amounts in minor units of ``currency``."""

    since_us: int | None = None
    until_us: int | None = None
    kind: str | None = None
    counterparty_handle: str | None = None
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None
    currency: str | None = None
    text: str | None = None
    direction: Direction | None = None
    """Money in or money out; None for both."""


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: tuple[dict[str, object], ...]
    next_cursor: str | None


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text, never evaluate."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


class HistoryService:
    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    def page(
        self,
        actor: Actor,
        where: HistoryFilter,
        *,
        cursor: str | None = None,
        limit: int = 50,
    ) -> HistoryPage:
        actor.require_scope(Scope.WALLET_READ)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidPayment(reason=f"a page holds 1 to {MAX_PAGE} items")
        before = decode_cursor(cursor) if cursor else None
        query = self._query(actor, where, limit + 1, before)
        rows, currencies = self._runner.read(lambda uow: self._read(uow, query))
        page = rows[:limit]
        more = len(rows) > limit
        return HistoryPage(
            tuple(history_json(item, currencies[item.currency]) for item in page),
            encode_cursor(page[-1].created_at_us, page[-1].id) if more else None,
        )

    def detail(self, actor: Actor, item_id: HistoryId) -> dict[str, object]:
        actor.require_scope(Scope.WALLET_READ)

        def read(uow: UnitOfWork) -> dict[str, object]:
            item = uow.wallets.history_item(actor.tenant_id, actor.user_id, item_id)
            if item is None:
                raise TransactionNotFound(transaction_id=str(item_id))
            currency = _currencies(uow, actor, [item])[item.currency]
            return history_json(item, currency)

        return self._runner.read(read)

    def export_csv(self, actor: Actor, where: HistoryFilter) -> Iterator[str]:
        """The filtered history as CSV text, chunk by chunk (BOM first)."""
        actor.require_scope(Scope.WALLET_READ)
        yield "\ufeff" + _csv_line(CSV_HEADER)
        before = None
        sent = 0
        while sent < MAX_EXPORT_ROWS:
            query = self._query(actor, where, EXPORT_CHUNK, before)
            rows, currencies = self._read_page(query)
            if not rows:
                return
            yield "".join(_csv_line(_csv_cells(item, currencies[item.currency])) for item in rows)
            sent += len(rows)
            if len(rows) < EXPORT_CHUNK:
                return
            before = (rows[-1].created_at_us, rows[-1].id)

    def _read_page(self, query: HistoryQuery) -> tuple[list[HistoryItem], dict[str, Currency]]:
        return self._runner.read(lambda uow: self._read(uow, query))

    @staticmethod
    def _query(actor: Actor, where: HistoryFilter, limit: int, before: object) -> HistoryQuery:
        if (
            where.min_amount_minor is not None
            and where.max_amount_minor is not None
            and where.min_amount_minor > where.max_amount_minor
        ):
            raise InvalidFilter(reason="min_amount is above max_amount")
        query = HistoryQuery(tenant_id=actor.tenant_id, user_id=actor.user_id, limit=limit)
        return replace(
            query,
            before=before,  # type: ignore[arg-type]
            since_us=where.since_us,
            until_us=where.until_us,
            kind=where.kind,
            counterparty_handle=where.counterparty_handle,
            min_amount_minor=where.min_amount_minor,
            max_amount_minor=where.max_amount_minor,
            currency=where.currency,
            text=where.text,
            direction=None if where.direction is None else where.direction.value,
        )

    @staticmethod
    def _read(
        uow: UnitOfWork, query: HistoryQuery
    ) -> tuple[list[HistoryItem], dict[str, Currency]]:
        rows = uow.wallets.history(query)
        return rows, {c.code: c for c in uow.wallets.currencies(query.tenant_id)}


def _currencies(uow: UnitOfWork, actor: Actor, items: list[HistoryItem]) -> dict[str, Currency]:
    return {c.code: c for c in uow.wallets.currencies(actor.tenant_id)}


def _csv_cells(item: HistoryItem, currency: Currency) -> list[str]:
    view = history_json(item, currency)
    amount = view["amount"]
    fee = view["fee"]
    assert isinstance(amount, dict) and isinstance(fee, dict)
    return [
        str(item.id),
        iso_utc(item.created_at_us),
        item.kind.value,
        item.direction.value,
        item.counterparty_handle or "",
        str(amount["amount"]),
        str(fee["amount"]),
        item.currency,
        item.note or "",
        str(item.transfer_id),
    ]


def _csv_line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in cells])
    return buffer.getvalue()
