"""Routes for the signed-in user's own account: profile, password, TOTP and recovery codes,
re-authentication, logout, sessions and API tokens. Every route takes ``actor`` (bearer token
required).

``PATCH /me`` changes only ``display_name`` and ``locale``: a body naming any other field (a
``role``, ``kyc_tier``, ``status``...) is refused whole with 422 ``request-body-invalid`` and
nothing changes.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, Scope
from walletbridge.entrypoints.api.identity_schemas import (
    BAD_REQUEST,
    BLOCKED,
    CREDENTIALS,
    RATE_LIMITED,
    RECOVERY_EXAMPLE,
    SECURITY,
    SESSION_ID,
    SIGNED_IN_ERRORS,
    STALE,
    TAG_AUTH,
    TAG_PROFILE,
    TOKEN_EXAMPLE,
    UNAUTHENTICATED,
    USER_EXAMPLE,
    CodeBody,
    PasswordChangeBody,
    ProfilePatchBody,
    ReauthenticateBody,
    RecoveryCodesView,
    SessionList,
    TokenBody,
    TokenView,
    TotpView,
    UserView,
    body,
    ok,
    problem,
    session_view,
    token_view,
    user_view,
)
from walletbridge.entrypoints.api.problems import problem as problem_response

V1 = "/api/v1"
SESSION_EXAMPLE = {
    "items": [
        {
            "id": SESSION_ID,
            "kind": "browser",
            "name": "Mozilla/5.0 (X11; Linux x86_64)",
            "scopes": ["payments:write", "profile:write", "security:write", "wallet:read"],
            "created_at": "2026-01-05T09:30:00.000Z",
            "last_seen_at": "2026-01-05T09:42:00.000Z",
            "expires_at": "2026-01-05T21:30:00.000Z",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "ip": "203.0.113.7",
            "current": True,
        }
    ]
}
CODE_BODY = body({"code": "492817"}, "Authenticator code")
TOTP_NOT_ENROLLED = problem(409, "totp-not-enrolled", "No authenticator app is set up.")
BODY_INVALID = problem(
    422, "request-body-invalid", "Only display_name and locale can be changed here."
)


def body_invalid(_: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    """PATCH /me: an unknown or malformed field refuses the whole change (mass assignment)."""
    return problem_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "request-body-invalid",
        "Only display_name and locale can be changed here.",
    )


def account_routes(container: Container) -> list[HTTPRouteHandler]:
    return [*_profile_routes(container), *_session_routes(container), *_totp_routes(container)]


def _profile_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    common: dict[str, Any] = {"sync_to_thread": True, "security": SECURITY}

    @get(
        f"{V1}/me",
        tags=[TAG_PROFILE],
        summary="Show my profile",
        description="The signed-in user's profile; never carries secrets.",
        responses={
            **SIGNED_IN_ERRORS,
            200: ok(UserView, USER_EXAMPLE, "The profile"),
            401: UNAUTHENTICATED,
        },
        **common,
    )
    def show_me(actor: NamedDependency[Actor]) -> UserView:
        return user_view(identity.me(actor))

    @patch(
        f"{V1}/me",
        tags=[TAG_PROFILE],
        summary="Change my display name or locale",
        description=(
            "Only `display_name` (what payers see) and `locale` (`en` or `zh-CN`) can change; "
            "any other field refuses the whole request with 422 `request-body-invalid`."
        ),
        exception_handlers={ValidationException: body_invalid},
        responses={
            **SIGNED_IN_ERRORS,
            200: ok(UserView, {**USER_EXAMPLE, "locale": "zh-CN"}, "Changed"),
            401: UNAUTHENTICATED,
            403: problem(
                403, "scope-missing", "This token does not carry the scope profile:write."
            ),
            422: BODY_INVALID,
        },
        **common,
    )
    def update_me(
        actor: NamedDependency[Actor],
        data: Annotated[
            ProfilePatchBody, body({"display_name": "Alice C.", "locale": "zh-CN"}, "Rename")
        ],
    ) -> UserView:
        user = identity.update_profile(actor, display_name=data.display_name, locale=data.locale)
        return user_view(user)

    @post(
        f"{V1}/me/password",
        status_code=204,
        tags=[TAG_PROFILE],
        summary="Change my password",
        description=(
            "Needs the current password; signs out every other session. Guesses of the current "
            "password count against the same limit as re-authentication."
        ),
        responses={
            **SIGNED_IN_ERRORS,
            400: BAD_REQUEST,
            401: CREDENTIALS,
            422: problem(422, "password-rejected", "Choose another password: use 10 characters."),
            429: RATE_LIMITED,
        },
        **common,
    )
    def change_password(
        actor: NamedDependency[Actor],
        data: Annotated[
            PasswordChangeBody,
            body(
                {
                    "current_password": "violet-harbour-tide-42",
                    "new_password": "amber-lantern-rain-17",
                },
                "Change",
            ),
        ],
    ) -> None:
        container.throttle.check_password_guess(actor.tenant_id, actor.user_id)
        identity.change_password(actor, data.current_password, data.new_password)

    return [show_me, update_me, change_password]


def _session_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    common: dict[str, Any] = {"sync_to_thread": True, "security": SECURITY, "tags": [TAG_AUTH]}

    @post(
        f"{V1}/auth/reauthenticate",
        status_code=204,
        summary="Confirm it is me (step-up)",
        description=(
            "Makes an idle session fresh again with the password or an authenticator code; "
            "payments after 5 idle minutes need this first."
        ),
        responses={**SIGNED_IN_ERRORS, 401: CREDENTIALS, 429: BLOCKED},
        **common,
    )
    def reauthenticate(
        actor: NamedDependency[Actor],
        data: Annotated[
            ReauthenticateBody, body({"password": "violet-harbour-tide-42"}, "With the password")
        ],
    ) -> None:
        if data.password is not None:  # password guesses count like logins; codes lock out
            container.throttle.check_password_guess(actor.tenant_id, actor.user_id)
        identity.reauthenticate(actor, password=data.password, code=data.code)

    @post(
        f"{V1}/auth/logout",
        status_code=204,
        summary="Sign out",
        description="Revokes the calling session's token on the server.",
        responses={**SIGNED_IN_ERRORS, 401: UNAUTHENTICATED},
        **common,
    )
    def logout(actor: NamedDependency[Actor]) -> None:
        identity.logout(actor)

    @get(
        f"{V1}/auth/sessions",
        summary="List my sessions",
        description="Signed-in browsers and API tokens that are neither revoked nor expired.",
        responses={
            **SIGNED_IN_ERRORS,
            200: ok(SessionList, SESSION_EXAMPLE, "Sessions"),
            401: UNAUTHENTICATED,
        },
        **common,
    )
    def list_sessions(actor: NamedDependency[Actor]) -> SessionList:
        return SessionList([session_view(s, actor.session_id) for s in identity.sessions(actor)])

    @delete(
        f"{V1}/auth/sessions/{{session_id:uuid}}",
        status_code=204,
        summary="Revoke one of my sessions",
        description="Signs out a browser or revokes an API token; another user's id is 404.",
        responses={
            **SIGNED_IN_ERRORS,
            401: UNAUTHENTICATED,
            404: problem(404, "session-not-found", f"Session {SESSION_ID} does not exist."),
        },
        **common,
    )
    def revoke_session(actor: NamedDependency[Actor], session_id: FromPath[UUID]) -> None:
        identity.revoke_session(actor, str(session_id))

    @post(
        f"{V1}/auth/tokens",
        status_code=201,
        summary="Create an API token",
        description=(
            "A scoped bearer token for API clients, valid 30 days, revocable like a session. "
            "Needs a fresh session, and cannot grant a scope the caller lacks."
        ),
        responses={
            **SIGNED_IN_ERRORS,
            201: ok(
                TokenView,
                {
                    **TOKEN_EXAMPLE,
                    "scopes": ["wallet:read"],
                    "expires_at": "2026-02-04T09:30:00.000Z",
                },
                "Created",
            ),
            400: BAD_REQUEST,
            401: STALE,
            403: problem(403, "scope-missing", "This token does not carry the scope operator."),
        },
        **common,
    )
    def create_token(
        actor: NamedDependency[Actor],
        data: Annotated[
            TokenBody, body({"name": "accounting export", "scopes": ["wallet:read"]}, "Read-only")
        ],
    ) -> TokenView:
        scopes = frozenset(Scope(s) for s in data.scopes)
        return token_view(identity.create_api_token(actor, data.name, scopes))

    return [reauthenticate, logout, list_sessions, revoke_session, create_token]


def _totp_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    common: dict[str, Any] = {"sync_to_thread": True, "security": SECURITY, "tags": [TAG_AUTH]}
    wrong = {400: BAD_REQUEST, 401: CREDENTIALS, 409: TOTP_NOT_ENROLLED, 429: BLOCKED}

    @post(
        f"{V1}/me/totp",
        status_code=201,
        summary="Start authenticator (TOTP) enrolment",
        description="A new secret and its otpauth URI (issuer: the tenant's brand) to scan.",
        responses={
            **SIGNED_IN_ERRORS,
            201: ok(
                TotpView,
                {
                    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                    "otpauth_uri": "otpauth://totp/Jade%20Bank:alice?secret=JBSW"
                    "Y3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Jade%20Bank",
                },
                "Enrolment started",
            ),
            401: UNAUTHENTICATED,
            409: problem(409, "totp-already-enabled", "An authenticator app is already set up."),
        },
        **common,
    )
    def begin_totp(actor: NamedDependency[Actor]) -> TotpView:
        secret, uri = identity.begin_totp(actor)
        return TotpView(secret, uri)

    @post(
        f"{V1}/me/totp/confirm",
        status_code=200,
        summary="Confirm authenticator enrolment",
        description="Turns TOTP on with a first code; answers the 10 recovery codes, shown once.",
        responses={
            **SIGNED_IN_ERRORS,
            200: ok(RecoveryCodesView, RECOVERY_EXAMPLE, "Enabled"),
            **wrong,
        },
        **common,
    )
    def confirm_totp(
        actor: NamedDependency[Actor], data: Annotated[CodeBody, CODE_BODY]
    ) -> RecoveryCodesView:
        return RecoveryCodesView(identity.confirm_totp(actor, data.code))

    @post(
        f"{V1}/me/totp/disable",
        status_code=204,
        summary="Turn the authenticator off",
        description="Needs a current authenticator code or a recovery code.",
        responses={**SIGNED_IN_ERRORS, **wrong},
        **common,
    )
    def disable_totp(actor: NamedDependency[Actor], data: Annotated[CodeBody, CODE_BODY]) -> None:
        identity.disable_totp(actor, data.code)

    @post(
        f"{V1}/me/recovery-codes",
        status_code=200,
        summary="Replace my recovery codes",
        description="Ten new single-use recovery codes; the old ones stop working.",
        responses={
            **SIGNED_IN_ERRORS,
            200: ok(RecoveryCodesView, RECOVERY_EXAMPLE, "New codes"),
            **wrong,
        },
        **common,
    )
    def regenerate(
        actor: NamedDependency[Actor], data: Annotated[CodeBody, CODE_BODY]
    ) -> RecoveryCodesView:
        return RecoveryCodesView(identity.regenerate_recovery_codes(actor, data.code))

    return [begin_totp, confirm_totp, disable_totp, regenerate]
