"""Ports for identity: users, credentials, sessions and the cryptography behind them.

The store holds personal data only sealed (``*_sealed``, opened by a ``DataSealer`` under the
user's own data key) and finds it by blind index; it holds secrets (passwords, codes, tokens) only
as hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from walletbridge.domain.actors import (
    RecipientKind,
    Role,
    SessionId,
    UserId,
    UserStatus,
    UserSummary,
)
from walletbridge.domain.identity import Channel, Session, TenantBrand
from walletbridge.domain.ledger import TenantId


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as stored: personal data sealed, the password hashed."""

    tenant_id: TenantId
    user_id: UserId
    handle: str
    display_name: str
    data_key: bytes
    """The user's data key, wrapped by the master key."""
    email_index: bytes | None
    email_sealed: bytes | None
    phone_index: bytes | None
    phone_sealed: bytes | None
    email_verified: bool
    phone_verified: bool
    role: Role
    kyc_tier: int
    status: UserStatus
    locale: str
    password_hash: str
    totp_secret_sealed: bytes | None
    totp_enabled: bool
    created_at_us: int


@dataclass(frozen=True, slots=True)
class VerificationRow:
    id: str
    tenant_id: TenantId
    channel: Channel
    address_index: bytes
    address_sealed: bytes
    data_key: bytes
    """Wrapped data key the address is sealed under; the new user adopts it."""
    code_hash: bytes
    attempts: int
    locale: str
    expires_at_us: int
    consumed_at_us: int | None
    created_at_us: int


@dataclass(frozen=True, slots=True)
class SessionAuth:
    """What authenticating a bearer token yields: the session and its user's standing."""

    session: Session
    role: Role
    status: UserStatus


