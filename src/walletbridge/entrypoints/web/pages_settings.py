"""Settings pages: the overview, the profile (display name, language), the password, and the
signed-in sessions and devices; plus ``StepUp``, the fresh-session guard for sensitive forms.
Two-step verification has its own module (``pages_settings_totp``).

Step-up. A browser session that has been idle past ``session_idle_seconds`` still signs the
person in, but it is not *fresh*: sensitive changes need proof again. The settings step-up
accepts either proof: the account password, or, with two-step verification on, a code from the
authenticator app instead (the service's ``reauthenticate`` takes both). This differs on purpose
from the payment step-up of the money pages, which takes only the authenticator code when
two-step verification is on. Password guesses here are throttled like logins, in the same bucket
as the API's re- authentication (``ThrottleService.check_password_guess``); wrong codes count
towards the second factor's lock-out. ``StepUp.run`` wraps such a change. Given a stale session
it answers with the step-up page (``settings_stepup.html``, built from the ``stepup_form`` macro
of ``stepup_form.html``), whose form posts back to the same action carrying what the person had
typed (secrets excepted) as hidden fields; once the proof checks out the change goes through
with those values. A page that already knows the session is stale can put the proof field into
its own form instead (the ``stepup_fields`` macro, ``needs_step_up`` in the page values), so the
person answers both in one go. A ``ReauthenticationRequired`` raised by a service is answered
the same way. Guarded here: turning two-step verification on or off and replacing the recovery
codes. Not guarded: the password change, which asks for the current password itself (the same
proof, throttled in the same bucket, so the two forms together give no extra guesses; its typed
passwords could not be carried through a step-up anyway, as secrets are never echoed); signing
devices out, which only ever protects the account and must work at once for someone who just
lost a phone; and the profile.

Changing the password signs out every *other* session (the service keeps the current one), so
this browser stays signed in; its session id is rotated all the same. Sessions are listed with
their device, address and times; a person may sign out any of their own, and a session id that
is not theirs is the same 404 as one that does not exist (the service checks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, ReauthenticationRequired
from walletbridge.domain.errors import DomainError
from walletbridge.domain.identity import PasswordRejected, Session, SessionKind
from walletbridge.entrypoints.api.problems import STATUS_BY_KIND
from walletbridge.entrypoints.web.context import (
    LOCALE_KEY,
    NAME_KEY,
    TOKEN_KEY,
    Msg,
    Visitor,
    flash,
    page,
)
from walletbridge.entrypoints.web.forms import SECRET_FIELDS, Form, FormBody
from walletbridge.entrypoints.web.i18n import LANGUAGE_NAMES, LOCALES, language_choices
from walletbridge.entrypoints.web.security import rotate_session
from walletbridge.services.identity import IdentityService
from walletbridge.services.throttle import ThrottleService

R = TypeVar("R")
STEP_UP_PASSWORD = "stepup_password"  # noqa: S105 - a form field name, not a secret
STEP_UP_CODE = "stepup_code"
STEP_UP_MARK = "stepup"
_NEVER_KEPT = frozenset({STEP_UP_PASSWORD, STEP_UP_CODE, STEP_UP_MARK, "_csrf_token"})
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


class ProofRefused(Exception):
    """The step-up proof was missing or wrong; ``status`` is the page's HTTP status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class StepUpView:
    """What ``stepup_form.html`` needs: where the form goes, why, and what it carries along."""

    action: str
    purpose: Msg
    kept: list[tuple[str, str]]
    totp: bool
    form: Form = field(default_factory=Form)


