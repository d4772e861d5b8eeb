"""Persistence of the wallet's records: history lines, requests to pay and payees (the
``WalletStore`` methods that ``SqlWalletStore`` takes from here).

Every read of history and payees names its owner (``user_id``/``owner_id`` in the WHERE clause).
A request to pay changes state by a conditional UPDATE (``status = 'pending'`` and the acting
party), whose row lock serialises two concurrent accepts.

Hot-path statements (a payment's history rows, outbox message, audit record, stored response,
limit usage, throttle count) are raw DBAPI text built once at import (``execute``), skipping
SQLAlchemy's compiler; psycopg prepares them server-side once they repeat. A payment may also
``defer_writes``: its write-only statements then wait in a queue of this connection checkout and
go out in one psycopg pipeline with the next statement that runs (``execute``) or with COMMIT
(``flush``), so they cost no round trip of their own. SQLite runs every statement at once, in
order.
"""

from __future__ import annotations

import re
import uuid
import weakref
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from walletbridge.adapters.db.engine import BEGIN_PENDING, driver_connection, pay_pending_begin
from walletbridge.adapters.db.tables_wallets import payees, payment_requests, wallet_history
from walletbridge.domain.actors import UserId
from walletbridge.domain.ledger import EntryId, TenantId
from walletbridge.domain.payments import (
    Direction,
    HistoryId,
    HistoryItem,
    HistoryKind,
    Payee,
    PayeeId,
    PaymentRequest,
    RequestId,
    RequestStatus,
    TransferId,
)
from walletbridge.ports.wallets import HistoryQuery, RequestQuery


