"""The ledger's SQL adapter: posts entries with as few round trips as the engine allows.

A posting writes, in this order: the postings, the entry row (whose insert trigger refuses an
unbalanced entry and whose unique key catches a replayed idempotency key before any balance is
touched), then one conditional balance update per account in ascending (account, shard) order.
Floors and ceilings are CHECK constraints on the balance row, so the update itself is the balance
check: there is no read-then-write in Python, and the fixed lock order rules out deadlocks between
ledger transactions.

On PostgreSQL the statements go out in one psycopg pipeline, so a transfer costs one round trip
(with ``commit=True``, COMMIT included). SQLite runs the same statements one by one inside
``BEGIN IMMEDIATE``.

Hot accounts are split into shards: a credit lands on one shard chosen at random, so busy payees
do not serialise transfers; a debit from a sharded account locks all its shards in order and
checks the floor against their sum.
"""

from __future__ import annotations

import random
import re
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from walletbridge.adapters.db.engine import driver_connection, pay_pending_begin
from walletbridge.domain.errors import (
    AccountNotFound,
    CeilingExceeded,
    DomainError,
    EntryAlreadyReversed,
    InsufficientFunds,
    InvalidAccount,
    UnbalancedEntry,
)
from walletbridge.domain.ledger import (
    Account,
    AccountId,
    AccountKind,
    Balance,
    Entry,
    EntryDraft,
    EntryId,
    EntryKind,
    Hold,
    HoldId,
    HoldStatus,
    NormalSide,
    Posting,
    TenantId,
)
from walletbridge.ports import DuplicateHoldKey, DuplicateIdempotencyKey

_PYFORMAT = re.compile(r"%\((\w+)\)s")
_UUID_IN_TEXT = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


@dataclass(frozen=True, slots=True)
class _BalanceChange:
    account_id: AccountId
    sharded: bool
    shard: int
    posted_delta: int
    pending_delta: int

    @property
    def order(self) -> tuple[uuid.UUID, int]:
        return (self.account_id, self.shard)


ACCOUNT_COLUMNS = (
    "id, tenant_id, currency, kind, normal_side, shard_count, floor_minor, ceiling_minor, "
    "code, owner_ref"
)
HOLD_COLUMNS = (
    "id, tenant_id, debit_account_id, credit_account_id, currency, amount_minor, status, "
    "expires_at_us, captured_minor, capture_entry_id"
)


