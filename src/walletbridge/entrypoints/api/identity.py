"""Routes for sign-up, verification, login, second factor, TOTP, recovery codes, password reset,
sessions and tokens, profile, and the operator's user actions.

Rate limits (``container.throttle``) are counted before the work they guard: login per login
identifier and per client IP, verification codes per address, reset requests per login. Operator
routes answer customers with 403 ``operator-only``, whatever the user id (so they reveal nothing
about which users exist).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import get, post, put
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, RequestContext, UserId, UserStatus
from walletbridge.domain.identity import Channel
from walletbridge.domain.instants import iso_utc as iso
from walletbridge.domain.tenants import Tenant
from walletbridge.entrypoints.api.identity_account import account_routes
from walletbridge.entrypoints.api.identity_schemas import (
    BAD_REQUEST,
    BLOCKED,
    CREDENTIALS,
    PUBLIC_ERRORS,
    RATE_LIMITED,
    SECURITY,
    SIGNED_IN_ERRORS,
    TAG_AUTH,
    TAG_OPERATOR,
    TAG_TENANT,
    TENANT_NOT_FOUND,
    TOKEN_EXAMPLE,
    USER_EXAMPLE,
    USER_ID,
    BrandView,
    KycTierBody,
    LoginBody,
    LoginView,
    ResetCompleteBody,
    ResetRequestBody,
    SecondFactorBody,
    SignupBody,
    SignupView,
    UserView,
    VerificationBody,
    VerificationView,
    body,
    brand_view,
    ok,
    problem,
    token_view,
    user_view,
)

V1 = "/api/v1"


def identity_routes(container: Container) -> list[ControllerRouterHandler]:
    return [
        *_signup_routes(container),
        *_login_routes(container),
        *_reset_routes(container),
        *account_routes(container),
        *_operator_routes(container),
    ]


def _signup_routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle

    @get(
        f"{V1}/tenant",
        sync_to_thread=True,
        tags=[TAG_TENANT],
        summary="Show the tenant's brand",
        description="The resolved tenant's brand (name, colour, logo text, default locale).",
        responses={
            **PUBLIC_ERRORS,
            200: ok(
                BrandView,
                {
                    "tenant_id": "demo-cny",
                    "display_name": "Jade Bank",
                    "primary_colour": "#0a7d5a",
                    "logo_text": "JADE",
                    "default_locale": "zh-CN",
                    "home_currency": "CNY",
                },
                "The brand",
            ),
            404: TENANT_NOT_FOUND,
        },
    )
    def show_tenant(tenant: NamedDependency[Tenant]) -> BrandView:
        return brand_view(identity.brand(tenant.id), tenant.home_currency)

    @post(
        f"{V1}/signup/verifications",
        status_code=202,
        sync_to_thread=True,
        tags=[TAG_AUTH],
        summary="Send a sign-up verification code",
        description=(
            "Sends a 6-digit code to an email address or phone number (E.164). The answer is "
            "the same whether or not the address already has an account. Limited per address."
        ),
        responses={
            **PUBLIC_ERRORS,
            202: ok(
                VerificationView,
                {
                    "verification_id": USER_ID,
                    "channel": "email",
                    "expires_at": "2026-01-05T09:40:00.000Z",
                },
                "Code sent",
            ),
            400: BAD_REQUEST,
            404: TENANT_NOT_FOUND,
            422: problem(422, "contact-invalid", "email is not valid."),
            429: RATE_LIMITED,
        },
    )
    def start_signup(
        tenant: NamedDependency[Tenant],
        data: Annotated[
            VerificationBody,
            body({"channel": "email", "address": "alice@example.com", "locale": "en"}, "By email"),
        ],
    ) -> VerificationView:
        throttle.check_otp_send(tenant.id, data.address)
        started = identity.start_signup(
            tenant.id, Channel(data.channel), data.address, locale=data.locale
        )
        return VerificationView(
            started.verification_id, started.channel.value, iso(started.expires_at_us)
        )

    @post(
        f"{V1}/signup",
        status_code=201,
        sync_to_thread=True,
        tags=[TAG_AUTH],
        summary="Complete sign-up",
        description=(
            "Checks the verification code (5 tries per code), creates the user with the verified "
            "address and signs them in. Passwords: at least 10 characters, not a common password, "
            "not containing the handle or the email's local part."
        ),
        responses={
            **PUBLIC_ERRORS,
            201: ok(SignupView, {"user": USER_EXAMPLE, "token": TOKEN_EXAMPLE}, "Signed up"),
            400: BAD_REQUEST,
            404: TENANT_NOT_FOUND,
            409: problem(409, "handle-taken", "The handle alice is taken; choose another."),
            422: problem(422, "verification-code-invalid", "The verification code is not correct."),
        },
    )
    def signup(
        tenant: NamedDependency[Tenant],
        context: NamedDependency[RequestContext],
        data: Annotated[
            SignupBody,
            body(
                {
                    "verification_id": USER_ID,
                    "code": "394021",
                    "password": "violet-harbour-tide-42",
                    "handle": "alice",
                    "display_name": "Alice Chen",
                    "locale": "en",
                },
                "Sign up",
            ),
        ],
    ) -> SignupView:
        _, token = identity.complete_signup(
            tenant.id,
            verification_id=data.verification_id,
            code=data.code,
            password=data.password,
            handle=data.handle,
            display_name=data.display_name,
            locale=data.locale,
            context=context,
        )
        actor = identity.authenticate(tenant.id, token.access_token, context)
        return SignupView(user_view(identity.me(actor)), token_view(token))

    return [show_tenant, start_signup, signup]


def _login_routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle

    @post(
        f"{V1}/auth/login",
        status_code=200,
        sync_to_thread=True,
        tags=[TAG_AUTH],
        summary="Sign in",
        description=(
            "Sign in with a handle, email address or phone number and the password. With TOTP "
            "on, the answer is a second-factor challenge instead of a token. Every wrong detail "
            "gets the same 401 `credentials-invalid`. Limited per login and per client IP."
        ),
        responses={
            **PUBLIC_ERRORS,
            200: ok(LoginView, {"status": "authenticated", "token": TOKEN_EXAMPLE}, "Signed in"),
            400: BAD_REQUEST,
            401: CREDENTIALS,
            404: TENANT_NOT_FOUND,
            429: RATE_LIMITED,
        },
    )
    def login(
        tenant: NamedDependency[Tenant],
        context: NamedDependency[RequestContext],
        data: Annotated[
            LoginBody,
            body({"login": "alice@example.com", "password": "violet-harbour-tide-42"}, "By email"),
        ],
    ) -> LoginView:
        throttle.check_login(tenant.id, data.login)
        throttle.check_login(tenant.id, f"ip:{context.ip or 'unknown'}")
        result = identity.login(tenant.id, data.login, data.password, context)
        if result.token is not None:
            return LoginView(status="authenticated", token=token_view(result.token))
        assert result.challenge_id is not None and result.challenge_expires_at_us is not None
        return LoginView(
            status="second-factor-required",
            challenge_id=result.challenge_id,
            expires_at=iso(result.challenge_expires_at_us),
        )

    @post(
        f"{V1}/auth/second-factor",
        status_code=200,
        sync_to_thread=True,
        tags=[TAG_AUTH],
        summary="Answer a second-factor challenge",
        description=(
            "Completes a login with an authenticator code or a recovery code (each works once). "
            "After 5 wrong codes in a row the second factor is blocked for a while and the user "
            "is alerted."
        ),
        responses={
            **PUBLIC_ERRORS,
            200: ok(LoginView, {"status": "authenticated", "token": TOKEN_EXAMPLE}, "Signed in"),
            400: BAD_REQUEST,
            401: CREDENTIALS,
            404: TENANT_NOT_FOUND,
            429: BLOCKED,
        },
    )
    def second_factor(
        tenant: NamedDependency[Tenant],
        context: NamedDependency[RequestContext],
        data: Annotated[
            SecondFactorBody,
            body({"challenge_id": USER_ID, "code": "492817"}, "Authenticator code"),
        ],
    ) -> LoginView:
        token = identity.complete_second_factor(
            tenant.id, data.challenge_id, context, code=data.code, recovery_code=data.recovery_code
        )
        return LoginView(status="authenticated", token=token_view(token))

    return [login, second_factor]


def _reset_routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle

    @post(
        f"{V1}/password-resets",
        status_code=202,
        sync_to_thread=True,
        tags=[TAG_AUTH],
        summary="Ask for a password reset",
        description=(
            "Mails (or texts) a single-use reset token if the login names an active user. The "
            "answer is always 202, so it does not tell whether the account exists."
        ),
        responses={
            **PUBLIC_ERRORS,
            202: ok(None, None, "Accepted"),
            400: BAD_REQUEST,
            404: TENANT_NOT_FOUND,
            429: RATE_LIMITED,
        },
    )
    def request_reset(
        tenant: NamedDependency[Tenant],
        context: NamedDependency[RequestContext],
        data: Annotated[ResetRequestBody, body({"login": "alice@example.com"}, "By email")],
    ) -> None:
        throttle.check_otp_send(tenant.id, f"reset:{data.login}")
        identity.request_password_reset(tenant.id, data.login, context)

    @post(
        f"{V1}/password-resets/complete",
        status_code=204,
        sync_to_thread=True,
        tags=[TAG_AUTH],
        summary="Choose a new password with a reset token",
        description="Sets the new password (once per token) and signs out every session.",
        responses={
            **PUBLIC_ERRORS,
            400: BAD_REQUEST,
            404: TENANT_NOT_FOUND,
            422: problem(
                422,
                "password-reset-invalid",
                "This password reset code is not valid any more; ask for a new one.",
            ),
        },
    )
    def complete_reset(
        tenant: NamedDependency[Tenant],
        context: NamedDependency[RequestContext],
        data: Annotated[
            ResetCompleteBody,
            body(
                {
                    "token": "Jx0c3m9Vf2mQ1tq8l7Rk5Zb4nW6yP0aS2dF8gH1jK3l",
                    "new_password": "amber-lantern-rain-17",
                },
                "Reset",
            ),
        ],
    ) -> None:
        identity.complete_password_reset(tenant.id, data.token, data.new_password, context)

    return [request_reset, complete_reset]


def _operator_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    common: dict[str, Any] = {
        "sync_to_thread": True,
        "tags": [TAG_OPERATOR],
        "security": SECURITY,
    }
    errors = {
        **SIGNED_IN_ERRORS,
        403: problem(403, "operator-only", "Only an operator with the operator scope may do this."),
        404: problem(404, "user-not-found", f"User {USER_ID} does not exist."),
    }

    @get(
        f"{V1}/admin/users/{{user_id:uuid}}",
        summary="Show a user (operator)",
        description="A user of the operator's tenant. Customers get 403 `operator-only`.",
        responses={**PUBLIC_ERRORS, 200: ok(UserView, USER_EXAMPLE, "The user"), **errors},
        **common,
    )
    def show_user(actor: NamedDependency[Actor], user_id: FromPath[UUID]) -> UserView:
        return user_view(identity.user_for_operator(actor, str(user_id)))

    @post(
        f"{V1}/admin/users/{{user_id:uuid}}/disable",
        status_code=200,
        summary="Disable a user (operator)",
        description="The user can no longer sign in, and every session of theirs is revoked.",
        responses={
            **PUBLIC_ERRORS,
            200: ok(UserView, {**USER_EXAMPLE, "status": "disabled"}, "Disabled"),
            **errors,
        },
        **common,
    )
    def disable_user(actor: NamedDependency[Actor], user_id: FromPath[UUID]) -> UserView:
        return user_view(identity.set_user_status(actor, str(user_id), UserStatus.DISABLED))

    @post(
        f"{V1}/admin/users/{{user_id:uuid}}/enable",
        status_code=200,
        summary="Enable a user (operator)",
        description="A disabled user may sign in again (their old sessions stay revoked).",
        responses={**PUBLIC_ERRORS, 200: ok(UserView, USER_EXAMPLE, "Enabled"), **errors},
        **common,
    )
    def enable_user(actor: NamedDependency[Actor], user_id: FromPath[UUID]) -> UserView:
        return user_view(identity.set_user_status(actor, str(user_id), UserStatus.ACTIVE))

    @put(
        f"{V1}/admin/users/{{user_id:uuid}}/kyc-tier",
        summary="Set a user's KYC tier (operator)",
        description="Tiers 1-3 drive the user's limits.",
        responses={
            **PUBLIC_ERRORS,
            200: ok(UserView, {**USER_EXAMPLE, "kyc_tier": 2}, "Changed"),
            **errors,
            400: BAD_REQUEST,
            422: problem(422, "profile-invalid", "The KYC tier is 1-3."),
        },
        **common,
    )
    def set_kyc_tier(
        actor: NamedDependency[Actor],
        user_id: FromPath[UUID],
        data: Annotated[KycTierBody, body({"tier": 2}, "Tier 2")],
    ) -> UserView:
        changed = identity.set_user_kyc_tier(actor, str(user_id), data.tier)
        # The tier's balance caps live on the wallet's ledger accounts: move them too.
        container.wallets.apply_kyc_tier(actor.tenant_id, UserId(str(user_id)))
        return user_view(changed)

    return [show_user, disable_user, enable_user, set_kyc_tier]
