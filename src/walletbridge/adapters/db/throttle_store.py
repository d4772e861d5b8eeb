"""Persistence of atomic rate-limit counters: one row per (bucket, window).

``hit`` is a single upsert: insert the window's row with count 1, or add one to it *only while it
is below the limit*. The row lock the upsert takes makes concurrent hits from any number of
processes count one at a time, so exactly ``max_count`` succeed. A full window returns no row and
the store raises ``ThrottleExceeded`` without having written anything. Doing the check in the
upsert's WHERE rather than by tripping the ``count <= max_count`` CHECK constraint (which stays as
the database's backstop) matters on PostgreSQL: a constraint violation would abort the caller's
whole transaction, and ``hit`` may run inside another use case's transaction. Needs SQLite
>= 3.35 (RETURNING, upsert WHERE) or PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, text

from walletbridge.adapters.db.tables_platform import throttle_counters
from walletbridge.ports.platform import ThrottleExceeded

_HIT = text(
    "INSERT INTO throttle_counters (bucket, window_start_us, count, max_count, expires_at_us) "
    "VALUES (:bucket, :window_start_us, 1, :max_count, :expires_at_us) "
    "ON CONFLICT (bucket, window_start_us) DO UPDATE "
    "SET count = throttle_counters.count + 1, max_count = excluded.max_count "
    "WHERE throttle_counters.count < excluded.max_count "
    "RETURNING count"
)


class SqlThrottleStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def hit(self, bucket: str, window_start_us: int, expires_at_us: int, max_count: int) -> int:
        assert max_count >= 1, "a limit lets at least one attempt through"
        count = self.connection.execute(
            _HIT,
            {
                "bucket": bucket,
                "window_start_us": window_start_us,
                "max_count": max_count,
                "expires_at_us": expires_at_us,
            },
        ).scalar()
        if count is None:
            raise ThrottleExceeded(bucket)
        return int(count)

    def purge_expired(self, now_us: int) -> int:
        result = self.connection.execute(
            delete(throttle_counters).where(throttle_counters.c.expires_at_us <= now_us)
        )
        return int(result.rowcount)
