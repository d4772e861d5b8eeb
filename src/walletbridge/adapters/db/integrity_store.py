"""SQL behind ``ledger verify``, ``ledger prove`` and the sealing job.

Every query here reads the raw tables, never the service's caches, so a row changed behind the
application's back is seen as it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from walletbridge.adapters.db.ledger_store import as_uuid
from walletbridge.domain.ledger import Seal
from walletbridge.domain.merkle import CanonicalEntry, CanonicalPosting


def iso_from_us(at_us: int) -> str:
    moment = datetime.fromtimestamp(at_us // 1_000_000, tz=UTC).replace(
        microsecond=at_us % 1_000_000
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SqlIntegrityStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._pg = connection.dialect.name == "postgresql"

    def _rows(self, sql: str, **params: Any) -> Sequence[Any]:
        return self._connection.execute(text(sql), params).all()

    def unbalanced_entries(self) -> list[tuple[str, str, int]]:
        rows = self._rows(
            "SELECT entry_id, currency, sum(amount_minor) FROM postings "
            "GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0"
        )
        short = self._rows(
            "SELECT e.id FROM entries e LEFT JOIN postings p ON p.entry_id = e.id "
            "GROUP BY e.id HAVING count(p.entry_id) < 2"
        )
        return [(str(as_uuid(r[0])), r[1], int(r[2])) for r in rows] + [
            (str(as_uuid(r[0])), "*", 0) for r in short
        ]

    def orphan_postings(self) -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT p.entry_id FROM postings p LEFT JOIN entries e ON e.id = p.entry_id "
            "WHERE e.id IS NULL"
        )
        return [str(as_uuid(r[0])) for r in rows]

    def balance_mismatches(self) -> list[tuple[str, int, int]]:
        rows = self._rows(
            "SELECT a.id, a.normal_side, coalesce(b.posted, 0), coalesce(p.total, 0) "
            "FROM accounts a "
            "LEFT JOIN (SELECT account_id, sum(posted_minor) AS posted FROM account_balances "
            "           GROUP BY account_id) b ON b.account_id = a.id "
            "LEFT JOIN (SELECT account_id, sum(amount_minor) AS total FROM postings "
            "           GROUP BY account_id) p ON p.account_id = a.id"
        )
        found = []
        for account_id, side, stored, total in rows:
            computed = int(total) if side == "debit" else -int(total)
            if int(stored) != computed:
                found.append((str(as_uuid(account_id)), int(stored), computed))
        return found

    def pending_mismatches(self) -> list[tuple[str, int, int]]:
        rows = self._rows(
            "SELECT a.id, coalesce(b.pending, 0), coalesce(h.held, 0) FROM accounts a "
            "LEFT JOIN (SELECT account_id, sum(pending_minor) AS pending FROM account_balances "
            "           GROUP BY account_id) b ON b.account_id = a.id "
            "LEFT JOIN (SELECT debit_account_id, sum(amount_minor) AS held FROM holds "
            "           WHERE status = 'pending' GROUP BY debit_account_id) h "
            "       ON h.debit_account_id = a.id"
        )
        return [(str(as_uuid(r[0])), int(r[1]), int(r[2])) for r in rows if int(r[1]) != int(r[2])]

    def limit_copy_mismatches(self) -> list[str]:
        rows = self._rows(
            "SELECT a.id, a.shard_count, a.floor_minor, a.ceiling_minor, b.shard, "
            "b.floor_minor, b.ceiling_minor FROM accounts a "
            "JOIN account_balances b ON b.account_id = a.id"
        )
        found = set()
        shards: dict[Any, int] = {}
        for account_id, shard_count, floor, ceiling, shard, b_floor, b_ceiling in rows:
            shards[account_id] = shards.get(account_id, 0) + 1
            expected = (floor, ceiling) if shard_count == 1 else (None, None)
            if (b_floor, b_ceiling) != expected or shard >= shard_count:
                found.add(str(as_uuid(account_id)))
        counts = self._rows("SELECT id, shard_count FROM accounts")
        found |= {str(as_uuid(i)) for i, n in counts if shards.get(i, 0) != n}
        return sorted(found)

    def seals(self) -> list[Seal]:
        rows = self._rows(
            "SELECT seal_no, first_seq, last_seq, entry_count, merkle_root, prev_hash, "
            "seal_hash, sealed_at_us FROM seals ORDER BY seal_no"
        )
        return [
            Seal(
                int(r[0]),
                int(r[1]),
                int(r[2]),
                int(r[3]),
                bytes(r[4]),
                bytes(r[5]),
                bytes(r[6]),
                int(r[7]),
            )
            for r in rows
        ]

    def canonical_entries(self, first_seq: int, last_seq: int) -> list[CanonicalEntry]:
        rows = self._rows(
            "SELECT e.seq, e.id, e.tenant_id, e.idempotency_key, e.kind, e.posted_at_us, "
            "p.leg, p.account_id, p.currency, p.amount_minor "
            "FROM entries e LEFT JOIN postings p ON p.entry_id = e.id "
            "WHERE e.seq BETWEEN :first AND :last ORDER BY e.seq, p.leg",
            first=first_seq,
            last=last_seq,
        )
        entries: list[CanonicalEntry] = []
        group: list[Any] = []
        account_text: dict[Any, str] = {}
        for row in [*rows, None]:
            if group and (row is None or row[0] != group[0][0]):
                entries.append(_canonical(group, account_text))
                group = []
            if row is not None:
                group.append(row)
        return entries

    def batch_end(self, first_seq: int, horizon: int, size: int) -> int:
        """The seq that closes a batch of at most ``size`` entries from ``first_seq`` on."""
        rows = self._rows(
            "SELECT seq FROM entries WHERE seq BETWEEN :first AND :horizon "
            "ORDER BY seq LIMIT 1 OFFSET :skip",
            first=first_seq,
            horizon=horizon,
            skip=size - 1,
        )
        return int(rows[0][0]) if rows else horizon

    def entries_after(self, last_seq: int) -> int:
        return int(self._rows("SELECT count(*) FROM entries WHERE seq > :s", s=last_seq)[0][0])

    def entry_seq(self, entry_id: str) -> int | None:
        rows = self._rows("SELECT seq FROM entries WHERE id = :id", id=as_uuid(entry_id))
        return int(rows[0][0]) if rows else None

    def sealable_horizon(self, wait_seconds: float = 10.0) -> int:
        """The highest seq below which no entry can still appear.

        SQLite has one writer, so sequence order is commit order. On PostgreSQL a transaction
        may take a sequence number and commit after a later one: read the highest visible seq
        together with the snapshot's xmax, then wait until every transaction that had an id by
        then has ended. A ledger transaction takes its id (its first insert) before its seq.
        """
        if not self._pg:
            return int(self._rows("SELECT coalesce(max(seq), 0) FROM entries")[0][0])
        row = self._rows(
            "SELECT coalesce(max(seq), 0), pg_snapshot_xmax(pg_current_snapshot())::text "
            "FROM entries"
        )[0]
        horizon, xmax = int(row[0]), int(row[1])
        deadline = time.monotonic() + wait_seconds
        while True:
            # Each check is its own statement, so it sees transactions end (READ COMMITTED).
            xmin = int(self._rows("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")[0][0])
            if xmin >= xmax:
                return horizon
            if time.monotonic() > deadline:
                raise TimeoutError("transactions older than the seal horizon are still open")
            time.sleep(0.05)

    def insert_seal(self, seal: Seal) -> None:
        self._connection.execute(
            text(
                "INSERT INTO seals (seal_no, first_seq, last_seq, entry_count, merkle_root, "
                "prev_hash, seal_hash, sealed_at_us) VALUES (:no, :first, :last, :count, "
                ":root, :prev, :hash, :at)"
            ),
            {
                "no": seal.seal_no,
                "first": seal.first_seq,
                "last": seal.last_seq,
                "count": seal.entry_count,
                "root": seal.merkle_root,
                "prev": seal.prev_hash,
                "hash": seal.seal_hash,
                "at": seal.sealed_at_us,
            },
        )


def _canonical(rows: Sequence[Any], account_text: dict[Any, str]) -> CanonicalEntry:
    head = rows[0]
    postings = tuple(
        CanonicalPosting(
            leg=int(r[6]),
            account_id=_text_of(account_text, r[7]),
            currency=r[8],
            amount_minor=int(r[9]),
        )
        for r in rows
        if r[6] is not None
    )
    return CanonicalEntry(
        entry_id=str(as_uuid(head[1])),
        seq=int(head[0]),
        tenant_id=head[2],
        idempotency_key=head[3],
        kind=head[4],
        posted_at=iso_from_us(int(head[5])),
        postings=postings,
    )


def _text_of(cache: dict[Any, str], account_id: Any) -> str:
    """Canonical text of an account id; few accounts recur across many postings."""
    text_id = cache.get(account_id)
    if text_id is None:
        text_id = cache[account_id] = str(as_uuid(account_id))
    return text_id
