"""Two-step verification settings: turning an authenticator app (TOTP) on with a QR code, turning
it off, and replacing the recovery codes.

Turning it on is two steps. ``begin_totp`` makes a new secret (sealed at rest by the service) and
the page shows it once as a QR code (segno, an inline SVG ``data:`` image, which the CSP allows)
and as text. The secret and its otpauth URI ride along in the confirmation form as hidden fields,
only so the same QR code can be shown again after a mistyped code: the service checks the code
against its own sealed copy, so a tampered field changes nothing but the picture. No copy is
kept in the session store, where it would lie unsealed. The recovery codes come back from the
confirmation (or from a replacement) and are shown on that one response only; they are not
stored anywhere a later page could read them, so they are shown once.

Because they are shown once, a form sent again (a double click without JavaScript, or reloading
the codes page, which posts again) must not leave the person without codes and without knowing
it. A confirmation that finds two-step verification already on, and a replacement form whose
form key (``idempotency_key``, minted when the form is shown) already produced codes in this
session, answer with a notice instead: the codes were shown on the first response, and if they
were not saved, the button makes new ones now. Only the used form keys are kept in the session,
never the codes. A replacement sent twice at the same instant cannot be told from a wrong code
(the second finds the app code spent), so the refusal on that page says so as well.

Turning it on, off and replacing the codes need a fresh session (``StepUp``), whose proof is the
password or an authenticator code (see ``pages_settings``); when the page already knows the
session is stale, its form carries the password field too.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from typing import TypeVar

import segno
from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, ReauthenticationRequired
from walletbridge.domain.errors import DomainError
from walletbridge.domain.identity import TotpAlreadyEnabled, TotpNotEnrolled
from walletbridge.entrypoints.api.problems import STATUS_BY_KIND
from walletbridge.entrypoints.web.context import Msg, Visitor, flash, page
from walletbridge.entrypoints.web.forms import Form, FormBody, new_form_key
from walletbridge.entrypoints.web.pages_settings import StepUp

_SECRET = re.compile(r"^[A-Z2-7]{16,128}$")
_URI_PREFIX = "otpauth://totp/"
HOME = "/settings/two-step"
RECOVERY = f"{HOME}/recovery-codes"
USED_FORMS_KEY = "recovery_code_forms"
"""Session key: the form keys of the recovery-code forms that already produced codes."""
USED_FORMS_KEPT = 10
T = TypeVar("T")


def routes(container: Container) -> list[HTTPRouteHandler]:
    return [
        *_enrolment_routes(container),
        *_disable_routes(container),
        *_recovery_routes(container),
    ]


def _enrolment_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    stepup = StepUp(identity, container.throttle)

    @get(HOME, sync_to_thread=True)
    def overview(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        return _overview(visitor, actor, identity.me(actor).totp_enabled, Form.of({}))

    @post(f"{HOME}/enable", sync_to_thread=True, status_code=200)
    def enable(visitor: NamedDependency[Visitor], data: FormBody) -> Template:
        form = Form.of(data)
        try:
            started = stepup.run(
                visitor,
                form,
                action=f"{HOME}/enable",
                purpose=Msg("You are setting up two-step verification."),
                work=identity.begin_totp,
            )
        except (TotpAlreadyEnabled, TotpNotEnrolled) as error:
            form.fail(error)
            actor, status = visitor.member(), STATUS_BY_KIND[error.kind]
            return _overview(visitor, actor, identity.me(actor).totp_enabled, form, status=status)
        if isinstance(started, Template):
            return started
        secret, uri = started
        return _setup_page(visitor, Form.of({}, totp_secret=secret, otpauth_uri=uri))

    @post(f"{HOME}/confirm", sync_to_thread=True, status_code=200)
    def confirm(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        actor = visitor.member()
        form = Form.of(data)
        if not _enrolment_intact(form):
            flash(visitor, "The set-up was interrupted; start it again.")
            return Redirect(path=HOME, status_code=303)
        if not form.require("code"):
            return _setup_page(visitor, form, status=422)
        try:
            codes = identity.confirm_totp(actor, form.get("code").replace(" ", ""))
        except DomainError as error:
            # Sent twice: the first turned it on (and showed the codes) before or while this
            # one ran, so this one finds it on, or its code already spent.
            if isinstance(error, TotpAlreadyEnabled) or identity.me(actor).totp_enabled:
                notice = Msg("Two-step verification is already on.")
                return _codes_notice(visitor, actor, notice)
            form.fail(error, "code")
            return _setup_page(visitor, form, status=STATUS_BY_KIND[error.kind])
        return _codes_page(visitor, codes, Msg("Two-step verification is on"))

    return [overview, enable, confirm]


def _disable_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    stepup = StepUp(identity, container.throttle)
    disable_page = "settings_totp_disable.html"

    @get(f"{HOME}/disable", sync_to_thread=True)
    def show_disable(visitor: NamedDependency[Visitor]) -> Template | Redirect:
        actor = visitor.member()
        if not identity.me(actor).totp_enabled:
            return Redirect(path=HOME, status_code=303)
        return _code_page(visitor, actor, disable_page, Form.of({}))

    @post(f"{HOME}/disable", sync_to_thread=True, status_code=200)
    def disable(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        form = Form.of(data)

        def work(actor: Actor) -> Template | None:
            failed = _with_code(visitor, actor, form, disable_page, identity.disable_totp)
            return failed if isinstance(failed, Template) else None

        refused = stepup.run(
            visitor,
            form,
            action=f"{HOME}/disable",
            purpose=Msg("You are turning off two-step verification."),
            work=work,
        )
        if refused is not None:
            return refused
        flash(visitor, "Two-step verification is off.")
        return Redirect(path=HOME, status_code=303)

    return [show_disable, disable]


def _recovery_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    stepup = StepUp(identity, container.throttle)
    recovery_page = "settings_totp_recovery.html"

    @get(RECOVERY, sync_to_thread=True)
    def show_regenerate(visitor: NamedDependency[Visitor]) -> Template | Redirect:
        actor = visitor.member()
        if not identity.me(actor).totp_enabled:
            return Redirect(path=HOME, status_code=303)
        form = Form.of({}, idempotency_key=new_form_key())
        return _code_page(visitor, actor, recovery_page, form)

    @post(RECOVERY, sync_to_thread=True, status_code=200)
    def regenerate(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        form = Form.of(data)
        if form.key() and form.key() in _used_forms(visitor):
            actor = visitor.member()
            if not identity.me(actor).totp_enabled:
                return Redirect(path=HOME, status_code=303)
            notice = Msg("Your new recovery codes were already shown, after the first submission.")
            return _codes_notice(visitor, actor, notice)

        def work(actor: Actor) -> Template:
            codes = _with_code(
                visitor, actor, form, recovery_page, identity.regenerate_recovery_codes
            )
            if isinstance(codes, Template):
                return codes
            _form_used(visitor, form.key())
            return _codes_page(visitor, codes, Msg("Your new recovery codes"))

        return stepup.run(
            visitor,
            form,
            action=RECOVERY,
            purpose=Msg("You are replacing your recovery codes."),
            work=work,
        )

    return [show_regenerate, regenerate]


def _used_forms(visitor: Visitor) -> list[str]:
    used = visitor.session.get(USED_FORMS_KEY)
    return [str(key) for key in used] if isinstance(used, list) else []


def _form_used(visitor: Visitor, key: str) -> None:
    """Remember that the form ``key`` produced codes (the key only: never the codes)."""
    if key:
        visitor.session[USED_FORMS_KEY] = [*_used_forms(visitor), key][-USED_FORMS_KEPT:]


def _with_code(
    visitor: Visitor,
    actor: Actor,
    form: Form,
    template: str,
    use: Callable[[Actor, str], T],
) -> T | Template:
    """``use(actor, code)`` with the form's code, or the form's page again with the reason next
    to the code. The page is built for ``actor``, which may have just been made fresh."""
    if not form.require("code"):  # an empty code must not count as a wrong one
        return _code_page(visitor, actor, template, form, status=422)
    try:
        return use(actor, form.get("code").replace(" ", ""))
    except ReauthenticationRequired:
        raise
    except DomainError as error:
        form.fail(error, "" if isinstance(error, TotpNotEnrolled) else "code")
        return _code_page(visitor, actor, template, form, status=STATUS_BY_KIND[error.kind])


def _overview(
    visitor: Visitor,
    actor: Actor,
    enabled: bool,
    form: Form,
    *,
    status: int = 200,
    notice: Msg | None = None,
) -> Template:
    return page(
        visitor,
        "settings_totp.html",
        status=status,
        form=form,
        enabled=enabled,
        needs_step_up=not actor.fresh,
        notice=notice,
    )


def _codes_notice(visitor: Visitor, actor: Actor, notice: Msg) -> Template:
    """The overview (two-step verification on) saying why no codes are shown this time, with the
    way to new ones; 409, as the form asked for something already done."""
    return _overview(visitor, actor, True, Form.of({}), status=409, notice=notice)


def _code_page(
    visitor: Visitor, actor: Actor, template: str, form: Form, *, status: int = 200
) -> Template:
    return page(visitor, template, status=status, form=form, needs_step_up=not actor.fresh)


def _setup_page(visitor: Visitor, form: Form, *, status: int = 200) -> Template:
    secret, uri = form.get("totp_secret"), form.get("otpauth_uri")
    return page(
        visitor,
        "settings_totp_setup.html",
        status=status,
        form=form,
        secret=secret,
        secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
        qr=qr_data_uri(uri),
    )


def _codes_page(visitor: Visitor, codes: list[str], title: Msg) -> Template:
    text = "\n".join(codes) + "\n"
    download = "data:text/plain;base64," + base64.b64encode(text.encode()).decode()
    return page(
        visitor, "settings_recovery_codes.html", codes=codes, title=title, download=download
    )


def _enrolment_intact(form: Form) -> bool:
    secret, uri = form.get("totp_secret"), form.get("otpauth_uri")
    return (
        bool(_SECRET.match(secret))
        and uri.startswith(_URI_PREFIX)
        and len(uri) <= 1000
        and f"secret={secret}" in uri
    )


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code: an SVG image in a base64 ``data:`` URI (no inline style)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