class IdentityStore(Protocol):
    def summary(self, tenant_id: TenantId, user_id: UserId) -> UserSummary | None: ...
    def recipient(self, tenant_id: TenantId, kind: RecipientKind, value: str) -> UserSummary | None:
        """The user that a handle, email address or phone number names in this tenant. For a
        handle, ``value`` is its normal form; for an email address or phone number it is the
        hex blind index of the normal form (``domain.identity.recipient_lookup_value`` computes
        either)."""
        ...

    # Tenant brands and host names.
    def set_brand(self, brand: TenantBrand, now_us: int) -> None: ...
    def brand(self, tenant_id: TenantId) -> TenantBrand | None: ...
    def set_host(self, host: str, tenant_id: TenantId, now_us: int) -> None: ...
    def tenant_for_host(self, host: str) -> TenantId | None: ...

    # Users.
    def insert_user(self, row: UserRow) -> None:
        """Raises ``HandleTaken`` or ``ContactTaken`` when a unique key is taken."""
        ...

    def user(self, tenant_id: TenantId, user_id: UserId) -> UserRow | None: ...
    def user_by_handle(self, tenant_id: TenantId, handle: str) -> UserRow | None: ...
    def user_by_index(
        self, tenant_id: TenantId, channel: Channel, index: bytes
    ) -> UserRow | None: ...
    def update_profile(
        self, tenant_id: TenantId, user_id: UserId, display_name: str, locale: str, now_us: int
    ) -> None: ...
    def set_password_hash(
        self, tenant_id: TenantId, user_id: UserId, password_hash: str, now_us: int
    ) -> None: ...
    def set_status(
        self, tenant_id: TenantId, user_id: UserId, status: UserStatus, now_us: int
    ) -> bool: ...
    def set_kyc_tier(
        self, tenant_id: TenantId, user_id: UserId, tier: int, now_us: int
    ) -> bool: ...

    # Verification codes.
    def insert_verification(self, row: VerificationRow) -> None: ...
    def reserve_verification_attempt(
        self, tenant_id: TenantId, verification_id: str, now_us: int, max_attempts: int
    ) -> VerificationRow | None:
        """Count one attempt if the verification is live and has tries left (a conditional
        update); the row afterwards, or None."""
        ...

    def consume_verification(
        self, tenant_id: TenantId, verification_id: str, now_us: int
    ) -> bool: ...

    # TOTP, recovery codes and the second-factor counter.
    def set_totp(
        self, tenant_id: TenantId, user_id: UserId, secret_sealed: bytes | None, enabled: bool
    ) -> None:
        """Store the sealed TOTP secret and whether it is confirmed; a new or removed secret
        forgets the last accepted time step, confirming one keeps it."""
        ...

    def advance_totp_step(self, tenant_id: TenantId, user_id: UserId, step: int) -> bool:
        """Record ``step`` as the last accepted TOTP time step if it is later than the one kept;
        False means the code was already used (a replay)."""
        ...

    def reserve_second_factor_attempt(
        self, tenant_id: TenantId, user_id: UserId, now_us: int, max_failures: int
    ) -> int | None:
        """Take an attempt slot (conditional update): the failures counted so far including
        this attempt, or None when the user is blocked."""
        ...

    def block_second_factor(self, tenant_id: TenantId, user_id: UserId, until_us: int) -> None: ...
    def reset_second_factor(self, tenant_id: TenantId, user_id: UserId) -> None: ...
    def second_factor_blocked_until(
        self, tenant_id: TenantId, user_id: UserId, now_us: int
    ) -> int | None: ...
    def replace_recovery_codes(
        self, tenant_id: TenantId, user_id: UserId, code_hashes: list[bytes], now_us: int
    ) -> None: ...
    def use_recovery_code(
        self, tenant_id: TenantId, user_id: UserId, code_hash: bytes, now_us: int
    ) -> bool: ...

    # Second-factor challenges after a correct password.
    def insert_challenge(
        self,
        tenant_id: TenantId,
        challenge_id: str,
        user_id: UserId,
        expires_at_us: int,
        now_us: int,
    ) -> None: ...
    def challenge_user(
        self, tenant_id: TenantId, challenge_id: str, now_us: int
    ) -> UserId | None: ...
    def consume_challenge(self, tenant_id: TenantId, challenge_id: str, now_us: int) -> bool: ...

    # Password resets.
    def insert_password_reset(
        self,
        tenant_id: TenantId,
        reset_id: str,
        user_id: UserId,
        token_hash: bytes,
        expires_at_us: int,
        now_us: int,
    ) -> None: ...
    def use_password_reset(
        self, tenant_id: TenantId, token_hash: bytes, now_us: int
    ) -> UserId | None: ...

    # Sessions and API tokens.
    def insert_session(self, session: Session, token_hash: bytes) -> None: ...
    def session_by_token(self, token_hash: bytes) -> SessionAuth | None: ...
    def session(self, tenant_id: TenantId, session_id: SessionId) -> Session | None: ...
    def touch_session(
        self, session_id: SessionId, now_us: int, *, min_gap_us: int, idle_us: int
    ) -> None: ...
    def mark_reauthenticated(self, session_id: SessionId, now_us: int) -> None: ...
    def sessions_of(self, tenant_id: TenantId, user_id: UserId, now_us: int) -> list[Session]: ...
    def revoke_session(
        self, tenant_id: TenantId, user_id: UserId, session_id: SessionId, now_us: int
    ) -> bool: ...
    def revoke_sessions_of(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        now_us: int,
        *,
        keep: SessionId | None = None,
    ) -> int: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than today's."""
        ...


class TotpEngine(Protocol):
    def new_secret(self) -> str: ...
    def provisioning_uri(self, secret: str, *, account_name: str, issuer: str) -> str: ...
    def matching_step(self, secret: str, code: str, now_us: int) -> int | None:
        """The time step ``code`` is valid for (now, or one step either side), or None."""
        ...


class DataSealer(Protocol):
    """Envelope encryption: each user has a data key, stored wrapped by the master key."""

    def new_data_key(self) -> bytes:
        """A fresh data key, already wrapped."""
        ...

    def seal(self, data_key: bytes, plaintext: str, label: str) -> bytes: ...
    def open(self, data_key: bytes, sealed: bytes, label: str) -> str: ...


class PasswordList(Protocol):
    def is_common(self, password: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class IdentityCrypto:
    """The cryptography the identity service needs, chosen by ``bootstrap``."""

    passwords: PasswordHasher
    totp: TotpEngine
    sealer: DataSealer
    common_passwords: PasswordList


__all__ = [
    "DataSealer",
    "IdentityCrypto",
    "IdentityStore",
    "PasswordHasher",
    "PasswordList",
    "SessionAuth",
    "TotpEngine",
    "UserRow",
    "VerificationRow",
]