class SqlLedgerStore:
    """``LedgerStore`` over one SQLAlchemy connection that is inside a transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._pg = connection.dialect.name == "postgresql"
        self._raw = driver_connection(connection)

    # -- statement plumbing -------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text if self._pg else _PYFORMAT.sub(r":\1", text)

    def _execute(self, text: str, params: Mapping[str, Any]) -> Any:
        if self._pg:
            pay_pending_begin(self._connection, self._raw)
        cursor = self._raw.cursor()
        cursor.execute(self._sql(text), params)
        return cursor

    def _rows(self, text: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return list(self._execute(text, params).fetchall())

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Pipeline the statements on PostgreSQL: one network round trip for all of them."""
        with self._raw.pipeline() if self._pg else nullcontext():
            yield

    # -- accounts -----------------------------------------------------------------------------

    def insert_account(self, account: Account, created_at_us: int) -> None:
        try:
            self._insert_account(account, created_at_us)
        except Exception as error:
            raise self._translate(error, account.id) from error

    def _insert_account(self, account: Account, created_at_us: int) -> None:
        self._execute(
            "INSERT INTO accounts (id, tenant_id, currency, kind, normal_side, shard_count, "
            "floor_minor, ceiling_minor, code, owner_ref, created_at_us) VALUES (%(id)s, "
            "%(tenant)s, %(currency)s, %(kind)s, %(side)s, %(shards)s, %(floor)s, %(ceiling)s, "
            "%(code)s, %(owner)s, %(now)s)",
            {
                "id": account.id,
                "tenant": account.tenant_id,
                "currency": account.currency,
                "kind": account.kind.value,
                "side": account.normal_side.value,
                "shards": account.shard_count,
                "floor": account.floor_minor,
                "ceiling": account.ceiling_minor,
                "code": account.code,
                "owner": account.owner_ref,
                "now": created_at_us,
            },
        )
        for shard in range(account.shard_count):
            # A sharded account keeps its floor on the account row and checks it under lock;
            # an ordinary one copies it onto its single balance row for the CHECK constraint.
            enforce = not account.is_sharded
            self._execute(
                "INSERT INTO account_balances (account_id, shard, tenant_id, currency, "
                "posted_minor, pending_minor, floor_minor, ceiling_minor) VALUES (%(id)s, "
                "%(shard)s, %(tenant)s, %(currency)s, 0, 0, %(floor)s, %(ceiling)s)",
                {
                    "id": account.id,
                    "shard": shard,
                    "tenant": account.tenant_id,
                    "currency": account.currency,
                    "floor": account.floor_minor if enforce else None,
                    "ceiling": account.ceiling_minor if enforce else None,
                },
            )

    def account(self, tenant_id: TenantId, account_id: AccountId) -> Account | None:
        rows = self._rows(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = %(id)s AND tenant_id = %(t)s",
            {"id": account_id, "t": tenant_id},
        )
        return _account(rows[0]) if rows else None

    def account_by_code(self, tenant_id: TenantId, code: str) -> Account | None:
        rows = self._rows(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = %(t)s AND code = %(code)s",
            {"t": tenant_id, "code": code},
        )
        return _account(rows[0]) if rows else None

    def accounts_of_owner(self, tenant_id: TenantId, owner_ref: str) -> list[Account]:
        rows = self._rows(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = %(t)s "
            "AND owner_ref = %(o)s ORDER BY currency, id",
            {"t": tenant_id, "o": owner_ref},
        )
        return [_account(row) for row in rows]

    def set_limits(
        self, account: Account, floor_minor: int | None, ceiling_minor: int | None
    ) -> None:
        params = {"id": account.id, "floor": floor_minor, "ceiling": ceiling_minor}
        self._execute(
            "UPDATE accounts SET floor_minor = %(floor)s, ceiling_minor = %(ceiling)s "
            "WHERE id = %(id)s",
            params,
        )
        if not account.is_sharded:
            try:
                self._execute(
                    "UPDATE account_balances SET floor_minor = %(floor)s, "
                    "ceiling_minor = %(ceiling)s WHERE account_id = %(id)s AND shard = 0",
                    params,
                )
            except Exception as error:
                raise self._translate(error, account.id) from error

    # -- posting ------------------------------------------------------------------------------

    def post(
        self,
        draft: EntryDraft,
        entry_id: EntryId,
        posted_at_us: int,
        accounts: Mapping[AccountId, Account],
        release_pending: Mapping[AccountId, int] | None = None,
        *,
        commit: bool = False,
    ) -> int:
        """Write the entry and move the balances; returns the entry's sequence number.

        ``commit=True`` says this is the transaction's last write: on PostgreSQL the COMMIT then
        travels in the same pipeline, so the row locks are held for one round trip instead of
        two, and the unit of work's own commit finds nothing left to do.
        """
        changes = _balance_changes(draft, accounts, release_pending or {})
        posting_rows = ", ".join(
            f"(%(e)s, {i}, %(t)s, %(a{i})s, %(c{i})s, %(m{i})s, %(at)s)"
            for i in range(len(draft.legs))
        )
        params: dict[str, Any] = {"e": entry_id, "t": draft.tenant_id, "at": posted_at_us}
        for i, leg in enumerate(draft.legs):
            params |= {f"a{i}": leg.account_id, f"c{i}": leg.currency, f"m{i}": leg.amount_minor}
        try:
            with self._batch():
                self._execute(
                    "INSERT INTO postings (entry_id, leg, tenant_id, account_id, currency, "
                    f"amount_minor, posted_at_us) VALUES {posting_rows}",
                    params,
                )
                inserted = self._execute(
                    "INSERT INTO entries (id, tenant_id, idempotency_key, request_hash, kind, "
                    "posted_at_us, memo, reverses_id, hold_id) VALUES (%(e)s, %(t)s, %(key)s, "
                    "%(hash)s, %(kind)s, %(at)s, %(memo)s, %(rev)s, %(hold)s) RETURNING seq",
                    params
                    | {
                        "key": draft.idempotency_key,
                        "hash": draft.request_hash(),
                        "kind": draft.kind.value,
                        "memo": draft.memo,
                        "rev": draft.reverses_id,
                        "hold": draft.hold_id,
                    },
                )
                if not self._pg:
                    # SQLite hands back RETURNING rows only while the statement is still open.
                    seq_row = inserted.fetchone()
                for change in changes:
                    self._apply(change)
                if commit and self._pg:
                    self._raw.execute("COMMIT")
            if self._pg:
                seq_row = inserted.fetchone()
        except (DomainError, DuplicateIdempotencyKey):
            raise
        except Exception as error:
            raise self._translate(error, None) from error
        return int(seq_row[0])

    def _apply(self, change: _BalanceChange) -> None:
        params = {
            "id": change.account_id,
            "shard": change.shard,
            "posted": change.posted_delta,
            "pending": change.pending_delta,
        }
        if change.sharded and change.posted_delta < 0:
            self._check_sharded_floor(change)
        try:
            self._execute(
                "UPDATE account_balances SET posted_minor = posted_minor + %(posted)s, "
                "pending_minor = pending_minor + %(pending)s "
                "WHERE account_id = %(id)s AND shard = %(shard)s",
                params,
            )
        except Exception as error:
            # On SQLite the failing statement is this one, so it names the account. In a
            # PostgreSQL pipeline an earlier statement's error can surface while this one is
            # sent: take the account from the failing row the server reports instead.
            raise self._translate(error, None if self._pg else change.account_id) from error

    def _check_sharded_floor(self, change: _BalanceChange) -> None:
        """Lock every shard of a hot account in order and check its floor against their sum."""
        lock = " ORDER BY shard FOR UPDATE" if self._pg else " ORDER BY shard"
        rows = self._rows(
            "SELECT posted_minor - pending_minor FROM account_balances "
            f"WHERE account_id = %(id)s{lock}",
            {"id": change.account_id},
        )
        floor_rows = self._rows(
            "SELECT floor_minor FROM accounts WHERE id = %(id)s", {"id": change.account_id}
        )
        floor = floor_rows[0][0]
        available = sum(int(row[0]) for row in rows)
        if floor is not None and available + change.posted_delta < floor:
            raise InsufficientFunds(account_id=str(change.account_id))

    def _translate(self, error: Exception, account_id: uuid.UUID | None) -> Exception:
        """Turn a constraint violation into the domain error it stands for."""
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate in ("40001", "40P01"):
            return error
        diag = getattr(error, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        text = str(error)
        detail = getattr(diag, "message_detail", None) or ""
        if not self._pg and isinstance(error, sqlite3.OperationalError):
            return error
        subject = str(account_id) if account_id is not None else _first_uuid(detail)

        def has(name: str) -> bool:
            return name == constraint or name in text

        if has("ck_balances_floor"):
            return InsufficientFunds(account_id=subject)
        if has("ck_balances_ceiling"):
            return CeilingExceeded(account_id=subject)
        if has("uq_entries_tenant_key") or "entries.tenant_id, entries.idempotency_key" in text:
            return DuplicateIdempotencyKey()
        if has("uq_holds_tenant_key") or "holds.tenant_id, holds.idempotency_key" in text:
            return DuplicateHoldKey()
        if has("uq_accounts_tenant_code") or "accounts.tenant_id, accounts.code" in text:
            return InvalidAccount(reason="the account code is already in use")
        if has("uq_entries_reverses") or "entries.reverses_id" in text:
            return EntryAlreadyReversed(entry_id="?")
        if "entry-unbalanced" in text:
            return UnbalancedEntry()
        if sqlstate == "23503" or "FOREIGN KEY constraint failed" in text:
            return AccountNotFound(account_id=subject)
        return error

    # -- entries ------------------------------------------------------------------------------

    def _entries_where(self, where: str, params: Mapping[str, Any]) -> list[tuple[Entry, bytes]]:
        rows = self._rows(
            "SELECT e.id, e.seq, e.tenant_id, e.idempotency_key, e.kind, e.posted_at_us, e.memo, "
            "e.reverses_id, e.hold_id, e.request_hash, p.leg, p.account_id, p.currency, "
            "p.amount_minor FROM entries e JOIN postings p ON p.entry_id = e.id "
            f"WHERE {where} ORDER BY e.seq, p.leg",
            params,
        )
        result: list[tuple[Entry, bytes]] = []
        current: list[tuple[Any, ...]] = []
        for row in [*rows, None]:
            if current and (row is None or row[0] != current[0][0]):
                result.append(_entry(current))
                current = []
            if row is not None:
                current.append(row)
        return result

    def entry(self, tenant_id: TenantId, entry_id: EntryId) -> Entry | None:
        found = self._entries_where(
            "e.id = %(id)s AND e.tenant_id = %(t)s", {"id": entry_id, "t": tenant_id}
        )
        return found[0][0] if found else None

    def entry_by_key(self, tenant_id: TenantId, key: str) -> tuple[Entry, bytes] | None:
        found = self._entries_where(
            "e.tenant_id = %(t)s AND e.idempotency_key = %(k)s", {"t": tenant_id, "k": key}
        )
        return found[0] if found else None

    def reversal_of(self, tenant_id: TenantId, entry_id: EntryId) -> Entry | None:
        found = self._entries_where(
            "e.reverses_id = %(id)s AND e.tenant_id = %(t)s", {"id": entry_id, "t": tenant_id}
        )
        return found[0][0] if found else None

    # -- balances and history -----------------------------------------------------------------

    def balances(self, tenant_id: TenantId, account_ids: Sequence[AccountId]) -> list[Balance]:
        if not account_ids:
            return []
        names = {f"a{i}": account_id for i, account_id in enumerate(account_ids)}
        placeholders = ", ".join(f"%({name})s" for name in names)
        rows = self._rows(
            "SELECT b.account_id, a.currency, sum(b.posted_minor), sum(b.pending_minor), "
            "a.floor_minor FROM account_balances b JOIN accounts a ON a.id = b.account_id "
            f"WHERE a.tenant_id = %(t)s AND b.account_id IN ({placeholders}) "
            "GROUP BY b.account_id, a.currency, a.floor_minor",
            {"t": tenant_id, **names},
        )
        by_id = {
            as_uuid(row[0]): Balance(
                account_id=AccountId(as_uuid(row[0])),
                currency=row[1],
                posted_minor=int(row[2]),
                pending_minor=int(row[3]),
                floor_minor=None if row[4] is None else int(row[4]),
            )
            for row in rows
        }
        return [by_id[account_id] for account_id in account_ids if account_id in by_id]

    def balance_at(self, account: Account, at_us: int) -> int:
        rows = self._rows(
            "SELECT coalesce(sum(amount_minor), 0) FROM postings "
            "WHERE account_id = %(id)s AND posted_at_us <= %(at)s",
            {"id": account.id, "at": at_us},
        )
        return account.normal_side.sign * int(rows[0][0])

    def history(
        self,
        account: Account,
        *,
        limit: int,
        before: tuple[int, EntryId] | None,
        since_us: int | None,
        until_us: int | None,
    ) -> list[Posting]:
        clauses = ["account_id = %(id)s"]
        params: dict[str, Any] = {"id": account.id, "limit": limit}
        if before is not None:
            clauses.append(
                "(posted_at_us < %(b_at)s OR (posted_at_us = %(b_at)s AND entry_id < %(b_id)s))"
            )
            params |= {"b_at": before[0], "b_id": before[1]}
        if since_us is not None:
            clauses.append("posted_at_us >= %(since)s")
            params["since"] = since_us
        if until_us is not None:
            clauses.append("posted_at_us < %(until)s")
            params["until"] = until_us
        rows = self._rows(
            "SELECT entry_id, leg, account_id, currency, amount_minor, posted_at_us FROM postings "
            f"WHERE {' AND '.join(clauses)} "
            "ORDER BY posted_at_us DESC, entry_id DESC LIMIT %(limit)s",
            params,
        )
        return [
            Posting(
                entry_id=EntryId(as_uuid(r[0])),
                leg=int(r[1]),
                account_id=AccountId(as_uuid(r[2])),
                currency=r[3],
                amount_minor=int(r[4]),
                posted_at_us=int(r[5]),
            )
            for r in rows
        ]

    # -- holds --------------------------------------------------------------------------------

    def insert_hold(
        self, hold: Hold, idempotency_key: str, request_hash: bytes, now_us: int
    ) -> None:
        # Holds are never placed on sharded accounts, so the reservation is on shard 0.
        debit = _BalanceChange(
            account_id=hold.debit_account_id,
            sharded=False,
            shard=0,
            posted_delta=0,
            pending_delta=hold.amount_minor,
        )
        try:
            with self._batch():
                self._execute(
                    "INSERT INTO holds (id, tenant_id, debit_account_id, credit_account_id, "
                    "currency, amount_minor, status, expires_at_us, idempotency_key, "
                    "request_hash, created_at_us) VALUES (%(id)s, %(t)s, %(d)s, %(c)s, %(cur)s, "
                    "%(amount)s, 'pending', %(exp)s, %(key)s, %(hash)s, %(now)s)",
                    {
                        "id": hold.id,
                        "t": hold.tenant_id,
                        "d": hold.debit_account_id,
                        "c": hold.credit_account_id,
                        "cur": hold.currency,
                        "amount": hold.amount_minor,
                        "exp": hold.expires_at_us,
                        "key": idempotency_key,
                        "hash": request_hash,
                        "now": now_us,
                    },
                )
                self._apply(debit)
        except DomainError:
            raise
        except Exception as error:
            raise self._translate(error, None) from error

    def _holds_where(self, where: str, params: Mapping[str, Any]) -> list[tuple[Hold, bytes]]:
        rows = self._rows(f"SELECT {HOLD_COLUMNS}, request_hash FROM holds WHERE {where}", params)
        return [(_hold(row), bytes(row[10])) for row in rows]

    def hold(self, tenant_id: TenantId, hold_id: HoldId) -> Hold | None:
        found = self._holds_where(
            "id = %(id)s AND tenant_id = %(t)s", {"id": hold_id, "t": tenant_id}
        )
        return found[0][0] if found else None

    def hold_by_key(self, tenant_id: TenantId, key: str) -> tuple[Hold, bytes] | None:
        found = self._holds_where(
            "tenant_id = %(t)s AND idempotency_key = %(k)s", {"t": tenant_id, "k": key}
        )
        return found[0] if found else None

    def finish_hold(
        self,
        tenant_id: TenantId,
        hold_id: HoldId,
        *,
        status: HoldStatus,
        now_us: int,
        max_capture_minor: int | None = None,
        capture_entry_id: EntryId | None = None,
    ) -> Hold | None:
        """Conditionally end a pending hold; None when it was not pending (or not eligible).

        Capture and void need the hold unexpired; expiry needs it past its time. The reservation
        is released here for void and expiry; a capture releases it with its posting.
        """
        timing = (
            "expires_at_us <= %(now)s"
            if status is HoldStatus.EXPIRED
            else "expires_at_us > %(now)s"
        )
        amount_guard = " AND amount_minor >= %(cap)s" if max_capture_minor is not None else ""
        rows = self._rows(
            "UPDATE holds SET status = %(status)s, finished_at_us = %(now)s, "
            "captured_minor = %(cap)s, capture_entry_id = %(entry)s "
            f"WHERE id = %(id)s AND tenant_id = %(t)s AND status = 'pending' AND {timing}"
            f"{amount_guard} RETURNING {HOLD_COLUMNS}",
            {
                "status": status.value,
                "now": now_us,
                "cap": max_capture_minor,
                "entry": capture_entry_id,
                "id": hold_id,
                "t": tenant_id,
            },
        )
        if not rows:
            return None
        hold = _hold(rows[0])
        if status is not HoldStatus.CAPTURED:
            self._execute(
                "UPDATE account_balances SET pending_minor = pending_minor - %(amount)s "
                "WHERE account_id = %(id)s AND shard = 0",
                {"amount": hold.amount_minor, "id": hold.debit_account_id},
            )
        return hold

    def expired_hold_ids(self, now_us: int, limit: int) -> list[tuple[TenantId, HoldId]]:
        rows = self._rows(
            "SELECT tenant_id, id FROM holds WHERE status = 'pending' "
            "AND expires_at_us <= %(now)s ORDER BY expires_at_us LIMIT %(limit)s",
            {"now": now_us, "limit": limit},
        )
        return [(TenantId(row[0]), HoldId(as_uuid(row[1]))) for row in rows]


def _balance_changes(
    draft: EntryDraft,
    accounts: Mapping[AccountId, Account],
    release_pending: Mapping[AccountId, int],
) -> list[_BalanceChange]:
    changes = []
    for leg in draft.legs:
        account = accounts[leg.account_id]
        delta = account.normal_side.sign * leg.amount_minor
        shard = 0
        if account.is_sharded and delta > 0:
            shard = random.randrange(account.shard_count)
        changes.append(
            _BalanceChange(
                account_id=account.id,
                sharded=account.is_sharded,
                shard=shard,
                posted_delta=delta,
                pending_delta=-release_pending.get(leg.account_id, 0),
            )
        )
    return sorted(changes, key=lambda change: change.order)


def _first_uuid(text: str) -> str:
    match = _UUID_IN_TEXT.search(text)
    return str(uuid.UUID(match.group(0))) if match else "?"


def _account(row: Sequence[Any]) -> Account:
    return Account(
        id=AccountId(as_uuid(row[0])),
        tenant_id=TenantId(row[1]),
        currency=row[2],
        kind=AccountKind(row[3]),
        normal_side=NormalSide(row[4]),
        shard_count=int(row[5]),
        floor_minor=None if row[6] is None else int(row[6]),
        ceiling_minor=None if row[7] is None else int(row[7]),
        code=row[8],
        owner_ref=row[9],
    )


def _hold(row: Sequence[Any]) -> Hold:
    return Hold(
        id=HoldId(as_uuid(row[0])),
        tenant_id=TenantId(row[1]),
        debit_account_id=AccountId(as_uuid(row[2])),
        credit_account_id=AccountId(as_uuid(row[3])),
        currency=row[4],
        amount_minor=int(row[5]),
        status=HoldStatus(row[6]),
        expires_at_us=int(row[7]),
        captured_minor=None if row[8] is None else int(row[8]),
        capture_entry_id=None if row[9] is None else EntryId(as_uuid(row[9])),
    )


def _entry(rows: Sequence[Sequence[Any]]) -> tuple[Entry, bytes]:
    head = rows[0]
    entry_id = EntryId(as_uuid(head[0]))
    postings = tuple(
        Posting(
            entry_id=entry_id,
            leg=int(r[10]),
            account_id=AccountId(as_uuid(r[11])),
            currency=r[12],
            amount_minor=int(r[13]),
            posted_at_us=int(head[5]),
        )
        for r in rows
    )
    entry = Entry(
        id=entry_id,
        seq=int(head[1]),
        tenant_id=TenantId(head[2]),
        idempotency_key=head[3],
        kind=EntryKind(head[4]),
        posted_at_us=int(head[5]),
        postings=postings,
        memo=head[6],
        reverses_id=None if head[7] is None else EntryId(as_uuid(head[7])),
        hold_id=None if head[8] is None else HoldId(as_uuid(head[8])),
    )
    return entry, bytes(head[9])
