"""Persistence of sessions and API tokens (``auth_sessions``), the base of ``SqlIdentityStore``.

A token is stored only as its SHA-256 hash. Revocation and expiry are checked on every lookup;
``last_seen`` is written only when it is older than a minimum gap and the session is still
fresh, so an idle session stays idle until it is re-authenticated.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert, select, update

from walletbridge.adapters.db.tables_identity import auth_sessions, users
from walletbridge.domain.actors import Role, Scope, SessionId, UserId, UserStatus
from walletbridge.domain.identity import Session, SessionKind
from walletbridge.domain.ledger import TenantId
from walletbridge.ports.identity import SessionAuth


def as_uuid(value: object) -> uuid.UUID | None:
    """An id from outside as a UUID, or None when it is not one (so it is simply not found)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class SqlSessionStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def insert_session(self, session: Session, token_hash: bytes) -> None:
        self.connection.execute(
            insert(auth_sessions).values(
                id=uuid.UUID(session.id),
                tenant_id=session.tenant_id,
                user_id=uuid.UUID(session.user_id),
                kind=session.kind.value,
                name=session.name,
                token_hash=token_hash,
                scopes=" ".join(sorted(s.value for s in session.scopes)),
                created_at_us=session.created_at_us,
                last_seen_at_us=session.last_seen_at_us,
                last_auth_at_us=session.last_auth_at_us,
                expires_at_us=session.expires_at_us,
                revoked_at_us=session.revoked_at_us,
                user_agent=session.user_agent,
                ip=session.ip,
            )
        )

    def session_by_token(self, token_hash: bytes) -> SessionAuth | None:
        row = self.connection.execute(
            select(auth_sessions, users.c.role, users.c.status)
            .join(users, users.c.id == auth_sessions.c.user_id)
            .where(auth_sessions.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return SessionAuth(_session(row), Role(row.role), UserStatus(row.status))

    def session(self, tenant_id: TenantId, session_id: SessionId) -> Session | None:
        key = as_uuid(session_id)
        if key is None:
            return None
        row = self.connection.execute(
            select(auth_sessions).where(
                auth_sessions.c.tenant_id == tenant_id, auth_sessions.c.id == key
            )
        ).first()
        return None if row is None else _session(row)

    def touch_session(
        self, session_id: SessionId, now_us: int, *, min_gap_us: int, idle_us: int
    ) -> None:
        self.connection.execute(
            update(auth_sessions)
            .where(
                auth_sessions.c.id == as_uuid(session_id),
                auth_sessions.c.last_seen_at_us < now_us - min_gap_us,
                auth_sessions.c.last_seen_at_us >= now_us - idle_us,
            )
            .values(last_seen_at_us=now_us)
        )

    def mark_reauthenticated(self, session_id: SessionId, now_us: int) -> None:
        self.connection.execute(
            update(auth_sessions)
            .where(auth_sessions.c.id == as_uuid(session_id))
            .values(last_seen_at_us=now_us, last_auth_at_us=now_us)
        )

    def sessions_of(self, tenant_id: TenantId, user_id: UserId, now_us: int) -> list[Session]:
        rows = self.connection.execute(
            select(auth_sessions)
            .where(
                auth_sessions.c.tenant_id == tenant_id,
                auth_sessions.c.user_id == as_uuid(user_id),
                auth_sessions.c.revoked_at_us.is_(None),
                auth_sessions.c.expires_at_us > now_us,
            )
            .order_by(auth_sessions.c.created_at_us.desc(), auth_sessions.c.id)
        ).all()
        return [_session(row) for row in rows]

    def revoke_session(
        self, tenant_id: TenantId, user_id: UserId, session_id: SessionId, now_us: int
    ) -> bool:
        key = as_uuid(session_id)
        if key is None:
            return False
        result = self.connection.execute(
            update(auth_sessions)
            .where(
                auth_sessions.c.tenant_id == tenant_id,
                auth_sessions.c.user_id == as_uuid(user_id),
                auth_sessions.c.id == key,
                auth_sessions.c.revoked_at_us.is_(None),
            )
            .values(revoked_at_us=now_us)
        )
        return bool(result.rowcount)

    def revoke_sessions_of(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        now_us: int,
        *,
        keep: SessionId | None = None,
    ) -> int:
        query = update(auth_sessions).where(
            auth_sessions.c.tenant_id == tenant_id,
            auth_sessions.c.user_id == as_uuid(user_id),
            auth_sessions.c.revoked_at_us.is_(None),
        )
        if keep is not None:
            query = query.where(auth_sessions.c.id != as_uuid(keep))
        return int(self.connection.execute(query.values(revoked_at_us=now_us)).rowcount)


def _session(row: Any) -> Session:
    return Session(
        id=SessionId(str(row.id)),
        tenant_id=TenantId(row.tenant_id),
        user_id=UserId(str(row.user_id)),
        kind=SessionKind(row.kind),
        name=row.name,
        scopes=frozenset(Scope(s) for s in row.scopes.split()),
        created_at_us=int(row.created_at_us),
        last_seen_at_us=int(row.last_seen_at_us),
        last_auth_at_us=int(row.last_auth_at_us),
        expires_at_us=int(row.expires_at_us),
        revoked_at_us=None if row.revoked_at_us is None else int(row.revoked_at_us),
        user_agent=row.user_agent,
        ip=row.ip,
    )
