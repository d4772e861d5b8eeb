"""A Litestar ``Store`` over the ``kv_store`` table: server-side browser sessions and the
rate-limit middleware's counters live in the database, so every worker process sees the same ones.

Values expire at ``expires_at_us``; an expired value reads as absent and is deleted when met (and
in bulk by ``delete_expired``, which the purge job runs). The app's database access is synchronous,
so each call runs on a worker thread (``anyio.to_thread``) and never blocks the event loop.
Namespaces nest with ``/``: ``delete_all`` on a namespace clears its children too, as Litestar's
``NamespacedStore`` asks.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Self

from anyio import to_thread
from litestar.stores.base import NamespacedStore
from sqlalchemy import ColumnElement, Connection, Engine, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from walletbridge.adapters.db.tables_platform import kv_store
from walletbridge.adapters.system import SystemClock
from walletbridge.ports import Clock

US_PER_SECOND = 1_000_000
MAX_KEY_LENGTH = 500


def _seconds(value: int | timedelta | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


def _stored_key(key: str) -> str:
    """Keys longer than the column (a long URL in a rate-limit key, say) are stored hashed."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class SqlKeyValueStore(NamespacedStore):
    __slots__ = ("clock", "engine")

    def __init__(self, engine: Engine, namespace: str = "", *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.namespace = namespace
        self.clock = clock or SystemClock()

    def with_namespace(self, namespace: str) -> Self:
        child = f"{self.namespace}/{namespace}" if self.namespace else namespace
        return type(self)(self.engine, child, clock=self.clock)

    # Litestar's asynchronous interface.

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        await to_thread.run_sync(self.set_sync, key, data, _seconds(expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await to_thread.run_sync(self.get_sync, key, _seconds(renew_for))

    async def delete(self, key: str) -> None:
        await to_thread.run_sync(self.delete_sync, key)

    async def delete_all(self) -> None:
        await to_thread.run_sync(self.delete_all_sync)

    async def exists(self, key: str) -> bool:
        return await to_thread.run_sync(self.get_sync, key, None) is not None

    async def expires_in(self, key: str) -> int | None:
        return await to_thread.run_sync(self.expires_in_sync, key)

    # The same, synchronously (for the purge job and tests).

    def set_sync(self, key: str, value: bytes, expires_in_seconds: int | None) -> None:
        expires_at_us = (
            None
            if expires_in_seconds is None
            else self.clock.now_us() + expires_in_seconds * US_PER_SECOND
        )
        values = {
            "namespace": self.namespace,
            "key": _stored_key(key),
            "value": value,
            "expires_at_us": expires_at_us,
        }
        with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(kv_store).values(values)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[kv_store.c.namespace, kv_store.c.key],
                    set_={
                        "value": statement.excluded.value,
                        "expires_at_us": statement.excluded.expires_at_us,
                    },
                )
            )

    def get_sync(self, key: str, renew_for_seconds: int | None = None) -> bytes | None:
        now_us = self.clock.now_us()
        with self.engine.begin() as connection:
            row = connection.execute(
                select(kv_store.c.value, kv_store.c.expires_at_us).where(self._is(key))
            ).one_or_none()
            if row is None:
                return None
            if row.expires_at_us is not None and row.expires_at_us <= now_us:
                connection.execute(delete(kv_store).where(self._is(key)))
                return None
            if renew_for_seconds and row.expires_at_us is not None:
                connection.execute(
                    update(kv_store)
                    .where(self._is(key))
                    .values(expires_at_us=now_us + renew_for_seconds * US_PER_SECOND)
                )
            return bytes(row.value)

    def delete_sync(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(kv_store).where(self._is(key)))

    def delete_all_sync(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(kv_store).where(self._in_namespace()))

    def expires_in_sync(self, key: str) -> int | None:
        now_us = self.clock.now_us()
        with self.engine.connect() as connection:
            expires_at_us = connection.execute(
                select(kv_store.c.expires_at_us).where(self._is(key))
            ).scalar()
        if expires_at_us is None or expires_at_us <= now_us:
            return None
        return int((expires_at_us - now_us) // US_PER_SECOND)

    def delete_expired(self) -> int:
        """Delete every expired value in this namespace and its children; return how many."""
        with self.engine.begin() as connection:
            return delete_expired(connection, self.clock.now_us(), self._in_namespace())

    def _is(self, key: str) -> ColumnElement[bool]:
        return (kv_store.c.namespace == self.namespace) & (kv_store.c.key == _stored_key(key))

    def _in_namespace(self) -> ColumnElement[bool]:
        if not self.namespace:
            return kv_store.c.namespace.is_not(None)
        prefix = self.namespace.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return or_(
            kv_store.c.namespace == self.namespace,
            kv_store.c.namespace.like(f"{prefix}/%", escape="\\"),
        )


def delete_expired(
    connection: Connection, now_us: int, where: ColumnElement[bool] | None = None
) -> int:
    """Delete expired values (all namespaces unless ``where`` narrows it); return how many."""
    statement = delete(kv_store).where(kv_store.c.expires_at_us <= now_us)
    if where is not None:
        statement = statement.where(where)
    result = connection.execute(statement)
    return int(result.rowcount)
