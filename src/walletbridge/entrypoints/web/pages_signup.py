"""Sign-up and password-reset pages.

Sign-up is two steps. First an email address or a phone number (E.164) and the preferred
language: the service sends a 6-digit code there (an address that already has an account gets a
notice instead, and the page says the same either way). The verification id stays in the
server-side session, never in the page. Then the code, a handle, a display name and a password:
the service checks the code (five tries per code), creates the person and opens a session, which
this browser takes over exactly as a sign-in does: a fresh session under a new id
(``sign_in_session``), so nothing an earlier visitor of this browser left behind survives.

Password reset is two steps as well: a login (handle, email or phone) gets a single-use code by
mail or text if it names an active person, and the page answers the same whether or not it does;
the code and a new password then set the password and sign out every session; this browser
then starts a fresh session under a new id (``start_fresh_session``). The reset code is a secret
like a password: after a refusal the page never shows it again, and the person pastes it anew.

The throttles are the API's: verification codes and reset requests per address
(``check_otp_send``, reset requests under ``reset:<login>``).
"""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.config import Environment
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.contacts import InvalidContact, normalise
from walletbridge.domain.errors import DomainError
from walletbridge.domain.identity import (
    Channel,
    HandleTaken,
    PasswordRejected,
    PasswordResetInvalid,
    ProfileInvalid,
    VerificationCodeInvalid,
    VerificationExpired,
    check_display_name,
)
from walletbridge.entrypoints.api.problems import STATUS_BY_KIND
from walletbridge.entrypoints.web.context import (
    LOCALE_KEY,
    Msg,
    Visitor,
    flash,
    page,
    sign_in_session,
    start_fresh_session,
)
from walletbridge.entrypoints.web.forms import Form, FormBody
from walletbridge.entrypoints.web.i18n import LOCALES, language_choices
from walletbridge.services.identity import IdentityService
from walletbridge.services.identity_support import IssuedToken

SIGNUP_KEY = "signup"
FIELD_OF: tuple[tuple[type[DomainError], str], ...] = (
    (VerificationCodeInvalid, "code"),
    (VerificationExpired, "code"),
    (InvalidContact, "handle"),
    (HandleTaken, "handle"),
    (ProfileInvalid, "display_name"),
    (PasswordRejected, "password"),
)
"""Which field a refusal of ``complete_signup`` is shown next to (others: the top)."""


def routes(container: Container) -> list[HTTPRouteHandler]:
    return [
        *_signup_start_routes(container),
        *_signup_complete_routes(container),
        *_reset_routes(container),
    ]


