"""Persistence of what proves identity besides the password: verification codes, the TOTP time
step and second-factor counter, recovery codes, login challenges and password resets.

Every counter that guards a secret moves by a conditional UPDATE, so concurrent attempts queue on
the row lock and each sees the count the one before it left: an attempt slot is taken before the
code is evaluated, and a code, challenge or token is consumed at most once.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, and_, case, insert, or_, select, update

from walletbridge.adapters.db.identity_sessions_store import as_uuid
from walletbridge.adapters.db.tables_identity import (
    login_challenges,
    password_resets,
    recovery_codes,
    users,
    verifications,
)
from walletbridge.domain.actors import UserId
from walletbridge.domain.identity import Channel
from walletbridge.domain.ledger import TenantId
from walletbridge.ports.identity import VerificationRow


class SqlCredentialStore:
    connection: Connection

    def _update_user(self, tenant_id: TenantId, user_id: UserId, **values: Any) -> bool:
        key = as_uuid(user_id)
        if key is None:
            return False
        result = self.connection.execute(
            update(users).where(users.c.tenant_id == tenant_id, users.c.id == key).values(**values)
        )
        return bool(result.rowcount)

    # --- verification codes ---------------------------------------------------------------

    def insert_verification(self, row: VerificationRow) -> None:
        self.connection.execute(
            insert(verifications).values(
                id=uuid.UUID(row.id),
                tenant_id=row.tenant_id,
                channel=row.channel.value,
                address_index=row.address_index,
                address_sealed=row.address_sealed,
                data_key=row.data_key,
                code_hash=row.code_hash,
                attempts=row.attempts,
                locale=row.locale,
                expires_at_us=row.expires_at_us,
                consumed_at_us=row.consumed_at_us,
                created_at_us=row.created_at_us,
            )
        )

    def reserve_verification_attempt(
        self, tenant_id: TenantId, verification_id: str, now_us: int, max_attempts: int
    ) -> VerificationRow | None:
        key = as_uuid(verification_id)
        if key is None:
            return None
        row = self.connection.execute(
            update(verifications)
            .where(
                verifications.c.tenant_id == tenant_id,
                verifications.c.id == key,
                verifications.c.attempts < max_attempts,
                verifications.c.consumed_at_us.is_(None),
                verifications.c.expires_at_us > now_us,
            )
            .values(attempts=verifications.c.attempts + 1)
            .returning(*verifications.c)
        ).first()
        if row is None:
            return None
        return VerificationRow(
            id=str(row.id),
            tenant_id=TenantId(row.tenant_id),
            channel=Channel(row.channel),
            address_index=bytes(row.address_index),
            address_sealed=bytes(row.address_sealed),
            data_key=bytes(row.data_key),
            code_hash=bytes(row.code_hash),
            attempts=row.attempts,
            locale=row.locale,
            expires_at_us=row.expires_at_us,
            consumed_at_us=row.consumed_at_us,
            created_at_us=row.created_at_us,
        )

    def consume_verification(self, tenant_id: TenantId, verification_id: str, now_us: int) -> bool:
        key = as_uuid(verification_id)
        result = self.connection.execute(
            update(verifications)
            .where(
                verifications.c.tenant_id == tenant_id,
                verifications.c.id == key,
                verifications.c.consumed_at_us.is_(None),
            )
            .values(consumed_at_us=now_us)
        )
        return bool(result.rowcount)

    # --- TOTP, recovery codes, second-factor counter --------------------------------------

    def set_totp(
        self, tenant_id: TenantId, user_id: UserId, secret_sealed: bytes | None, enabled: bool
    ) -> None:
        self._update_user(
            tenant_id,
            user_id,
            totp_secret_sealed=secret_sealed,
            totp_enabled=enabled,
            # Confirming keeps the step just accepted; a new or removed secret forgets it.
            totp_last_step=users.c.totp_last_step if enabled else None,
        )

    def advance_totp_step(self, tenant_id: TenantId, user_id: UserId, step: int) -> bool:
        key = as_uuid(user_id)
        result = self.connection.execute(
            update(users)
            .where(
                users.c.tenant_id == tenant_id,
                users.c.id == key,
                or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return bool(result.rowcount)

    def reserve_second_factor_attempt(
        self, tenant_id: TenantId, user_id: UserId, now_us: int, max_failures: int
    ) -> int | None:
        key = as_uuid(user_id)
        block_over = and_(
            users.c.second_factor_blocked_until_us.is_not(None),
            users.c.second_factor_blocked_until_us <= now_us,
        )
        return self.connection.execute(
            update(users)
            .where(
                users.c.tenant_id == tenant_id,
                users.c.id == key,
                or_(
                    and_(
                        users.c.second_factor_failures < max_failures,
                        users.c.second_factor_blocked_until_us.is_(None),
                    ),
                    block_over,
                ),
            )
            .values(
                second_factor_failures=case(
                    (block_over, 1), else_=users.c.second_factor_failures + 1
                ),
                second_factor_blocked_until_us=None,
            )
            .returning(users.c.second_factor_failures)
        ).scalar()

    def block_second_factor(self, tenant_id: TenantId, user_id: UserId, until_us: int) -> None:
        self._update_user(tenant_id, user_id, second_factor_blocked_until_us=until_us)

    def reset_second_factor(self, tenant_id: TenantId, user_id: UserId) -> None:
        self._update_user(
            tenant_id, user_id, second_factor_failures=0, second_factor_blocked_until_us=None
        )

    def second_factor_blocked_until(
        self, tenant_id: TenantId, user_id: UserId, now_us: int
    ) -> int | None:
        key = as_uuid(user_id)
        until = self.connection.execute(
            select(users.c.second_factor_blocked_until_us).where(
                users.c.tenant_id == tenant_id, users.c.id == key
            )
        ).scalar()
        return until if until is not None and until > now_us else None

    def replace_recovery_codes(
        self, tenant_id: TenantId, user_id: UserId, code_hashes: list[bytes], now_us: int
    ) -> None:
        key = as_uuid(user_id)
        self.connection.execute(recovery_codes.delete().where(recovery_codes.c.user_id == key))
        if code_hashes:
            self.connection.execute(
                insert(recovery_codes),
                [
                    {
                        "user_id": key,
                        "code_hash": h,
                        "tenant_id": tenant_id,
                        "created_at_us": now_us,
                    }
                    for h in code_hashes
                ],
            )

    def use_recovery_code(
        self, tenant_id: TenantId, user_id: UserId, code_hash: bytes, now_us: int
    ) -> bool:
        result = self.connection.execute(
            update(recovery_codes)
            .where(
                recovery_codes.c.tenant_id == tenant_id,
                recovery_codes.c.user_id == as_uuid(user_id),
                recovery_codes.c.code_hash == code_hash,
                recovery_codes.c.used_at_us.is_(None),
            )
            .values(used_at_us=now_us)
        )
        return bool(result.rowcount)

    # --- login challenges and password resets ---------------------------------------------

    def insert_challenge(
        self,
        tenant_id: TenantId,
        challenge_id: str,
        user_id: UserId,
        expires_at_us: int,
        now_us: int,
    ) -> None:
        self.connection.execute(
            insert(login_challenges).values(
                id=uuid.UUID(challenge_id),
                tenant_id=tenant_id,
                user_id=as_uuid(user_id),
                expires_at_us=expires_at_us,
                created_at_us=now_us,
            )
        )

    def challenge_user(self, tenant_id: TenantId, challenge_id: str, now_us: int) -> UserId | None:
        key = as_uuid(challenge_id)
        if key is None:
            return None
        found = self.connection.execute(
            select(login_challenges.c.user_id).where(
                login_challenges.c.tenant_id == tenant_id,
                login_challenges.c.id == key,
                login_challenges.c.consumed_at_us.is_(None),
                login_challenges.c.expires_at_us > now_us,
            )
        ).scalar()
        return None if found is None else UserId(str(found))

    def consume_challenge(self, tenant_id: TenantId, challenge_id: str, now_us: int) -> bool:
        result = self.connection.execute(
            update(login_challenges)
            .where(
                login_challenges.c.tenant_id == tenant_id,
                login_challenges.c.id == as_uuid(challenge_id),
                login_challenges.c.consumed_at_us.is_(None),
                login_challenges.c.expires_at_us > now_us,
            )
            .values(consumed_at_us=now_us)
        )
        return bool(result.rowcount)

    def insert_password_reset(
        self,
        tenant_id: TenantId,
        reset_id: str,
        user_id: UserId,
        token_hash: bytes,
        expires_at_us: int,
        now_us: int,
    ) -> None:
        self.connection.execute(
            insert(password_resets).values(
                id=uuid.UUID(reset_id),
                tenant_id=tenant_id,
                user_id=as_uuid(user_id),
                token_hash=token_hash,
                expires_at_us=expires_at_us,
                created_at_us=now_us,
            )
        )

    def use_password_reset(
        self, tenant_id: TenantId, token_hash: bytes, now_us: int
    ) -> UserId | None:
        found = self.connection.execute(
            update(password_resets)
            .where(
                password_resets.c.tenant_id == tenant_id,
                password_resets.c.token_hash == token_hash,
                password_resets.c.used_at_us.is_(None),
                password_resets.c.expires_at_us > now_us,
            )
            .values(used_at_us=now_us)
            .returning(password_resets.c.user_id)
        ).scalar()
        return None if found is None else UserId(str(found))
