"""Persistence of idempotency keys and their stored responses.

A key is unique per (tenant, caller, key). ``claim`` inserts it first thing in a payment's
transaction: a concurrent request with the same key blocks on the unique index until the first
transaction ends, then sees its committed row (and replays it) instead of paying twice. A key past
its ``expires_at_us`` is taken over by the next request that names it, as a new request.

``claim`` and ``save_response`` are raw statements: on PostgreSQL the claim travels with the
transaction's BEGIN, and a final ``save_response(commit=True)`` sends the writes the payment
deferred, the response and COMMIT in one round trip.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from walletbridge.adapters.db.engine import driver_connection, pay_pending_begin
from walletbridge.adapters.db.tables_wallets import wallet_idempotency
from walletbridge.adapters.db.wallet_records import execute, flush, write
from walletbridge.domain.actors import UserId
from walletbridge.domain.ledger import TenantId
from walletbridge.ports.wallets import StoredResponse

_CLAIM = (
    "INSERT INTO wallet_idempotency (tenant_id, user_id, key, request_hash, status_code, body, "
    "created_at_us, expires_at_us) VALUES (%(t)s, %(u)s, %(k)s, %(h)s, NULL, NULL, %(now)s, "
    "%(exp)s) ON CONFLICT (tenant_id, user_id, key) DO UPDATE SET "
    "request_hash = excluded.request_hash, status_code = NULL, body = NULL, "
    "created_at_us = excluded.created_at_us, expires_at_us = excluded.expires_at_us "
    "WHERE wallet_idempotency.expires_at_us <= %(now)s RETURNING key"
)
_SAVE = (
    "UPDATE wallet_idempotency SET status_code = %(s)s, body = %(b)s "
    "WHERE tenant_id = %(t)s AND user_id = %(u)s AND key = %(k)s"
)


class SqlIdempotencyStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        key: str,
        request_hash: bytes,
        now_us: int,
        expires_at_us: int,
    ) -> bool:
        params = {
            "t": tenant_id,
            "u": user_id,
            "k": key,
            "h": request_hash,
            "now": now_us,
            "exp": expires_at_us,
        }
        if self.connection.dialect.name != "postgresql":
            return execute(self.connection, _CLAIM, params).fetchone() is not None
        raw = driver_connection(self.connection)
        with raw.pipeline():  # the owed BEGIN and the claim: one round trip
            pay_pending_begin(self.connection, raw)
            cursor = raw.cursor()
            cursor.execute(_CLAIM, params)
        return cursor.fetchone() is not None

    def stored(self, tenant_id: TenantId, user_id: UserId, key: str) -> StoredResponse | None:
        t = wallet_idempotency.c
        row = self.connection.execute(
            select(t.request_hash, t.status_code, t.body, t.expires_at_us).where(
                t.tenant_id == tenant_id, t.user_id == user_id, t.key == key
            )
        ).first()
        if row is None:
            return None
        return StoredResponse(
            request_hash=bytes(row[0]),
            status_code=None if row[1] is None else int(row[1]),
            body=row[2],
            expires_at_us=int(row[3]),
        )

    def save_response(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        key: str,
        status_code: int,
        body: str,
        *,
        commit: bool = False,
    ) -> None:
        params = {"s": status_code, "b": body, "t": tenant_id, "u": user_id, "k": key}
        write(self.connection, _SAVE, params)
        if commit:
            flush(self.connection, commit=True)

    def purge(self, now_us: int, limit: int) -> int:
        t = wallet_idempotency.c
        expired = (
            select(t.tenant_id, t.user_id, t.key).where(t.expires_at_us <= now_us).limit(limit)
        )
        rows = list(self.connection.execute(expired))
        for tenant_id, user_id, key in rows:
            self.connection.execute(
                delete(wallet_idempotency).where(
                    t.tenant_id == tenant_id,
                    t.user_id == user_id,
                    t.key == key,
                    t.expires_at_us <= now_us,
                )
            )
        return len(rows)
