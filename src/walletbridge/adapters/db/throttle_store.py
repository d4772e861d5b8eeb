"""Persistence of atomic rate-limit counters: one row per (bucket, window).

``hit`` is a single upsert: insert the window's row with count 1, or add one to it *only while it
is below the limit*. The row lock the upsert takes makes concurrent hits from any number of
processes count one at a time, so exactly ``max_count`` succeed. A full window returns no row and
the store raises ``ThrottleExceeded`` without having written anything. Doing the check in the
upsert's WHERE rather than by tripping the ``count <= max_count`` CHECK constraint (which stays as
the database's backstop) matters on PostgreSQL: a constraint violation would abort the caller's
whole transaction, and ``hit`` may run inside another use case's transaction. Needs SQLite
>= 3.35 (RETURNING, upsert WHERE) or PostgreSQL.

``hit_later`` is the form a payment uses: the same count, deferred to travel with the payment's
next round trip, with the CHECK constraint (spoiling the transaction) as its refusal.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete

from walletbridge.adapters.db.tables_platform import throttle_counters
from walletbridge.adapters.db.wallet_records import execute, write
from walletbridge.ports.platform import ThrottleExceeded

# A raw statement: it runs in every payment's transaction, so it skips SQLAlchemy's compiler.
_HIT = (
    "INSERT INTO throttle_counters (bucket, window_start_us, count, max_count, expires_at_us) "
    "VALUES (%(bucket)s, %(window_start_us)s, 1, %(max_count)s, %(expires_at_us)s) "
    "ON CONFLICT (bucket, window_start_us) DO UPDATE "
    "SET count = throttle_counters.count + 1, max_count = excluded.max_count "
    "WHERE throttle_counters.count < excluded.max_count "
    "RETURNING count"
)


# ``hit_later``'s form: no WHERE, so a full window trips the CHECK and spoils the transaction,
# which is how an error reaches a caller that did not wait for this statement's result.
_HIT_OR_FAIL = (
    "INSERT INTO throttle_counters (bucket, window_start_us, count, max_count, expires_at_us) "
    "VALUES (%(bucket)s, %(window_start_us)s, 1, %(max_count)s, %(expires_at_us)s) "
    "ON CONFLICT (bucket, window_start_us) DO UPDATE "
    "SET count = throttle_counters.count + 1, max_count = excluded.max_count"
)
_FULL = "ck_throttle_count"


def window_full(error: BaseException) -> bool:
    """True when ``error`` is a ``hit_later`` finding its window full."""
    diag = getattr(error, "diag", None)
    return getattr(diag, "constraint_name", None) == _FULL or _FULL in str(error)


class SqlThrottleStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def hit(self, bucket: str, window_start_us: int, expires_at_us: int, max_count: int) -> int:
        assert max_count >= 1, "a limit lets at least one attempt through"
        row = execute(
            self.connection,
            _HIT,
            {
                "bucket": bucket,
                "window_start_us": window_start_us,
                "max_count": max_count,
                "expires_at_us": expires_at_us,
            },
        ).fetchone()
        if row is None:
            raise ThrottleExceeded(bucket)
        return int(row[0])

    def hit_later(
        self, bucket: str, window_start_us: int, expires_at_us: int, max_count: int
    ) -> None:
        assert max_count >= 1, "a limit lets at least one attempt through"
        params = {
            "bucket": bucket,
            "window_start_us": window_start_us,
            "max_count": max_count,
            "expires_at_us": expires_at_us,
        }
        try:
            write(self.connection, _HIT_OR_FAIL, params)
        except Exception as error:
            if window_full(error):
                raise ThrottleExceeded(bucket) from error
            raise

    def purge_expired(self, now_us: int) -> int:
        result = self.connection.execute(
            delete(throttle_counters).where(throttle_counters.c.expires_at_us <= now_us)
        )
        return int(result.rowcount)
