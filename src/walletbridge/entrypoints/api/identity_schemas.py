"""Request and response bodies of the identity API, with their OpenAPI examples.

Request bodies are ``msgspec.Struct``s that forbid unknown fields, so a client cannot slip a
``role`` or ``kyc_tier`` into a sign-up or profile change. Response bodies carry no password
hash, TOTP secret (except the one-time enrolment answer), code or token hash.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar.openapi.spec import Example, SecurityRequirement
from litestar.params import Body

from walletbridge.domain.identity import Session, TenantBrand, User
from walletbridge.domain.instants import iso_utc as iso
from walletbridge.entrypoints.api.problems import example_response, problem_spec
from walletbridge.services.identity_support import IssuedToken

problem = problem_spec
ok = example_response

SECURITY: list[SecurityRequirement] = [{"BearerToken": []}]
TAG_AUTH = "authentication"
TAG_PROFILE = "profile"
TAG_OPERATOR = "operator"
TAG_TENANT = "tenant"

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Locale = Annotated[str, msgspec.Meta(max_length=10)]


class VerificationBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    channel: Literal["email", "phone"]
    address: Text
    locale: Locale | None = None


class SignupBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    verification_id: Annotated[str, msgspec.Meta(max_length=64)]
    code: Code
    password: Password
    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=31)]
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    locale: Locale | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    login: Text
    password: Password


class SecondFactorBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    challenge_id: Annotated[str, msgspec.Meta(max_length=64)]
    code: Code | None = None
    recovery_code: Code | None = None


class ReauthenticateBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    password: Password | None = None
    code: Code | None = None


class TokenBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[
        list[
            Literal["wallet:read", "payments:write", "profile:write", "security:write", "operator"]
        ],
        msgspec.Meta(min_length=1, max_length=5),
    ]


class ProfilePatchBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    locale: Locale | None = None


class PasswordChangeBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    current_password: Password
    new_password: Password


class CodeBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    code: Code


class ResetRequestBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    login: Text


class ResetCompleteBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    new_password: Password


class KycTierBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    tier: Annotated[int, msgspec.Meta(ge=1, le=3)]


# --- responses ----------------------------------------------------------------------------


class TokenView(msgspec.Struct, frozen=True):
    id: str
    access_token: str
    token_type: str
    session_id: str
    scopes: list[str]
    expires_at: str


class UserView(msgspec.Struct, frozen=True):
    id: str
    handle: str
    display_name: str
    email: str | None
    phone: str | None
    email_verified: bool
    phone_verified: bool
    role: str
    kyc_tier: int
    status: str
    locale: str
    totp_enabled: bool
    created_at: str


class VerificationView(msgspec.Struct, frozen=True):
    verification_id: str
    channel: str
    expires_at: str


class SignupView(msgspec.Struct, frozen=True):
    user: UserView
    token: TokenView


class LoginView(msgspec.Struct, frozen=True):
    status: Literal["authenticated", "second-factor-required"]
    token: TokenView | None = None
    challenge_id: str | None = None
    expires_at: str | None = None


class SessionView(msgspec.Struct, frozen=True):
    id: str
    kind: str
    name: str
    scopes: list[str]
    created_at: str
    last_seen_at: str
    expires_at: str
    user_agent: str | None
    ip: str | None
    current: bool


class SessionList(msgspec.Struct, frozen=True):
    items: list[SessionView]


class TotpView(msgspec.Struct, frozen=True):
    secret: str
    otpauth_uri: str


class RecoveryCodesView(msgspec.Struct, frozen=True):
    recovery_codes: list[str]


class BrandView(msgspec.Struct, frozen=True):
    tenant_id: str
    display_name: str
    primary_colour: str
    logo_text: str
    default_locale: str
    home_currency: str


def token_view(token: IssuedToken) -> TokenView:
    return TokenView(
        id=token.session_id,
        access_token=token.access_token,
        token_type=token.token_type,
        session_id=token.session_id,
        scopes=sorted(s.value for s in token.scopes),
        expires_at=iso(token.expires_at_us),
    )


def user_view(user: User) -> UserView:
    return UserView(
        id=user.user_id,
        handle=user.handle,
        display_name=user.display_name,
        email=user.email,
        phone=user.phone,
        email_verified=user.email_verified,
        phone_verified=user.phone_verified,
        role=user.role.value,
        kyc_tier=user.kyc_tier,
        status=user.status.value,
        locale=user.locale,
        totp_enabled=user.totp_enabled,
        created_at=iso(user.created_at_us),
    )


def session_view(session: Session, current_id: str) -> SessionView:
    return SessionView(
        id=session.id,
        kind=session.kind.value,
        name=session.name,
        scopes=sorted(s.value for s in session.scopes),
        created_at=iso(session.created_at_us),
        last_seen_at=iso(session.last_seen_at_us),
        expires_at=iso(session.expires_at_us),
        user_agent=session.user_agent,
        ip=session.ip,
        current=session.id == current_id,
    )


def brand_view(brand: TenantBrand, home_currency: str) -> BrandView:
    return BrandView(
        tenant_id=brand.tenant_id,
        display_name=brand.display_name,
        primary_colour=brand.primary_colour,
        logo_text=brand.logo_text,
        default_locale=brand.default_locale,
        home_currency=home_currency,
    )


# --- OpenAPI examples ---------------------------------------------------------------------

USER_ID = "01936f8e-4c1a-7b2e-9d3f-2a6b8c0e1f47"
SESSION_ID = "01936f8e-5d2b-7c3d-8e4f-3b7c9d1f2a58"
TOKEN_EXAMPLE = {
    "id": SESSION_ID,
    "access_token": "q3JXvY9mQ0yqzL2cN8rT1wE5uI7oP4aS6dF0gH2jK4l",
    "token_type": "Bearer",
    "session_id": SESSION_ID,
    "scopes": ["payments:write", "profile:write", "security:write", "wallet:read"],
    "expires_at": "2026-01-05T21:30:00.000Z",
}
USER_EXAMPLE = {
    "id": USER_ID,
    "handle": "alice",
    "display_name": "Alice Chen",
    "email": "alice@example.com",
    "phone": None,
    "email_verified": True,
    "phone_verified": False,
    "role": "customer",
    "kyc_tier": 1,
    "status": "active",
    "locale": "en",
    "totp_enabled": False,
    "created_at": "2026-01-05T09:30:00.000Z",
}
RECOVERY_EXAMPLE = {
    "recovery_codes": [f"k7m2p-{n}x9qa" for n in range(2, 10)] + ["abcde-fghjk", "mnpqr-stuvw"]
}


def body(example: dict[str, Any], summary: str) -> Any:
    """``Body`` metadata with one request example (use as ``Annotated[T, body(...)]``)."""
    return Body(examples=[Example(summary=summary, value=example)])


BAD_REQUEST = problem(400, "request-invalid", "The request's parameters are not valid.")
UNAUTHENTICATED = problem(
    401, "authentication-required", "Sign in first: send a valid bearer token."
)
CREDENTIALS = problem(401, "credentials-invalid", "The sign-in details are not correct.")
RATE_LIMITED = problem(429, "rate-limited", "Too many attempts; try again later.")
BLOCKED = problem(429, "second-factor-blocked", "Too many wrong codes; try again in 900 seconds.")
TENANT_NOT_FOUND = problem(404, "tenant-not-found", "Tenant acme does not exist.")
OPERATOR_ONLY = problem(
    403, "operator-only", "Only an operator with the operator scope may do this."
)
STALE = problem(
    401, "reauthentication-required", "The session has been idle; confirm it is you first."
)

PUBLIC_ERRORS = {400: BAD_REQUEST, 404: TENANT_NOT_FOUND}
"""Every route: a malformed request or header, and an unknown tenant."""
SIGNED_IN_ERRORS = {**PUBLIC_ERRORS, 401: UNAUTHENTICATED}
"""Every route that takes a bearer token."""
