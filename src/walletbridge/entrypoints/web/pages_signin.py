"""Sign-in and sign-out pages.

Signing in is one or two steps: the login (handle, email or phone) and password, then, with TOTP
on, an authenticator code or a recovery code. The challenge between the two steps lives in the
server-side session, never in the page. Each step starts a fresh session under a new id (the
password step, the second factor, sign-out), keeping only the language and the demo's bank
choice; signing out also revokes the identity session server-side. The API's throttles apply.
"""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.errors import DomainError
from walletbridge.domain.throttle import RateLimited
from walletbridge.entrypoints.web.context import (
    Msg,
    Visitor,
    page,
    sign_in_session,
    start_fresh_session,
)
from walletbridge.entrypoints.web.errors import safe_next
from walletbridge.entrypoints.web.forms import Form, FormBody
from walletbridge.services.identity_support import IssuedToken

CHALLENGE_KEY = "signin_challenge"
NEXT_KEY = "signin_next"


def routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle

    def signed_in(visitor: Visitor, token: IssuedToken, target: str) -> Redirect:
        actor = identity.authenticate(visitor.tenant.id, token.access_token, visitor.context)
        user = identity.me(actor)
        sign_in_session(visitor, token.access_token, user.display_name)
        return Redirect(path=safe_next(target), status_code=303)

    @get("/signin", sync_to_thread=True, name="signin")
    def show_signin(
        visitor: NamedDependency[Visitor],
        next_: Annotated[str | None, QueryParameter(name="next", max_length=500)] = None,
    ) -> Template | Redirect:
        if visitor.actor is not None:
            return Redirect(path=safe_next(next_), status_code=303)
        form = Form.of({}, next=safe_next(next_))
        return page(visitor, "signin.html", form=form)

    @post("/signin", sync_to_thread=True, status_code=200)
    def signin(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        form = Form.of(data)
        if not form.require("login", "password"):
            return page(visitor, "signin.html", form=form, status=422)
        tenant_id, login = visitor.tenant.id, form.get("login")
        try:
            throttle.check_login(tenant_id, login)
            throttle.check_login(tenant_id, f"ip:{visitor.context.ip or 'unknown'}")
            result = identity.login(tenant_id, login, form.raw("password"), visitor.context)
        except RateLimited as error:
            form.fail(error)
            return page(visitor, "signin.html", form=form, status=429)
        except DomainError as error:
            form.fail(error)
            return page(visitor, "signin.html", form=form, status=401)
        if result.token is not None:
            return signed_in(visitor, result.token, form.get("next"))
        # The password was right: a new session (new id) carries the challenge to the next step.
        assert result.challenge_id is not None
        start_fresh_session(
            visitor,
            **{CHALLENGE_KEY: result.challenge_id, NEXT_KEY: safe_next(form.get("next"))},
        )
        return Redirect(path="/signin/second-factor", status_code=303)

    @get("/signin/second-factor", sync_to_thread=True)
    def show_second_factor(visitor: NamedDependency[Visitor]) -> Template | Redirect:
        if not visitor.session.get(CHALLENGE_KEY):
            return Redirect(path="/signin", status_code=303)
        return page(visitor, "second_factor.html", form=Form.of({}))

    @post("/signin/second-factor", sync_to_thread=True, status_code=200)
    def second_factor(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        challenge = visitor.session.get(CHALLENGE_KEY)
        if not isinstance(challenge, str) or not challenge:
            return Redirect(path="/signin", status_code=303)
        form = Form.of(data)
        code, recovery = form.get("code").replace(" ", ""), form.get("recovery_code")
        if not code and not recovery:
            form.error("code", Msg("Enter the code from your authenticator app."))
            return page(visitor, "second_factor.html", form=form, status=422)
        try:
            token = identity.complete_second_factor(
                visitor.tenant.id,
                challenge,
                visitor.context,
                code=code or None,
                recovery_code=None if code else recovery,
            )
        except DomainError as error:
            form.fail(error, "recovery_code" if recovery and not code else "code")
            return page(visitor, "second_factor.html", form=form, status=401)
        return signed_in(visitor, token, str(visitor.session.get(NEXT_KEY) or "/"))

    @post("/signout", sync_to_thread=True, status_code=200)
    def signout(visitor: NamedDependency[Visitor]) -> Redirect:
        if visitor.actor is not None:
            identity.logout(visitor.actor)
        start_fresh_session(visitor)
        return Redirect(path="/signin", status_code=303)

    return [show_signin, signin, show_second_factor, second_factor, signout]