def upsert(connection: Connection, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


_PYFORMAT = re.compile(r"%\((\w+)\)s")
_DEFERRED: weakref.WeakKeyDictionary[Connection, list[tuple[str, Mapping[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


@lru_cache(maxsize=256)
def _dialect_sql(text: str, postgres: bool) -> str:
    """psycopg takes ``%(name)s`` parameters; sqlite3 takes ``:name``."""
    return text if postgres else _PYFORMAT.sub(r":\1", text)


def execute(connection: Connection, text: str, params: Mapping[str, Any]) -> Any:
    """Run one raw statement (``%(name)s`` parameters) now; returns the DBAPI cursor. Writes
    deferred so far go first, in the same round trip, so statements keep their order."""
    raw = driver_connection(connection)
    postgres = connection.dialect.name == "postgresql"
    if not postgres:
        cursor = raw.cursor()
        cursor.execute(_dialect_sql(text, False), params)
        return cursor
    pending = _DEFERRED.get(connection)
    in_pipeline = raw.pgconn.pipeline_status != 0
    with nullcontext() if in_pipeline or not pending else raw.pipeline():
        pay_pending_begin(connection, raw)
        if pending:
            queued = raw.cursor()
            for deferred, deferred_params in pending:
                queued.execute(deferred, deferred_params)
            pending.clear()
        cursor = raw.cursor()
        cursor.execute(text, params)
    return cursor


def write(connection: Connection, text: str, params: Mapping[str, Any]) -> None:
    """Run a statement whose result nobody reads: queued while writes are deferred."""
    pending = _DEFERRED.get(connection)
    if pending is None:
        execute(connection, text, params)
    else:
        pending.append((text, params))


def defer_writes(connection: Connection) -> None:
    """Queue ``write`` statements until ``flush`` (PostgreSQL; SQLite runs them at once). The
    queue belongs to this connection checkout only, so a transaction that fails before its
    flush leaves nothing behind for the next one."""
    if connection.dialect.name == "postgresql":
        _DEFERRED[connection] = []


def flush(connection: Connection, *, commit: bool = False) -> None:
    """Send the queued statements (and, with ``commit``, COMMIT) in one pipeline."""
    pending = _DEFERRED.pop(connection, None)
    if connection.dialect.name != "postgresql":
        if commit:
            connection.commit()
        return
    raw = driver_connection(connection)
    if not pending and not commit:
        return
    # Deferred writes only ever belong to an open transaction: never let one autocommit.
    open_transaction = raw.info.transaction_status != 0 or BEGIN_PENDING in connection.info
    assert not pending or open_transaction, "writes deferred past their transaction's COMMIT"
    with raw.pipeline():
        pay_pending_begin(connection, raw)
        cursor = raw.cursor()
        for text, params in pending or []:
            cursor.execute(text, params)
        if commit:
            raw.execute("COMMIT")


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class WalletRecords:
    connection: Connection

    # -- history ------------------------------------------------------------------------------

    def insert_history(self, items: Sequence[HistoryItem]) -> None:
        if not items:
            return
        params: dict[str, Any] = {}
        for i, item in enumerate(items):
            params |= {
                f"id{i}": item.id,
                f"t{i}": item.tenant_id,
                f"u{i}": item.user_id,
                f"tr{i}": item.transfer_id,
                f"k{i}": item.kind.value,
                f"d{i}": item.direction.value,
                f"cu{i}": item.counterparty_user_id,
                f"ch{i}": item.counterparty_handle,
                f"c{i}": item.currency,
                f"a{i}": item.amount_minor,
                f"f{i}": item.fee_minor,
                f"n{i}": item.note,
                f"e{i}": item.entry_id,
                f"at{i}": item.created_at_us,
            }
        write(self.connection, _history_insert(len(items)), params)

    def history(self, query: HistoryQuery) -> list[HistoryItem]:
        h = wallet_history.c
        clauses: list[Any] = [h.tenant_id == query.tenant_id, h.user_id == query.user_id]
        if query.before is not None:
            at, item_id = query.before
            clauses.append(or_(h.created_at_us < at, and_(h.created_at_us == at, h.id < item_id)))
        if query.since_us is not None:
            clauses.append(h.created_at_us >= query.since_us)
        if query.until_us is not None:
            clauses.append(h.created_at_us < query.until_us)
        if query.kind is not None:
            clauses.append(h.kind == query.kind)
        if query.direction is not None:
            clauses.append(h.direction == query.direction)
        if query.counterparty_handle is not None:
            clauses.append(h.counterparty_handle == query.counterparty_handle)
        if query.min_amount_minor is not None:
            clauses.append(h.amount_minor >= query.min_amount_minor)
        if query.max_amount_minor is not None:
            clauses.append(h.amount_minor <= query.max_amount_minor)
        if query.currency is not None:
            clauses.append(h.currency == query.currency)
        if query.text:
            pattern = like_pattern(query.text.lower())
            clauses.append(
                or_(
                    func.lower(h.note).like(pattern, escape="\\"),
                    h.counterparty_handle.like(pattern, escape="\\"),
                )
            )
        rows = self.connection.execute(
            select(wallet_history)
            .where(*clauses)
            .order_by(h.created_at_us.desc(), h.id.desc())
            .limit(query.limit)
        )
        return [_history_item(row) for row in rows]

    def history_item(
        self, tenant_id: TenantId, user_id: UserId, item_id: HistoryId
    ) -> HistoryItem | None:
        h = wallet_history.c
        row = self.connection.execute(
            select(wallet_history).where(
                h.tenant_id == tenant_id, h.user_id == user_id, h.id == item_id
            )
        ).first()
        return _history_item(row) if row else None

    def history_of_entry(
        self, tenant_id: TenantId, user_id: UserId, entry_id: EntryId
    ) -> HistoryItem | None:
        h = wallet_history.c
        row = self.connection.execute(
            select(wallet_history).where(
                h.tenant_id == tenant_id, h.user_id == user_id, h.entry_id == entry_id
            )
        ).first()
        return _history_item(row) if row else None

    def history_of_transfer(
        self, tenant_id: TenantId, user_id: UserId, transfer_id: TransferId
    ) -> HistoryItem | None:
        h = wallet_history.c
        row = self.connection.execute(
            select(wallet_history).where(
                h.tenant_id == tenant_id, h.user_id == user_id, h.transfer_id == transfer_id
            )
        ).first()
        return _history_item(row) if row else None

    # -- requests to pay ----------------------------------------------------------------------

    def insert_request(self, request: PaymentRequest) -> None:
        self.connection.execute(
            payment_requests.insert().values(
                id=request.id,
                tenant_id=request.tenant_id,
                requester_id=request.requester_id,
                requester_handle=request.requester_handle,
                payer_id=request.payer_id,
                payer_handle=request.payer_handle,
                currency=request.currency,
                amount_minor=request.amount_minor,
                note=request.note,
                status=request.status.value,
                transfer_id=request.transfer_id,
                created_at_us=request.created_at_us,
                updated_at_us=request.updated_at_us,
            )
        )

    def request(self, tenant_id: TenantId, request_id: RequestId) -> PaymentRequest | None:
        r = payment_requests.c
        row = self.connection.execute(
            select(payment_requests).where(r.tenant_id == tenant_id, r.id == request_id)
        ).first()
        return _request(row) if row else None

    def requests(self, query: RequestQuery) -> list[PaymentRequest]:
        r = payment_requests.c
        party = r.payer_id if query.incoming else r.requester_id
        clauses: list[Any] = [r.tenant_id == query.tenant_id, party == query.user_id]
        if query.status is not None:
            clauses.append(r.status == query.status.value)
        if query.before is not None:
            at, request_id = query.before
            clauses.append(
                or_(r.created_at_us < at, and_(r.created_at_us == at, r.id < request_id))
            )
        rows = self.connection.execute(
            select(payment_requests)
            .where(*clauses)
            .order_by(r.created_at_us.desc(), r.id.desc())
            .limit(query.limit)
        )
        return [_request(row) for row in rows]

    def finish_request(
        self,
        tenant_id: TenantId,
        request_id: RequestId,
        *,
        party_id: UserId,
        as_payer: bool,
        status: RequestStatus,
        transfer_id: TransferId | None,
        now_us: int,
    ) -> PaymentRequest | None:
        r = payment_requests.c
        party = r.payer_id if as_payer else r.requester_id
        row = self.connection.execute(
            update(payment_requests)
            .where(
                r.tenant_id == tenant_id,
                r.id == request_id,
                party == party_id,
                r.status == RequestStatus.PENDING.value,
            )
            .values(status=status.value, transfer_id=transfer_id, updated_at_us=now_us)
            .returning(*payment_requests.c)
        ).first()
        return _request(row) if row else None

    # -- payees -------------------------------------------------------------------------------

    def insert_payee(self, payee: Payee) -> bool:
        statement = upsert(self.connection, payees).values(
            id=payee.id,
            tenant_id=payee.tenant_id,
            owner_id=payee.owner_id,
            payee_user_id=payee.payee_user_id,
            nickname=payee.nickname,
            created_at_us=payee.created_at_us,
        )
        result = self.connection.execute(
            statement.on_conflict_do_nothing(
                index_elements=["tenant_id", "owner_id", "payee_user_id"]
            ).returning(payees.c.id)
        )
        return result.first() is not None

    def payees(self, tenant_id: TenantId, owner_id: UserId) -> list[Payee]:
        p = payees.c
        rows = self.connection.execute(
            select(payees)
            .where(p.tenant_id == tenant_id, p.owner_id == owner_id)
            .order_by(p.nickname, p.id)
        )
        return [_payee(row) for row in rows]

    def payee(self, tenant_id: TenantId, owner_id: UserId, payee_id: PayeeId) -> Payee | None:
        p = payees.c
        row = self.connection.execute(
            select(payees).where(p.tenant_id == tenant_id, p.owner_id == owner_id, p.id == payee_id)
        ).first()
        return _payee(row) if row else None

    def rename_payee(
        self, tenant_id: TenantId, owner_id: UserId, payee_id: PayeeId, nickname: str
    ) -> bool:
        p = payees.c
        result = self.connection.execute(
            update(payees)
            .where(p.tenant_id == tenant_id, p.owner_id == owner_id, p.id == payee_id)
            .values(nickname=nickname)
        )
        return bool(result.rowcount)

    def delete_payee(self, tenant_id: TenantId, owner_id: UserId, payee_id: PayeeId) -> bool:
        p = payees.c
        result = self.connection.execute(
            delete(payees).where(p.tenant_id == tenant_id, p.owner_id == owner_id, p.id == payee_id)
        )
        return bool(result.rowcount)


@lru_cache(maxsize=16)
def _history_insert(count: int) -> str:
    """One INSERT of ``count`` history rows."""
    rows = ", ".join(
        f"(%(id{i})s, %(t{i})s, %(u{i})s, %(tr{i})s, %(k{i})s, %(d{i})s, %(cu{i})s, "
        f"%(ch{i})s, %(c{i})s, %(a{i})s, %(f{i})s, %(n{i})s, %(e{i})s, %(at{i})s)"
        for i in range(count)
    )
    return (
        "INSERT INTO wallet_history (id, tenant_id, user_id, transfer_id, kind, direction, "
        "counterparty_user_id, counterparty_handle, currency, amount_minor, fee_minor, note, "
        f"entry_id, created_at_us) VALUES {rows}"
    )


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _history_item(row: Any) -> HistoryItem:
    m = row._mapping
    return HistoryItem(
        id=HistoryId(_uuid(m["id"])),
        tenant_id=TenantId(m["tenant_id"]),
        user_id=UserId(m["user_id"]),
        transfer_id=TransferId(_uuid(m["transfer_id"])),
        kind=HistoryKind(m["kind"]),
        direction=Direction(m["direction"]),
        counterparty_user_id=m["counterparty_user_id"],
        counterparty_handle=m["counterparty_handle"],
        currency=m["currency"],
        amount_minor=int(m["amount_minor"]),
        fee_minor=int(m["fee_minor"]),
        note=m["note"],
        entry_id=EntryId(_uuid(m["entry_id"])),
        created_at_us=int(m["created_at_us"]),
    )


def _request(row: Any) -> PaymentRequest:
    m = row._mapping
    return PaymentRequest(
        id=RequestId(_uuid(m["id"])),
        tenant_id=TenantId(m["tenant_id"]),
        requester_id=UserId(m["requester_id"]),
        requester_handle=m["requester_handle"],
        payer_id=UserId(m["payer_id"]),
        payer_handle=m["payer_handle"],
        currency=m["currency"],
        amount_minor=int(m["amount_minor"]),
        note=m["note"],
        status=RequestStatus(m["status"]),
        transfer_id=None if m["transfer_id"] is None else TransferId(_uuid(m["transfer_id"])),
        created_at_us=int(m["created_at_us"]),
        updated_at_us=int(m["updated_at_us"]),
    )


def _payee(row: Any) -> Payee:
    m = row._mapping
    return Payee(
        id=PayeeId(_uuid(m["id"])),
        tenant_id=TenantId(m["tenant_id"]),
        owner_id=UserId(m["owner_id"]),
        payee_user_id=UserId(m["payee_user_id"]),
        nickname=m["nickname"],
        created_at_us=int(m["created_at_us"]),
    )
