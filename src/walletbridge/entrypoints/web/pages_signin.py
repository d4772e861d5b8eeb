"""Sign-in and sign-out pages.

Signing in is one or two steps: the login (handle, email or phone) and password, then, with TOTP
on, an authenticator code or a recovery code. The challenge between the two steps lives in the
server-side session, never in the page. A successful sign-in stores the session token in the
server-side session and rotates the session id; signing out revokes the token server-side,
empties the session and rotates the id again. The same throttles as the API apply.
"""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import Parameter
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.errors import DomainError
from walletbridge.domain.throttle import RateLimited
from walletbridge.entrypoints.web.context import NAME_KEY, TOKEN_KEY, Msg, Visitor, page
from walletbridge.entrypoints.web.errors import safe_next
from walletbridge.entrypoints.web.forms import Form, FormBody
from walletbridge.entrypoints.web.security import rotate_session
from walletbridge.services.identity_support import IssuedToken

CHALLENGE_KEY = "signin_challenge"
NEXT_KEY = "signin_next"


def routes(container: Container) -> list[HTTPRouteHandler]:
    identity, throttle = container.identity, container.throttle

    def signed_in(visitor: Visitor, token: IssuedToken, target: str) -> Redirect:
        actor = identity.authenticate(visitor.tenant.id, token.access_token, visitor.context)
        user = identity.me(actor)
        rotate_session(visitor.request)
        session = visitor.session
        session.pop(CHALLENGE_KEY, None)
        session.pop(NEXT_KEY, None)
        session[TOKEN_KEY] = token.access_token
        session[NAME_KEY] = user.display_name
        return Redirect(path=safe_next(target), status_code=303)

    @get("/signin", sync_to_thread=True, name="signin")
    def show_signin(
        visitor: NamedDependency[Visitor],
        next_: Annotated[str | None, Parameter(query="next", max_length=500)] = None,
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
        visitor.session[CHALLENGE_KEY] = result.challenge_id
        visitor.session[NEXT_KEY] = safe_next(form.get("next"))
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
        locale = visitor.session.get("locale")
        tenant_choice = visitor.session.get("tenant_id")
        visitor.request.clear_session()
        rotate_session(visitor.request)
        # The language and the demo's bank choice are not personal; keep them for the next one.
        if locale:
            visitor.request.set_session({"locale": locale})
        if tenant_choice:
            visitor.request.session["tenant_id"] = tenant_choice
        return Redirect(path="/signin", status_code=303)

    return [show_signin, signin, show_second_factor, second_factor, signout]