@dataclass(frozen=True)
class StepUp:
    """Fresh-session guard for sensitive forms; see the module docstring.

    Usage in a POST handler::

        done = stepup.run(visitor, form, action="/x", purpose=Msg("..."), work=lambda a: ...)
        if isinstance(done, Template):
            return done  # the step-up page (or the same page again after a wrong proof)
    """

    identity: IdentityService
    throttle: ThrottleService

    def run(
        self,
        visitor: Visitor,
        form: Form,
        *,
        action: str,
        purpose: Msg,
        work: Callable[[Actor], R],
    ) -> R | Template:
        """``work`` done by a fresh actor, or the step-up page. Domain errors of ``work`` other
        than ``ReauthenticationRequired`` reach the caller."""
        try:
            actor = self.prove(visitor, form)
        except ProofRefused as refused:
            return self.page(visitor, form, action=action, purpose=purpose, status=refused.status)
        try:
            actor.require_fresh()
            return work(actor)
        except ReauthenticationRequired:
            return self.page(visitor, form, action=action, purpose=purpose)

    def prove(self, visitor: Visitor, form: Form) -> Actor:
        """The signed-in actor, made fresh first if ``form`` carries a proof (the proof fields
        are taken out of the form, so they are never echoed). ``ProofRefused`` when the proof
        is missing or wrong; its message is then on the form."""
        actor = visitor.member()
        password = form.raw(STEP_UP_PASSWORD)
        code = form.get(STEP_UP_CODE).replace(" ", "")
        sent = bool(form.get(STEP_UP_MARK))
        for name in _NEVER_KEPT - {"_csrf_token"}:
            form.values.pop(name, None)
        if not password and not code:
            if sent:
                form.error(STEP_UP_PASSWORD, Msg("Enter your password."))
                raise ProofRefused(422)
            return actor
        try:
            if password:  # password guesses count like logins (as in the API); codes lock out
                self.throttle.check_password_guess(actor.tenant_id, actor.user_id)
                self.identity.reauthenticate(actor, password=password)
            else:
                self.identity.reauthenticate(actor, code=code)
        except DomainError as error:
            form.fail(error, STEP_UP_PASSWORD if password else STEP_UP_CODE)
            raise ProofRefused(STATUS_BY_KIND[error.kind]) from None
        token = str(visitor.session.get(TOKEN_KEY) or "")
        return self.identity.authenticate(actor.tenant_id, token, visitor.context)

    def view(self, visitor: Visitor, form: Form, *, action: str, purpose: Msg) -> StepUpView:
        kept = [
            (name, value)
            for name, value in form.values.items()
            if name not in _NEVER_KEPT and name not in SECRET_FIELDS
        ]
        totp = self.identity.me(visitor.member()).totp_enabled
        return StepUpView(action, purpose, kept, totp, form)

    def page(
        self, visitor: Visitor, form: Form, *, action: str, purpose: Msg, status: int = 401
    ) -> Template:
        """The step-up page; 401 like the API's ``reauthentication-required``."""
        view = self.view(visitor, form, action=action, purpose=purpose)
        return page(visitor, "settings_stepup.html", status=status, stepup=view)


def routes(container: Container) -> list[HTTPRouteHandler]:
    return [
        *_account_routes(container),
        *_password_routes(container),
        *_session_routes(container),
    ]


