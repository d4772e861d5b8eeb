"""Persistence of idempotency keys and their stored responses.

A key is unique per (tenant, caller, key). ``claim`` inserts it first thing in a payment's
transaction: a concurrent request with the same key blocks on the unique index until the first
transaction ends, then sees its committed row (and replays it) instead of paying twice. A key past
its ``expires_at_us`` is taken over by the next request that names it, as a new request.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from walletbridge.adapters.db.tables_wallets import wallet_idempotency
from walletbridge.adapters.db.wallet_records import upsert
from walletbridge.domain.actors import UserId
from walletbridge.domain.ledger import TenantId
from walletbridge.ports.wallets import StoredResponse


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
        t = wallet_idempotency
        statement = upsert(self.connection, t).values(
            tenant_id=tenant_id,
            user_id=user_id,
            key=key,
            request_hash=request_hash,
            status_code=None,
            body=None,
            created_at_us=now_us,
            expires_at_us=expires_at_us,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "user_id", "key"],
            set_={
                "request_hash": statement.excluded.request_hash,
                "status_code": None,
                "body": None,
                "created_at_us": statement.excluded.created_at_us,
                "expires_at_us": statement.excluded.expires_at_us,
            },
            where=t.c.expires_at_us <= now_us,
        ).returning(t.c.key)
        return self.connection.execute(statement).first() is not None

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
        self, tenant_id: TenantId, user_id: UserId, key: str, status_code: int, body: str
    ) -> None:
        t = wallet_idempotency
        self.connection.execute(
            t.update()
            .where(t.c.tenant_id == tenant_id, t.c.user_id == user_id, t.c.key == key)
            .values(status_code=status_code, body=body)
        )

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
