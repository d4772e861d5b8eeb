"""Persistence of identity: tenant brands and hosts, and users (SQLAlchemy Core). Sessions
(``identity_sessions_store``) and codes, TOTP state, challenges and resets
(``identity_credentials_store``) are mixed in, so the unit of work exposes one ``identity`` store.

Users are unique per tenant by handle and by email and phone blind index; the store turns the
database's refusal into ``HandleTaken`` or ``ContactTaken``. Personal data arrives and leaves
sealed: this module never sees an email address or phone number in the clear.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from walletbridge.adapters.db.identity_credentials_store import SqlCredentialStore
from walletbridge.adapters.db.identity_sessions_store import SqlSessionStore, as_uuid
from walletbridge.adapters.db.tables_identity import (
    tenant_brands,
    tenant_hosts,
    users,
)
from walletbridge.domain.actors import RecipientKind, Role, UserId, UserStatus, UserSummary
from walletbridge.domain.identity import Channel, ContactTaken, HandleTaken, TenantBrand
from walletbridge.domain.ledger import TenantId
from walletbridge.ports.identity import UserRow

_SUMMARY_COLUMNS = (
    users.c.tenant_id,
    users.c.id,
    users.c.handle,
    users.c.display_name,
    users.c.kyc_tier,
    users.c.status,
)


class SqlIdentityStore(SqlSessionStore, SqlCredentialStore):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)

    # --- what other capabilities read -----------------------------------------------------

    def summary(self, tenant_id: TenantId, user_id: UserId) -> UserSummary | None:
        key = as_uuid(user_id)
        if key is None:
            return None
        query = select(*_SUMMARY_COLUMNS).where(users.c.tenant_id == tenant_id, users.c.id == key)
        return _summary(self.connection.execute(query).first())

    def recipient(self, tenant_id: TenantId, kind: RecipientKind, value: str) -> UserSummary | None:
        query = select(*_SUMMARY_COLUMNS).where(users.c.tenant_id == tenant_id)
        if kind is RecipientKind.HANDLE:
            query = query.where(users.c.handle == value)
        else:
            try:
                index = bytes.fromhex(value)
            except ValueError:
                return None
            column = users.c.email_index if kind is RecipientKind.EMAIL else users.c.phone_index
            query = query.where(column == index)
        return _summary(self.connection.execute(query).first())

    # --- tenant brands and hosts ----------------------------------------------------------

    def set_brand(self, brand: TenantBrand, now_us: int) -> None:
        values = {
            "display_name": brand.display_name,
            "primary_colour": brand.primary_colour,
            "logo_text": brand.logo_text,
            "default_locale": brand.default_locale,
            "updated_at_us": now_us,
        }
        changed = self.connection.execute(
            update(tenant_brands)
            .where(tenant_brands.c.tenant_id == brand.tenant_id)
            .values(**values)
        ).rowcount
        if not changed:
            self.connection.execute(
                insert(tenant_brands).values(tenant_id=brand.tenant_id, **values)
            )

    def brand(self, tenant_id: TenantId) -> TenantBrand | None:
        row = self.connection.execute(
            select(tenant_brands).where(tenant_brands.c.tenant_id == tenant_id)
        ).first()
        if row is None:
            return None
        return TenantBrand(
            TenantId(row.tenant_id),
            row.display_name,
            row.primary_colour,
            row.logo_text,
            row.default_locale,
        )

    def set_host(self, host: str, tenant_id: TenantId, now_us: int) -> None:
        changed = self.connection.execute(
            update(tenant_hosts).where(tenant_hosts.c.host == host).values(tenant_id=tenant_id)
        ).rowcount
        if not changed:
            self.connection.execute(
                insert(tenant_hosts).values(host=host, tenant_id=tenant_id, created_at_us=now_us)
            )

    def tenant_for_host(self, host: str) -> TenantId | None:
        found = self.connection.execute(
            select(tenant_hosts.c.tenant_id).where(tenant_hosts.c.host == host)
        ).scalar()
        return None if found is None else TenantId(found)

    # --- users ----------------------------------------------------------------------------

    def insert_user(self, row: UserRow) -> None:
        try:
            self.connection.execute(insert(users).values(**_user_values(row)))
        except IntegrityError as error:
            text = str(error.orig)
            if "handle" in text:
                raise HandleTaken(handle=row.handle) from None
            channel = "phone" if "phone" in text else "email"
            raise ContactTaken(channel=channel) from None

    def user(self, tenant_id: TenantId, user_id: UserId) -> UserRow | None:
        key = as_uuid(user_id)
        if key is None:
            return None
        return self._user_where(tenant_id, users.c.id == key)

    def user_by_handle(self, tenant_id: TenantId, handle: str) -> UserRow | None:
        return self._user_where(tenant_id, users.c.handle == handle)

    def user_by_index(self, tenant_id: TenantId, channel: Channel, index: bytes) -> UserRow | None:
        column = users.c.email_index if channel is Channel.EMAIL else users.c.phone_index
        return self._user_where(tenant_id, column == index)

    def _user_where(self, tenant_id: TenantId, condition: Any) -> UserRow | None:
        row = self.connection.execute(
            select(users).where(users.c.tenant_id == tenant_id, condition)
        ).first()
        return None if row is None else _user_row(row)

    def update_profile(
        self, tenant_id: TenantId, user_id: UserId, display_name: str, locale: str, now_us: int
    ) -> None:
        self._update_user(
            tenant_id, user_id, display_name=display_name, locale=locale, updated_at_us=now_us
        )

    def set_password_hash(
        self, tenant_id: TenantId, user_id: UserId, password_hash: str, now_us: int
    ) -> None:
        self._update_user(tenant_id, user_id, password_hash=password_hash, updated_at_us=now_us)

    def set_status(
        self, tenant_id: TenantId, user_id: UserId, status: UserStatus, now_us: int
    ) -> bool:
        return self._update_user(tenant_id, user_id, status=status.value, updated_at_us=now_us)

    def set_kyc_tier(self, tenant_id: TenantId, user_id: UserId, tier: int, now_us: int) -> bool:
        return self._update_user(tenant_id, user_id, kyc_tier=tier, updated_at_us=now_us)


def _summary(row: Any) -> UserSummary | None:
    if row is None:
        return None
    return UserSummary(
        tenant_id=TenantId(row.tenant_id),
        user_id=UserId(str(row.id)),
        handle=row.handle,
        display_name=row.display_name,
        kyc_tier=int(row.kyc_tier),
        status=UserStatus(row.status),
    )


def _user_values(row: UserRow) -> dict[str, Any]:
    return {
        "id": uuid.UUID(row.user_id),
        "tenant_id": row.tenant_id,
        "handle": row.handle,
        "display_name": row.display_name,
        "data_key": row.data_key,
        "email_index": row.email_index,
        "email_sealed": row.email_sealed,
        "phone_index": row.phone_index,
        "phone_sealed": row.phone_sealed,
        "email_verified": row.email_verified,
        "phone_verified": row.phone_verified,
        "role": row.role.value,
        "kyc_tier": row.kyc_tier,
        "status": row.status.value,
        "locale": row.locale,
        "password_hash": row.password_hash,
        "totp_secret_sealed": row.totp_secret_sealed,
        "totp_enabled": row.totp_enabled,
        "totp_last_step": None,
        "second_factor_failures": 0,
        "second_factor_blocked_until_us": None,
        "created_at_us": row.created_at_us,
        "updated_at_us": row.created_at_us,
    }


def _optional_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _user_row(row: Any) -> UserRow:
    return UserRow(
        tenant_id=TenantId(row.tenant_id),
        user_id=UserId(str(row.id)),
        handle=row.handle,
        display_name=row.display_name,
        data_key=bytes(row.data_key),
        email_index=_optional_bytes(row.email_index),
        email_sealed=_optional_bytes(row.email_sealed),
        phone_index=_optional_bytes(row.phone_index),
        phone_sealed=_optional_bytes(row.phone_sealed),
        email_verified=bool(row.email_verified),
        phone_verified=bool(row.phone_verified),
        role=Role(row.role),
        kyc_tier=int(row.kyc_tier),
        status=UserStatus(row.status),
        locale=row.locale,
        password_hash=row.password_hash,
        totp_secret_sealed=_optional_bytes(row.totp_secret_sealed),
        totp_enabled=bool(row.totp_enabled),
        created_at_us=int(row.created_at_us),
    )