def _account_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity

    @get("/settings", sync_to_thread=True)
    def overview(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        user = identity.me(actor)
        count = len(identity.sessions(actor))
        return page(
            visitor,
            "settings.html",
            user=user,
            language=LANGUAGE_NAMES.get(user.locale, user.locale),
            session_count=count,
        )

    @get("/settings/profile", sync_to_thread=True)
    def show_profile(visitor: NamedDependency[Visitor]) -> Template:
        user = identity.me(visitor.member())
        form = Form.of({}, display_name=user.display_name, locale=user.locale)
        return _profile_page(visitor, form)

    @post("/settings/profile", sync_to_thread=True, status_code=200)
    def save_profile(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        actor = visitor.member()
        form = Form.of(data)
        form.require("display_name")
        if form.get("locale") not in LOCALES:
            form.error("locale", Msg("Choose one of the languages in the list."))
        if not form.ok:
            return _profile_page(visitor, form, status=422)
        try:
            user = identity.update_profile(
                actor, display_name=form.get("display_name"), locale=form.get("locale")
            )
        except DomainError as error:
            form.fail(error, "display_name")
            return _profile_page(visitor, form, status=STATUS_BY_KIND[error.kind])
        visitor.session[NAME_KEY] = user.display_name
        visitor.session[LOCALE_KEY] = user.locale
        flash(visitor, "Your profile is saved.")
        return Redirect(path="/settings", status_code=303)

    return [overview, show_profile, save_profile]


def _password_routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle

    @get("/settings/password", sync_to_thread=True)
    def show_password(visitor: NamedDependency[Visitor]) -> Template:
        visitor.member()
        return page(visitor, "settings_password.html", form=Form.of({}))

    @post("/settings/password", sync_to_thread=True, status_code=200)
    def change_password(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        actor = visitor.member()
        form = Form.of(data)
        if not form.require("current_password", "new_password"):
            return page(visitor, "settings_password.html", form=form, status=422)
        try:
            throttle.check_password_guess(
                actor.tenant_id, actor.user_id
            )  # else the current password could be guessed
            identity.change_password(actor, form.raw("current_password"), form.raw("new_password"))
        except DomainError as error:
            form.fail(
                error, "new_password" if isinstance(error, PasswordRejected) else "current_password"
            )
            status = STATUS_BY_KIND[error.kind]
            return page(visitor, "settings_password.html", form=form, status=status)
        # Every other session is revoked by the service; this one stays, under a new id.
        rotate_session(visitor.request)
        flash(visitor, "Your password is changed. Every other device has been signed out.")
        return Redirect(path="/settings", status_code=303)

    return [show_password, change_password]


def _profile_page(visitor: Visitor, form: Form, *, status: int = 200) -> Template:
    return page(
        visitor, "settings_profile.html", status=status, form=form, choices=language_choices()
    )


def _session_routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity

    @get("/settings/sessions", sync_to_thread=True)
    def show_sessions(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        listed = sorted(identity.sessions(actor), key=lambda s: s.last_seen_at_us, reverse=True)
        rows = [session_row(visitor, s, actor.session_id) for s in listed]
        rows.sort(key=lambda row: not row.current)  # this device first
        return page(visitor, "settings_sessions.html", sessions=rows)

    @post("/settings/sessions/{session_id:uuid}/revoke", sync_to_thread=True, status_code=200)
    def revoke(visitor: NamedDependency[Visitor], session_id: FromPath[UUID]) -> Redirect:
        actor = visitor.member()
        # Someone else's session, or none at all: session-not-found, the same 404 page.
        identity.revoke_session(actor, str(session_id))
        if str(session_id) == actor.session_id:  # this browser signed itself out
            visitor.session.pop(TOKEN_KEY, None)
            visitor.session.pop(NAME_KEY, None)
            rotate_session(visitor.request)
            return Redirect(path="/signin", status_code=303)
        flash(visitor, "That device has been signed out.")
        return Redirect(path="/settings/sessions", status_code=303)

    @post("/settings/sessions/revoke-others", sync_to_thread=True, status_code=200)
    def revoke_others(visitor: NamedDependency[Visitor]) -> Redirect:
        actor = visitor.member()
        others = [s for s in identity.sessions(actor) if s.id != actor.session_id]
        for other in others:
            identity.revoke_session(actor, other.id)
        flash(visitor, "Every other device has been signed out.")
        return Redirect(path="/settings/sessions", status_code=303)

    return [show_sessions, revoke, revoke_others]


@dataclass(frozen=True)
class SessionRow:
    id: str
    device: str
    detail: str
    api: bool
    ip: str
    created_at_us: int
    last_seen_at_us: int
    current: bool


def session_row(visitor: Visitor, session: Session, current_id: str) -> SessionRow:
    agent = (session.user_agent or "").strip()
    api = session.kind is SessionKind.API
    browser, system = describe_agent(agent)
    if api:
        device = visitor.t(Msg("API token “{name}”", {"name": session.name}))
    elif browser and system:
        device = visitor.t(Msg("{browser} on {system}", {"browser": browser, "system": system}))
    else:
        device = browser or system or visitor.t("Unknown device")
    return SessionRow(
        id=session.id,
        device=device,
        detail=agent[:200],
        api=api,
        ip=session.ip or "",
        created_at_us=session.created_at_us,
        last_seen_at_us=session.last_seen_at_us,
        current=session.id == current_id,
    )


def describe_agent(agent: str) -> tuple[str, str]:
    """The browser and the operating system a user agent names ("" for what is not known)."""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    if not browser and "Safari/" in agent:
        browser = "Safari"
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    return browser, system
