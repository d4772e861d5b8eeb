"""Identity: users, their credentials and sessions, tenant brands, and the rules they keep.

Invariants kept here (and again by the database): a handle is unique per tenant in its normal form
(``domain.contacts``); an email address or phone number belongs to one user per tenant (by blind
index); passwords are at least ``MIN_PASSWORD_LENGTH`` characters, not common and not built from
the user's own handle or email; a profile changes only its display name and locale.

    DomainError
    └── IdentityError
        ├── AuthenticationRequired       authentication-required       401
        ├── CredentialsInvalid           credentials-invalid           401
        ├── SecondFactorBlocked          second-factor-blocked         429
        ├── OperatorOnly                 operator-only                 403
        ├── UserNotFound                 user-not-found                404
        ├── SessionNotFound              session-not-found             404
        ├── VerificationCodeInvalid      verification-code-invalid     422
        ├── VerificationExpired          verification-expired          422
        ├── PasswordRejected             password-rejected             422
        ├── PasswordResetInvalid         password-reset-invalid        422
        ├── ProfileInvalid               profile-invalid               422
        ├── BrandInvalid                 brand-invalid                 422
        ├── HandleTaken                  handle-taken                  409
        ├── ContactTaken                 contact-taken                 409
        ├── TotpNotEnrolled              totp-not-enrolled             409
        └── TotpAlreadyEnabled           totp-already-enabled          409
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from walletbridge.domain.actors import RecipientKind, Role, Scope, SessionId, UserId, UserStatus
from walletbridge.domain.contacts import blind_index, normalise
from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.ledger import TenantId

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
SUPPORTED_LOCALES = ("en", "zh-CN")
RECOVERY_CODE_COUNT = 10
VERIFICATION_CODE_DIGITS = 6
VERIFICATION_MAX_ATTEMPTS = 5
API_TOKEN_SECONDS = 30 * 24 * 3600
CHALLENGE_SECONDS = 300
LAST_SEEN_WRITE_SECONDS = 30
"""``last_seen`` is written at most this often, so a busy session does not write per request; a
session may therefore look idle up to this much sooner than it is (the safe direction)."""
MIN_KYC_TIER = 1
MAX_KYC_TIER = 3

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_HOST = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class IdentityError(DomainError):
    code = "identity-error"


class AuthenticationRequired(IdentityError):
    code = "authentication-required"
    kind = ErrorKind.UNAUTHENTICATED
    template = "Sign in first: send a valid bearer token."


class CredentialsInvalid(IdentityError):
    """One answer for every wrong login, password, code or challenge: the caller learns nothing
    about which part was wrong, or whether the account exists."""

    code = "credentials-invalid"
    kind = ErrorKind.UNAUTHENTICATED
    template = "The sign-in details are not correct."


class SecondFactorBlocked(IdentityError):
    code = "second-factor-blocked"
    kind = ErrorKind.RATE_LIMITED
    template = "Too many wrong codes; try again in {retry_after_seconds} seconds."
    public = ("retry_after_seconds",)


class OperatorOnly(IdentityError):
    code = "operator-only"
    kind = ErrorKind.FORBIDDEN
    template = "Only an operator with the operator scope may do this."


class UserNotFound(IdentityError):
    code = "user-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "User {user_id} does not exist."


class SessionNotFound(IdentityError):
    code = "session-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Session {session_id} does not exist."


class VerificationCodeInvalid(IdentityError):
    code = "verification-code-invalid"
    template = "The verification code is not correct; {attempts_left} tries left."
    public = ("attempts_left",)


class VerificationExpired(IdentityError):
    code = "verification-expired"
    template = "This verification has expired or was used up; ask for a new code."


class PasswordRejected(IdentityError):
    code = "password-rejected"
    template = "Choose another password: {reason}."
    public = ("reason",)


class PasswordResetInvalid(IdentityError):
    code = "password-reset-invalid"
    template = "This password reset code is not valid any more; ask for a new one."


class ProfileInvalid(IdentityError):
    code = "profile-invalid"
    template = "The profile is not valid: {reason}."
    public = ("reason",)


class BrandInvalid(IdentityError):
    code = "brand-invalid"
    template = "The brand is not valid: {reason}."
    public = ("reason",)


class HandleTaken(IdentityError):
    code = "handle-taken"
    kind = ErrorKind.CONFLICT
    template = "The handle {handle} is taken; choose another."
    public = ("handle",)


class ContactTaken(IdentityError):
    code = "contact-taken"
    kind = ErrorKind.CONFLICT
    template = "This {channel} already belongs to an account; sign in or reset the password."
    public = ("channel",)


class TotpNotEnrolled(IdentityError):
    code = "totp-not-enrolled"
    kind = ErrorKind.CONFLICT
    template = "No authenticator app is set up for this account."


class TotpAlreadyEnabled(IdentityError):
    code = "totp-already-enabled"
    kind = ErrorKind.CONFLICT
    template = "An authenticator app is already set up; disable it first."


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


class SessionKind(StrEnum):
    BROWSER = "browser"
    API = "api"


@dataclass(frozen=True, slots=True)
class TenantBrand:
    tenant_id: TenantId
    display_name: str
    primary_colour: str = "#1f6feb"
    logo_text: str = ""
    default_locale: str = "en"

    def validate(self) -> None:
        if not 1 <= len(self.display_name) <= 100:
            raise BrandInvalid(reason="the display name is 1-100 characters")
        if not _COLOUR.match(self.primary_colour):
            raise BrandInvalid(reason="the primary colour is #rrggbb")
        if len(self.logo_text) > 40:
            raise BrandInvalid(reason="the logo text is at most 40 characters")
        if self.default_locale not in SUPPORTED_LOCALES:
            raise BrandInvalid(reason=f"the locale is one of {', '.join(SUPPORTED_LOCALES)}")


def normalise_host(host: str) -> str:
    """A host name in its lookup form: lower case, no port, no trailing dot."""
    name = host.strip().lower()
    if name.startswith("["):
        return name
    name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    return name.rstrip(".")


def validate_host(host: str) -> str:
    name = normalise_host(host)
    if len(name) > 253 or not _HOST.match(name):
        raise BrandInvalid(reason="the host name is not a valid DNS name")
    return name


@dataclass(frozen=True, slots=True)
class User:
    """A user as the identity service sees it; personal data already opened. Never serialised
    whole: the edge picks the fields a response may carry."""

    tenant_id: TenantId
    user_id: UserId
    handle: str
    display_name: str
    email: str | None
    phone: str | None
    email_verified: bool
    phone_verified: bool
    role: Role
    kyc_tier: int
    status: UserStatus
    locale: str
    totp_enabled: bool
    created_at_us: int


@dataclass(frozen=True, slots=True)
class Session:
    id: SessionId
    tenant_id: TenantId
    user_id: UserId
    kind: SessionKind
    name: str
    scopes: frozenset[Scope]
    created_at_us: int
    last_seen_at_us: int
    last_auth_at_us: int
    expires_at_us: int
    revoked_at_us: int | None
    user_agent: str | None
    ip: str | None

    def usable_at(self, now_us: int) -> bool:
        return self.revoked_at_us is None and now_us < self.expires_at_us


def fresh(session: Session, now_us: int, idle_seconds: int) -> bool:
    """Recently active enough to pay without proving identity again. API tokens are created by a
    fresh session for a named purpose and scope, and stay fresh while they live."""
    if session.kind is SessionKind.API:
        return True
    return now_us - session.last_seen_at_us <= idle_seconds * 1_000_000


def check_display_name(name: str) -> str:
    text = " ".join(name.split())
    if not 1 <= len(text) <= 100:
        raise ProfileInvalid(reason="the display name is 1-100 characters")
    if any(ord(c) < 32 for c in text):
        raise ProfileInvalid(reason="the display name holds control characters")
    return text


def check_locale(locale: str) -> str:
    if locale not in SUPPORTED_LOCALES:
        raise ProfileInvalid(reason=f"the locale is one of {', '.join(SUPPORTED_LOCALES)}")
    return locale


def check_kyc_tier(tier: int) -> int:
    if not MIN_KYC_TIER <= tier <= MAX_KYC_TIER:
        raise ProfileInvalid(reason=f"the KYC tier is {MIN_KYC_TIER}-{MAX_KYC_TIER}")
    return tier


def check_password(
    password: str,
    *,
    handle: str,
    email: str | None,
    is_common: Callable[[str], bool],
) -> None:
    """Refuse short, overlong and common passwords, and passwords that contain the user's handle
    or email local part (attackers try those first)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(reason=f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(reason=f"use at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.casefold()
    own = [handle.casefold()]
    if email:
        own.append(email.split("@", 1)[0].casefold())
    if any(len(part) >= 3 and part in lowered for part in own):
        raise PasswordRejected(reason="it must not contain your handle or email address")
    if is_common(password):
        raise PasswordRejected(reason="it is one of the most common passwords")


def recipient_lookup_value(secret_key: bytes, kind: RecipientKind, value: str) -> str:
    """What ``IdentityStore.recipient`` takes for a handle, email address or phone number typed
    by someone: the handle's normal form, or the hex blind index of the address's normal form.
    Raises ``InvalidContact`` for a malformed value."""
    normal = normalise(kind, value)
    if kind is RecipientKind.HANDLE:
        return normal
    return blind_index(secret_key, kind, normal).hex()


def contact_kind(channel: Channel) -> RecipientKind:
    return RecipientKind.EMAIL if channel is Channel.EMAIL else RecipientKind.PHONE