def _signup_start_routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle
    mailbox = container.settings.environment is not Environment.PRODUCTION

    def start_page(visitor: Visitor, form: Form, status: int = 200) -> Template:
        return page(
            visitor,
            "signup.html",
            status=status,
            form=form,
            choices=language_choices(),
            mailbox=mailbox,
        )

    @get("/signup", sync_to_thread=True)
    def show_signup(visitor: NamedDependency[Visitor]) -> Template | Redirect:
        if visitor.actor is not None:
            return Redirect(path="/", status_code=303)
        pending = _pending(visitor)
        contact = str(pending.get("address", "")) if pending else ""
        return start_page(visitor, Form.of({}, contact=contact, locale=visitor.locale))

    @post("/signup", sync_to_thread=True, status_code=200)
    def start_signup(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        form = Form.of(data)
        form.require("contact")
        if form.get("locale") not in LOCALES:
            form.error("locale", Msg("Choose one of the languages in the list."))
        if not form.ok:
            return start_page(visitor, form, 422)
        channel, address = _contact(form)
        if channel is None:
            return start_page(visitor, form, 422)
        try:
            throttle.check_otp_send(visitor.tenant.id, address)
            started = identity.start_signup(
                visitor.tenant.id, channel, address, locale=form.get("locale")
            )
        except DomainError as error:
            form.fail(error, "contact")
            return start_page(visitor, form, STATUS_BY_KIND[error.kind])
        visitor.session[SIGNUP_KEY] = {
            "verification_id": started.verification_id,
            "channel": started.channel.value,
            "address": address,
            "locale": form.get("locale"),
            "expires_at_us": started.expires_at_us,
        }
        return Redirect(path="/signup/complete", status_code=303)

    return [show_signup, start_signup]


def _signup_complete_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    mailbox = container.settings.environment is not Environment.PRODUCTION

    def complete_page(
        visitor: Visitor, pending: dict[str, Any], form: Form, status: int = 200
    ) -> Template:
        return page(
            visitor,
            "signup_complete.html",
            status=status,
            form=form,
            address=str(pending.get("address", "")),
            expires_at_us=int(pending.get("expires_at_us") or 0),
            mailbox=mailbox,
        )

    @get("/signup/complete", sync_to_thread=True)
    def show_complete(visitor: NamedDependency[Visitor]) -> Template | Redirect:
        if visitor.actor is not None:
            return Redirect(path="/", status_code=303)
        pending = _pending(visitor)
        if pending is None:
            return Redirect(path="/signup", status_code=303)
        return complete_page(visitor, pending, Form.of({}))

    @post("/signup/complete", sync_to_thread=True, status_code=200)
    def complete(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        pending = _pending(visitor)
        if pending is None:
            return Redirect(path="/signup", status_code=303)
        form = Form.of(data)
        _check_signup_fields(form)
        if not form.ok:
            return complete_page(visitor, pending, form, 422)
        try:
            token = _open_wallet(identity, visitor, pending, form)
        except DomainError as error:
            name = next((field for kind, field in FIELD_OF if isinstance(error, kind)), "")
            form.fail(error, name)
            return complete_page(visitor, pending, form, STATUS_BY_KIND[error.kind])
        _welcome(identity, visitor, token)
        return Redirect(path="/", status_code=303)

    return [show_complete, complete]


def _open_wallet(
    identity: IdentityService, visitor: Visitor, pending: dict[str, Any], form: Form
) -> IssuedToken:
    """The new person's session token, once the service has checked the code and created them."""
    _, token = identity.complete_signup(
        visitor.tenant.id,
        verification_id=str(pending["verification_id"]),
        code=form.get("code").replace(" ", ""),
        password=form.raw("password"),
        handle=form.get("handle"),
        display_name=form.get("display_name"),
        locale=str(pending.get("locale") or visitor.locale),
        context=visitor.context,
    )
    return token


def _welcome(identity: IdentityService, visitor: Visitor, token: IssuedToken) -> None:
    """Sign this browser in as the new person, in a fresh session under a new id: the pending
    sign-up, and anything else an earlier visitor left in the session, is gone afterwards."""
    actor = identity.authenticate(visitor.tenant.id, token.access_token, visitor.context)
    user = identity.me(actor)
    sign_in_session(visitor, token.access_token, user.display_name, **{LOCALE_KEY: user.locale})
    flash(visitor, "Welcome, {name}. Your wallet is open.", name=user.display_name)


def _pending(visitor: Visitor) -> dict[str, Any] | None:
    pending = visitor.session.get(SIGNUP_KEY)
    if not isinstance(pending, dict) or not pending.get("verification_id"):
        return None
    return pending


def _contact(form: Form) -> tuple[Channel | None, str]:
    """The channel and normal form of the address typed; an error on the form if it is none."""
    text = form.get("contact")
    channel = Channel.EMAIL if "@" in text else Channel.PHONE
    kind = RecipientKind.EMAIL if channel is Channel.EMAIL else RecipientKind.PHONE
    try:
        return channel, normalise(kind, text)
    except InvalidContact as error:
        form.fail(error, "contact")
        return None, ""


def _check_signup_fields(form: Form) -> None:
    """The checks that need no database, so several mistakes show at once."""
    form.require("code", "handle", "display_name", "password")
    if form.get("handle") and "handle" not in form.errors:
        try:
            normalise(RecipientKind.HANDLE, form.get("handle"))
        except InvalidContact as error:
            form.fail(error, "handle")
    if form.get("display_name"):
        try:
            check_display_name(form.get("display_name"))
        except ProfileInvalid as error:
            form.fail(error, "display_name")


def _reset_routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle

    @get("/password-reset", sync_to_thread=True)
    def show_request(visitor: NamedDependency[Visitor]) -> Template:
        return page(visitor, "password_reset.html", form=Form.of({}))

    @post("/password-reset", sync_to_thread=True, status_code=200)
    def request_reset(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        form = Form.of(data)
        if not form.require("login"):
            return page(visitor, "password_reset.html", form=form, status=422)
        tenant_id, login = visitor.tenant.id, form.get("login")
        try:
            throttle.check_otp_send(tenant_id, f"reset:{login}")
            identity.request_password_reset(tenant_id, login, visitor.context)
        except DomainError as error:
            form.fail(error)
            status = STATUS_BY_KIND[error.kind]
            return page(visitor, "password_reset.html", form=form, status=status)
        # The same answer whether or not the login names someone: nothing to learn here.
        flash(
            visitor,
            "If that login belongs to an account, we have sent a reset code to its email "
            "address or phone.",
        )
        return Redirect(path="/password-reset/complete", status_code=303)

    @get("/password-reset/complete", sync_to_thread=True)
    def show_complete(visitor: NamedDependency[Visitor]) -> Template:
        return page(visitor, "password_reset_complete.html", form=Form.of({}))

    @post("/password-reset/complete", sync_to_thread=True, status_code=200)
    def complete(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        form = Form.of(data)
        if not form.require("token", "new_password"):
            return page(visitor, "password_reset_complete.html", form=form, status=422)
        try:
            identity.complete_password_reset(
                visitor.tenant.id, form.get("token"), form.raw("new_password"), visitor.context
            )
        except DomainError as error:
            name = "token" if isinstance(error, PasswordResetInvalid) else "new_password"
            form.fail(error, name)
            status = STATUS_BY_KIND[error.kind]
            return page(visitor, "password_reset_complete.html", form=form, status=status)
        # Every session of the person was just revoked, this browser's too if it had one; and
        # whatever this browser's session held before is no business of the person signing in.
        start_fresh_session(visitor)
        flash(visitor, "Your password is changed. Sign in with the new one.")
        return Redirect(path="/signin", status_code=303)

    return [show_request, request_reset, show_complete, complete]
