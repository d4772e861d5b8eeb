"""Every route of the web app, walked on both engines, the way ``test_api_authz`` walks the API.

The routes are collected from the application itself (``create_app(container).routes``, without
``/api/``, ``/static``, the probes and the schema) and each is classified below in ``ROUTES``; an
unclassified route fails, so a new page cannot ship without a decision about who may see it.

- Signed out: every non-public GET (and POST, with a valid CSRF token) is sent to the sign-in
  page (``/signin?next=<here>``), htmx requests get ``204`` with ``HX-Redirect``, the activity
  stream answers ``204`` (EventSource stops), and the GET addresses of form posts bounce to a
  page that itself asks for sign-in. Never a 200 with data, never a 500.
- CSRF: every POST of a signed-in person without a token, with an empty one or with another
  browser's token is refused (403, the "form has expired" page) and no row of the tenant changes
  (money, payees, requests, sessions, profile, password, two-step verification, outbox). The same
  forms with the token do go through (a control, so the bodies are known to be effective).
- Object ids: for every route with an id, person B asking for (or acting on) each of person A's
  objects gets the same status, body and Location as for a random missing id; nothing of A's
  changes and A still sees each object.
- Pages: every HTML page (all GET pages for a signed-in person, a person with two-step
  verification and a visitor, plus the pages POSTs render: confirm, step-up, errors) has
  ``Cache-Control: no-store`` and a CSP whose scripts and styles come from ``'self'`` only, no
  inline script or style, no ``on*=`` handler, and a label for every form control.
- No secret in a URL: no link, form action, htmx or SSE address and no redirect carries a token,
  code or password in its query string, no form that would send a secret uses GET, and no URL
  anywhere contains the password, a reset token or a CSRF token.

One world (bank, people, objects, browsers) is built per engine and module, to keep it fast;
each test snapshots the tenant's rows around what it does instead of relying on a fresh bank.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ENGINES
from tests.e2e.web_kit import Browser, WebBank, csrf_of, web_bank
from tests.integration.identity_kit import (
    PASSWORD,
    Authenticator,
    Person,
    actor_of,
    enrol_totp,
    messages,
    text_of,
)
from walletbridge.adapters.db import tables_identity, tables_platform, tables_wallets
from walletbridge.adapters.db.tables import metadata
from walletbridge.domain.actors import Actor, RecipientKind
from walletbridge.domain.money import Money
from walletbridge.domain.payments import RecipientRef, RequestStatus
from walletbridge.entrypoints.api.app import create_app
from walletbridge.entrypoints.web import pages_feed
from walletbridge.services.history import HistoryFilter
from walletbridge.services.payment_plans import TransferOrder

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
del tables_identity, tables_platform, tables_wallets  # imported so that ``metadata`` knows them


class Access(StrEnum):
    PUBLIC = "public"
    """Anyone, signed in or not."""
    MEMBER = "member"
    """A signed-in person; signed out: 303 to ``/signin?next=<here>`` (htmx: 204 + HX-Redirect)."""
    FRAGMENT = "fragment"
    """An htmx piece of a member's page: as MEMBER (a plain GET redirects, htmx gets 204)."""
    STREAM = "stream"
    """The server-sent events of the live feed: 204 signed out, so EventSource stops."""
    BOUNCE = "bounce"
    """The GET address of a form post: a 303 to the member page it belongs to, showing nothing."""


P, M, F, S, B = Access.PUBLIC, Access.MEMBER, Access.FRAGMENT, Access.STREAM, Access.BOUNCE
ROUTES: dict[str, Access] = {
    # common: the demo's bank chooser, the language switch, the brand
    "GET /banks": P,
    "POST /banks": P,
    "POST /language": P,
    "GET /brand.css": P,
    "GET /brand/logo.svg": P,
    "GET /dev/mailbox": P,  # development only: where sign-up codes arrive
    # signing in and out, signing up, password reset
    "GET /signin": P,
    "POST /signin": P,
    "GET /signin/second-factor": P,  # the challenge lives in the session; none: back to /signin
    "POST /signin/second-factor": P,
    "POST /signout": P,
    "GET /signup": P,
    "POST /signup": P,
    "GET /signup/complete": P,
    "POST /signup/complete": P,
    "GET /password-reset": P,
    "POST /password-reset": P,
    "GET /password-reset/complete": P,
    "POST /password-reset/complete": P,
    # dashboard and live feed
    "GET /": M,
    "GET /fragments/balances": F,
    "GET /activity": M,
    "GET /activity/stream": S,
    # history
    "GET /history": M,
    "GET /history/export.csv": M,
    "GET /history/{item_id}": M,
    "GET /history/transfer/{transfer_id}": M,
    # payees
    "GET /payees": M,
    "POST /payees": M,
    "GET /payees/{payee_id}/edit": M,
    "POST /payees/{payee_id}/edit": M,
    "GET /payees/{payee_id}/delete": M,
    "POST /payees/{payee_id}/delete": M,
    # requests to pay
    "GET /requests": M,
    "GET /requests/new": M,
    "POST /requests/new": M,
    "GET /requests/{request_id}/accept": M,
    "POST /requests/{request_id}/accept": M,
    "GET /requests/{request_id}/stepup": B,
    "POST /requests/{request_id}/stepup": M,
    "GET /requests/{request_id}/decline": B,
    "POST /requests/{request_id}/decline": M,
    "GET /requests/{request_id}/cancel": B,
    "POST /requests/{request_id}/cancel": M,
    # sending money
    "GET /send": M,
    "POST /send": M,
    "GET /send/lookup": F,
    "GET /send/quote": F,
    "GET /send/confirm": B,
    "POST /send/confirm": M,
    "GET /send/execute": B,
    "POST /send/execute": M,
    "GET /send/stepup": B,
    "POST /send/stepup": M,
    # settings
    "GET /settings": M,
    "GET /settings/profile": M,
    "POST /settings/profile": M,
    "GET /settings/password": M,
    "POST /settings/password": M,
    "GET /settings/sessions": M,
    "POST /settings/sessions/{session_id}/revoke": M,
    "POST /settings/sessions/revoke-others": M,
    "GET /settings/two-step": M,
    "POST /settings/two-step/enable": M,
    "POST /settings/two-step/confirm": M,
    "GET /settings/two-step/disable": M,
    "POST /settings/two-step/disable": M,
    "GET /settings/two-step/recovery-codes": M,
    "POST /settings/two-step/recovery-codes": M,
}
NOT_PAGES = {
    "GET /brand.css": "text/css",
    "GET /brand/logo.svg": "image/svg+xml",
    "GET /history/export.csv": "text/csv",
    "GET /activity/stream": "text/event-stream",
}
"""GET routes whose answer is not an HTML page (the content type they answer with)."""
SKIPPED_PREFIXES = ("/api/", "/static", "/health", "/ready", "/metrics")
IGNORED_METHODS = {"OPTIONS"}
TWO_STEP_ROUTES = {"POST /settings/two-step/disable", "POST /settings/two-step/recovery-codes"}
"""Sent by the person with two-step verification on (the others by the one without)."""
NEW_PASSWORD = "amber-glacier-compass-91"
EXPIRED_FORM = "The form has expired"
SECRET_NAME = re.compile(r"token|code|password|secret|otp", re.I)
QUERY_OBJECTS = {"GET /send": ("payee", "payee_id")}
"""Routes that take an object id in the query string: route → (query parameter, object kind)."""
_TYPED = re.compile(r"\{(\w+):(\w+)\}")
_PARAM = re.compile(r"\{(\w+)\}")
# Not part of what a page says: per-request values that differ between any two answers.
_VOLATILE = (
    re.compile(r'(name="(?:_csrf_token|idempotency_key)" value=")[^"]*'),
    re.compile(r"(x-csrftoken(?:&#34;|&quot;|\")\s*:\s*(?:&#34;|&quot;|\"))[^&\"]*"),
    re.compile(r'(data-request-id=")[^"]*'),
)
_VOLATILE_COLUMNS = {"last_seen_at_us", "last_auth_at_us", "expires_at_us"}
"""Columns that reading a page moves on its own (a session's activity)."""
_UNTRACKED_TABLES = {"throttle_counters", "audit_events", "kv_store"}
"""Rows every request may write (counters, the audit log, the web session store)."""


# -- the routes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    """``/payees/{payee_id}/edit``, as ``ROUTES`` names it."""
    pattern: re.Pattern[str]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.template)

    def fill(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.template)


def route_of(method: str, litestar_path: str) -> Route:
    template = _TYPED.sub(r"{\1}", litestar_path)
    regex = ""
    for piece in re.split(r"(\{\w+:\w+\})", litestar_path):
        typed = _TYPED.fullmatch(piece)
        if typed is None:
            regex += re.escape(piece)
        else:
            regex += "[0-9a-f-]{36}" if typed.group(2) == "uuid" else "[^/]+"
    return Route(method, template, re.compile(f"^{regex}$"))


def web_routes(bank: WebBank) -> list[Route]:
    """Every (method, path) the web part of the application serves."""
    app = create_app(bank.app)
    found: dict[str, Route] = {}
    for handler in app.routes:
        if handler.path.startswith(SKIPPED_PREFIXES) or handler.path == "/api":
            continue
        for method in getattr(handler, "methods", ()):
            if method not in IGNORED_METHODS:
                route = route_of(method, handler.path)
                found[route.name] = route
    return sorted(found.values(), key=lambda r: r.name)


def route_for(routes: list[Route], method: str, url: str) -> Route | None:
    path = urlsplit(url).path
    return next((r for r in routes if r.method == method and r.pattern.match(path)), None)


# -- the world: a bank, its people, A's objects and the browsers ---------------------------------


@dataclass
class World:
    bank: WebBank
    a: Person
    b: Person
    c: Person
    d: Person
    """Has two-step verification on."""
    e: Person
    """For the controls that do change things."""
    routes: list[Route]
    fee: Money
    """The fee of paying 1.00 EUR (the same for everyone in this bank)."""
    request_fee: str = ""
    """The fee of paying A's incoming request, as its confirm page sends it."""
    device: Authenticator | None = None
    """D's authenticator."""
    objects_of_a: dict[str, list[str]] = field(default_factory=dict)
    """Route parameter → A's objects of that kind (each one is tried)."""
    browsers: dict[str, Browser] = field(default_factory=dict)
    responses: list[httpx.Response] = field(default_factory=list)
    """Every answer any browser of this world received (for the secrets check)."""

    def browser(self, name: str, who: Person | None = None, language: str = "en") -> Browser:
        """A browser of its own, signed in as ``who``; its answers are recorded."""
        if name in self.browsers:
            self.browsers.pop(name).close()
        opened = Browser(self.bank, language=language)
        opened.client.event_hooks["response"] = [self.responses.append]
        self.browsers[name] = opened
        if who is not None:
            opened.sign_in(who)
        return opened

    @property
    def fee_text(self) -> str:
        return self.fee.to_decimal_string()

    def actor(self, who: Person) -> Actor:
        return actor_of(self.bank.app, self.bank.tenant, who.token)  # type: ignore[arg-type]


def pay(world: World, payer: Person, payee: Person, amount_minor: int, note: str = "") -> str:
    payments = world.bank.app.wallets.payments
    actor = world.actor(payer)
    to = RecipientRef(RecipientKind.HANDLE, payee.handle)
    amount = Money(amount_minor, world.bank.app.currencies.get("EUR"))
    fee = payments.quote(actor, to, amount).fee
    order = TransferOrder(to=to, amount=amount, fee=fee, note=note or None)
    return str(payments.transfer(actor, order, secrets.token_hex(8)).body["id"])


def give_objects(world: World) -> dict[str, list[str]]:
    """A's transfers both ways, their history lines, a request to pay each way, a payee and two
    sessions (the service's and the browser's), every one involving only A and C."""
    app, a, c = world.bank.app, world.a, world.c
    eur = app.currencies.get("EUR")
    sent, received = pay(world, a, c, 1500, "lunch"), pay(world, c, a, 700)
    lines = app.wallets.history.page(world.actor(a), HistoryFilter(), limit=50).items
    line_of = {str(item["transfer_id"]): str(item["id"]) for item in lines}
    to_c, to_a = (RecipientRef(RecipientKind.HANDLE, who.handle) for who in (c, a))
    outgoing = app.wallets.requests.create(world.actor(a), to_c, Money(2000, eur), "rent")
    incoming = app.wallets.requests.create(world.actor(c), to_a, Money(300, eur), None)
    payee = app.wallets.payees.create(world.actor(a), to_c, "other")
    world.request_fee = app.wallets.payments.quote(
        world.actor(a), to_c, Money(300, eur)
    ).fee.to_decimal_string()
    service_session = world.actor(a).session_id
    sessions = [s.id for s in app.identity.sessions(world.actor(a))]
    assert len(sessions) == 2 and service_session in sessions  # the browser's is the other one
    return {
        "transfer_id": [sent, received],
        "item_id": [line_of[sent], line_of[received]],
        "request_id": [str(incoming.id), str(outgoing.id)],
        "payee_id": [str(payee.payee.id)],
        "session_id": sorted(sessions, key=lambda s: s != service_session),
    }


@pytest.fixture(scope="module", params=ENGINES)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The ``database_url`` fixture's two engines, once per module rather than once per test."""
    url = str(
        request.getfixturevalue("postgres_url" if request.param == "postgres" else "sqlite_url")
    )
    with web_bank(url, tmp_path_factory.mktemp("routes")) as bank:
        a, b, c, e = (bank.customer(funded_minor=50_000) for _ in range(4))
        d = bank.customer(funded_minor=10_000)
        eur = bank.app.currencies.get("EUR")
        to_c = RecipientRef(RecipientKind.HANDLE, c.handle)
        quoting = actor_of(bank.app, bank.tenant, a.token)  # type: ignore[arg-type]
        fee = bank.app.wallets.payments.quote(quoting, to_c, Money(100, eur)).fee
        made = World(bank, a=a, b=b, c=c, d=d, e=e, routes=web_routes(bank), fee=fee)
        made.browser("a", a)
        made.browser("b", b)
        made.browser("d", d)
        made.browser("e", e)
        made.objects_of_a = give_objects(made)
        pay(made, b, c, 500)  # B is a full customer too, with objects of their own
        bank.app.wallets.payees.create(made.actor(b), to_c, "c")
        # Two-step verification for D once D's browser is signed in (no second step needed).
        made.device, _ = enrol_totp(bank.app, made.actor(d), bank.clock)
        try:
            yield made
        finally:
            for opened in made.browsers.values():
                opened.close()


# -- helpers ---------------------------------------------------------------------------------------


def new_key() -> str:
    return secrets.token_urlsafe(18)


def token_of(browser: Browser) -> str:
    return csrf_of(browser.get("/signin" if not signed_in(browser) else "/settings").text)


def signed_in(browser: Browser) -> bool:
    return browser.get("/settings", follow_redirects=False).status_code == 200


def post(browser: Browser, path: str, data: dict[str, str], token: str | None) -> httpx.Response:
    body = dict(data) if token is None else {**data, "_csrf_token": token}
    return browser.client.post(path, data=body, follow_redirects=False)


def ids_for(route: Route, world: World, pick: int = 0) -> dict[str, str]:
    """A's objects for the route's parameters; a request that A pays or A asked for as fits."""
    values = {}
    for name in route.params:
        mine = world.objects_of_a[name]
        if name == "request_id":
            mine = mine[::-1] if route.template.endswith("/cancel") else mine
        values[name] = mine[min(pick, len(mine) - 1)]
    return values


def form_for(
    route: Route, world: World, enrolment: tuple[str, str] | None = None
) -> dict[str, str]:
    """A body each POST would accept from its owner, so a refusal is about the token or the
    person, never about the form. ``enrolment``: the secret and URI of a started TOTP set-up."""
    payment = {"to": world.c.handle, "amount": "1.00", "currency": "EUR", "note": ""}
    order = {**payment, "fee": world.fee_text, "idempotency_key": new_key()}
    code = world.device.code() if world.device else "000000"
    known: dict[str, dict[str, str]] = {
        "POST /banks": {"tenant_id": world.bank.tenant},
        "POST /language": {"locale": "zh-CN", "next": "/settings"},
        "POST /signin": {"login": world.a.handle, "password": PASSWORD},
        "POST /signin/second-factor": {"code": code},
        "POST /signup": {"contact": f"new-{secrets.token_hex(4)}@example.com", "locale": "en"},
        "POST /signup/complete": {
            "code": "123456",
            "handle": f"n{secrets.token_hex(4)}",
            "display_name": "New Person",
            "password": NEW_PASSWORD,
        },
        "POST /password-reset": {"login": world.a.handle},
        "POST /password-reset/complete": {"token": "t" * 20, "new_password": NEW_PASSWORD},
        "POST /payees": {"to": world.d.handle, "nickname": "dee", "idempotency_key": new_key()},
        "POST /payees/{payee_id}/edit": {"nickname": "renamed"},
        "POST /requests/new": {**payment, "to": world.d.handle, "idempotency_key": new_key()},
        "POST /requests/{request_id}/accept": {
            "fee": world.request_fee,
            "idempotency_key": new_key(),
        },
        "POST /requests/{request_id}/stepup": {
            "fee": world.request_fee,
            "idempotency_key": new_key(),
            "password": PASSWORD,
        },
        "POST /send": payment,
        "POST /send/confirm": payment,
        "POST /send/execute": order,
        "POST /send/stepup": {**order, "password": PASSWORD},
        "POST /settings/profile": {"display_name": "Someone Else", "locale": "zh-CN"},
        "POST /settings/password": {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        "POST /settings/two-step/disable": {"code": code},
        "POST /settings/two-step/recovery-codes": {"code": code},
    }
    if enrolment is not None:
        secret, uri = enrolment
        code_now = Authenticator(secret, world.bank.clock).code()
        known["POST /settings/two-step/confirm"] = {
            "code": code_now,
            "totp_secret": secret,
            "otpauth_uri": uri,
        }
    return known.get(route.name, {})


def tenant_rows(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tenant that matters, in a comparable form (see ``_UNTRACKED_TABLES``)."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    with world.bank.app.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in _UNTRACKED_TABLES or "tenant_id" not in table.c:
                continue
            columns = [c for c in table.c if c.name not in _VOLATILE_COLUMNS]
            rows = connection.execute(
                select(*columns).where(table.c.tenant_id == world.bank.tenant)
            ).all()
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The tables whose rows differ, with the first new or changed row (shortened)."""
    found = []
    for name in before:
        if before[name] != after[name]:
            new = [row for row in after[name] if row not in before[name]]
            shown = repr(new[0])[:160] if new else "(rows removed)"
            found.append(f"{name}: {len(before[name])} → {len(after[name])} rows, {shown}")
    return found


def comparable(response: httpx.Response, ids: list[str]) -> tuple[int, str, str]:
    """Status, body and Location with the ids named and the per-request values blanked."""
    text, location = response.text, response.headers.get("location", "")
    for pattern in _VOLATILE:
        text = pattern.sub(r"\1<volatile>", text)
    for value in ids:
        text, location = text.replace(value, "<id>"), location.replace(value, "<id>")
    return response.status_code, text, location


# -- 1. classification ----------------------------------------------------------------------------


def test_every_web_route_is_classified(world: World) -> None:
    served = {route.name for route in world.routes}

    unclassified = sorted(served - set(ROUTES))
    gone = sorted(set(ROUTES) - served)

    assert unclassified == [], "classify these web routes in ROUTES:\n" + "\n".join(unclassified)
    assert gone == [], "these classified routes no longer exist:\n" + "\n".join(gone)
    assert len(served) >= 60  # the walk found the pages, not an empty router


# -- 2. signed out ---------------------------------------------------------------------------------


def signed_out_problem(route: Route, world: World, answer: httpx.Response, here: str) -> str | None:
    """What is wrong with a signed-out visitor's plain request's answer, or None."""
    access, location = ROUTES[route.name], answer.headers.get("location", "")
    if answer.status_code >= 500 or answer.status_code == 200:
        return f"{answer.status_code} {answer.text[:200]}"
    if access is Access.STREAM:
        return None if answer.status_code == 204 and not answer.content else "not a bare 204"
    if access is Access.BOUNCE:
        target = route_for(world.routes, "GET", location)
        if answer.status_code != 303 or target is None or ROUTES[target.name] is not Access.MEMBER:
            return f"{answer.status_code} to {location!r}, not to a member page"
        return None
    expected = "/signin" if here == "/" else f"/signin?next={quote(here)}"
    if answer.status_code != 303 or location != expected:
        return f"{answer.status_code} to {location!r}, expected 303 to {expected!r}"
    if unquote(location.partition("next=")[2] or "/") != here:
        return f"next does not come back here: {location!r}"
    return None


def test_every_non_public_route_sends_a_signed_out_visitor_to_sign_in(world: World) -> None:
    guest = world.browser("signed-out")
    token = token_of(guest)
    before = tenant_rows(world)
    problems, tried = [], 0

    for route in world.routes:
        access = ROUTES.get(route.name)
        if access in (None, Access.PUBLIC):
            continue
        here = route.fill(ids_for(route, world))  # A's objects: the worst case to leak
        if route.method == "GET":
            answer = guest.get(here, follow_redirects=False)
        else:
            answer = post(guest, here, form_for(route, world), token)
        tried += 1
        if (problem := signed_out_problem(route, world, answer, here)) is not None:
            problems.append(f"{route.name}: {problem}")
        if route.method == "GET" and access in (Access.MEMBER, Access.FRAGMENT):
            htmx = guest.get(here, headers={"HX-Request": "true"}, follow_redirects=False)
            redirect = htmx.headers.get("hx-redirect", "")
            if htmx.status_code != 204 or not redirect.startswith("/signin") or htmx.content:
                problems.append(f"{route.name} (htmx): {htmx.status_code} {redirect!r}")

    assert problems == [], "\n".join(problems)
    assert tried >= 45
    assert changes(before, tenant_rows(world)) == []


def test_the_bounced_addresses_end_on_the_sign_in_page_too(world: World) -> None:
    guest = world.browser("bouncing")
    bounced = [r for r in world.routes if ROUTES.get(r.name) is Access.BOUNCE]

    ends = {r.name: str(guest.get(r.fill(ids_for(r, world))).url.path) for r in bounced}

    assert len(bounced) == 6
    assert set(ends.values()) == {"/signin"}, ends


def test_the_public_pages_answer_a_signed_out_visitor(world: World) -> None:
    guest = world.browser("public")
    answers = {}
    for route in world.routes:
        if ROUTES.get(route.name) is Access.PUBLIC and route.method == "GET":
            answer = guest.get(route.template, follow_redirects=False)
            answers[route.name] = (answer.status_code, answer.headers.get("location"))

    # The second steps without a first one go back to it; everything else is shown.
    assert answers.pop("GET /signin/second-factor") == (303, "/signin")
    assert answers.pop("GET /signup/complete") == (303, "/signup")
    assert {status for status, _ in answers.values()} == {200}, answers


# -- 3. CSRF ---------------------------------------------------------------------------------------


def test_every_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    world: World,
) -> None:
    a, d = world.browsers["a"], world.browsers["d"]
    foreign = token_of(world.browsers["b"])  # a real token, of another browser
    enrolment = world.bank.app.identity.begin_totp(world.actor(world.a))
    problems, tried = [], 0

    for route in world.routes:
        if route.method != "POST":
            continue
        who = d if route.name in TWO_STEP_ROUTES else a
        path, form = route.fill(ids_for(route, world)), form_for(route, world, enrolment)
        before = tenant_rows(world)
        for variant, token in (("none", None), ("empty", ""), ("another browser's", foreign)):
            answer = post(who, path, form, token)
            tried += 1
            if answer.status_code != 403 or EXPIRED_FORM not in answer.text:
                problems.append(f"{route.name}, token {variant}: {answer.status_code}")
        problems += [
            f"{route.name} changed {change}" for change in changes(before, tenant_rows(world))
        ]

    assert problems == [], "\n".join(problems)
    assert tried >= 3 * 29
    assert signed_in(a) and signed_in(d)
    me = world.bank.app.identity.me(world.actor(world.a))
    assert (me.totp_enabled, me.locale, me.display_name) == (False, "en", f"User {world.a.handle}")
    assert 'lang="en"' in a.get("/").text  # the language switch did not switch


def test_the_same_posts_with_the_token_go_through(world: World) -> None:
    """The control: the bodies of the CSRF test are effective, so its 403s are the token's."""
    e, app = world.browsers["e"], world.bank.app
    token = token_of(e)
    enrolment = app.identity.begin_totp(world.actor(world.e))
    by_name = {route.name: route for route in world.routes}
    before = app.wallets.balances(world.actor(world.e))[1][0].posted_minor
    rows_before = tenant_rows(world)

    answers = {
        name: post(e, name.split(" ", 1)[1], form_for(by_name[name], world, enrolment), token)
        for name in (
            "POST /settings/profile",
            "POST /send/execute",
            "POST /payees",
            "POST /settings/two-step/confirm",
        )
    }

    assert {n: a.status_code for n, a in answers.items()} == {
        "POST /settings/profile": 303,
        "POST /send/execute": 303,
        "POST /payees": 303,
        "POST /settings/two-step/confirm": 200,
    }
    me = app.identity.me(world.actor(world.e))
    assert me.display_name == "Someone Else" and me.totp_enabled
    after = app.wallets.balances(world.actor(world.e))[1][0].posted_minor
    assert before - after == 100 + world.fee.amount_minor
    assert [p.payee.nickname for p in app.wallets.payees.list(world.actor(world.e))] == ["dee"]
    changed = {name for name, rows in tenant_rows(world).items() if rows != rows_before[name]}
    assert {"users", "entries", "payees", "recovery_codes", "wallet_history"} <= changed
    assert check_page("the recovery codes", answers["POST /settings/two-step/confirm"]) == []


# -- 4. object ids ---------------------------------------------------------------------------------


def query_object_leaks(world: World, asking: Browser) -> list[str]:
    """``QUERY_OBJECTS`` asked for with each of A's objects and with a missing id."""
    leaks = []
    for name, (parameter, kind) in QUERY_OBJECTS.items():
        path = name.split(" ", 1)[1]
        for their_id in world.objects_of_a[kind]:
            missing_id = str(uuid.uuid4())
            on_theirs, on_missing = (
                comparable(asking.get(f"{path}?{parameter}={value}"), [their_id, missing_id])
                for value in (their_id, missing_id)
            )
            if on_theirs[0] != 404 or on_theirs != on_missing:
                leaks.append(f"{name}?{parameter}={their_id}: {on_theirs[0]} vs {on_missing[0]}")
    return leaks


def test_another_persons_object_answers_like_a_missing_one_on_every_route(world: World) -> None:
    b = world.browsers["b"]
    token = token_of(b)
    before = tenant_rows(world)
    leaks, tried = [], set()

    for route in world.routes:
        if not route.params:
            continue
        assert ROUTES[route.name] is not Access.PUBLIC, route.name
        candidates = len(world.objects_of_a[route.params[0]])
        for pick in range(candidates):
            theirs = ids_for(route, world, pick)
            missing = {name: str(uuid.uuid4()) for name in route.params}
            answers = []
            for values in (theirs, missing):
                if route.method == "GET":
                    answers.append(b.get(route.fill(values), follow_redirects=False))
                else:
                    answers.append(post(b, route.fill(values), form_for(route, world), token))
            ids = [*theirs.values(), *missing.values()]
            on_theirs, on_missing = (comparable(answer, ids) for answer in answers)
            expected = 303 if ROUTES[route.name] is Access.BOUNCE else 404
            tried.add(route.name)
            if on_theirs[0] != expected or on_theirs != on_missing:
                leaks.append(
                    f"{route.name} on {theirs}: A's → {on_theirs[0]} {on_theirs[2]!r} "
                    f"{answers[0].text[:150]!r}; missing → {on_missing[0]} {on_missing[2]!r}"
                )

    leaks += query_object_leaks(world, b)

    assert leaks == [], "\n".join(leaks)
    assert tried == {r.name for r in world.routes if r.params} and len(tried) == 15
    assert set(QUERY_OBJECTS) <= {r.name for r in world.routes}
    assert changes(before, tenant_rows(world)) == []


def test_the_owner_still_sees_each_object_unchanged(world: World) -> None:
    a, ids = world.browsers["a"], world.objects_of_a
    incoming, outgoing = ids["request_id"]
    payee = ids["payee_id"][0]

    for item in ids["item_id"]:
        assert a.get(f"/history/{item}").status_code == 200
    for transfer, item in zip(ids["transfer_id"], ids["item_id"], strict=True):
        moved = a.get(f"/history/transfer/{transfer}", follow_redirects=False)
        assert (moved.status_code, moved.headers["location"]) == (303, f"/history/{item}")
    edit = a.get(f"/payees/{payee}/edit")
    assert edit.status_code == 200 and 'value="other"' in edit.text
    assert a.get(f"/payees/{payee}/delete").status_code == 200
    assert a.get(f"/requests/{incoming}/accept").status_code == 200
    statuses = {
        str(r.id): r.status
        for incoming_side in (True, False)
        for r in world.bank.app.wallets.requests.page(
            world.actor(world.a), incoming=incoming_side
        ).items
    }
    assert statuses == {incoming: RequestStatus.PENDING, outgoing: RequestStatus.PENDING}
    sessions = a.get("/settings/sessions").text
    assert all(f'data-session-id="{s}"' in sessions for s in ids["session_id"])


# -- 5. pages --------------------------------------------------------------------------------------


class PageAudit(HTMLParser):
    """What the strict CSP and the accessibility rules forbid, and the addresses a page holds."""

    URL_ATTRIBUTES = frozenset(
        {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-put", "hx-patch"}
        | {"hx-delete", "hx-push-url", "hx-replace-url", "sse-connect", "data-url", "poster"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.ids: dict[str, int] = {}
        self.label_targets: set[str] = set()
        self.controls: list[tuple[str, dict[str, str], bool]] = []
        self.urls: list[tuple[str, str]] = []
        self.forms: list[dict[str, Any]] = []
        self._labels = 0
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
            if re.fullmatch(r"on[a-z]+", name) or name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"<{tag} {name}=…> (an inline handler)")
            if name in self.URL_ATTRIBUTES:
                self.urls.append((f"<{tag} {name}>", value))
                if value.strip().lower().startswith("javascript:"):
                    self.problems.append(f"<{tag} {name}={value!r}>")
        if "id" in values:
            self.ids[values["id"]] = self.ids.get(values["id"], 0) + 1
        if tag == "script" and not values.get("src"):
            self.problems.append("<script> without src (inline script)")
        if tag == "style":
            self.problems.append("<style> element (inline style)")
        if tag == "label":
            self._labels += 1
            if values.get("for"):
                self.label_targets.add(values["for"])
        if tag == "form":
            self._form = {"method": values.get("method", "get").lower(), "fields": []}
            self.forms.append(self._form)
        if tag in ("input", "select", "textarea", "button"):
            self.controls.append((tag, values, self._labels > 0))
            if self._form is not None and tag != "button":
                self._form["fields"].append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._labels = max(0, self._labels - 1)
        if tag == "form":
            self._form = None

    def unlabelled(self) -> list[str]:
        found = []
        for tag, values, inside_label in self.controls:
            kind = values.get("type", "text" if tag == "input" else tag).lower()
            if tag == "button" or kind in ("hidden", "submit", "button", "reset", "image"):
                continue
            named = values.get("aria-label", "").strip() or any(
                part in self.ids for part in values.get("aria-labelledby", "").split()
            )
            if not (values.get("id") in self.label_targets or named or inside_label):
                found.append(f"<{tag} name={values.get('name')!r} id={values.get('id')!r}>")
        return found


def audit(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    parser.close()
    return parser


def check_page(label: str, answer: httpx.Response) -> list[str]:
    """What is wrong with one HTML answer (headers and markup)."""
    problems = []
    cache = answer.headers.get("cache-control", "")
    policy = answer.headers.get("content-security-policy", "")
    if "no-store" not in cache:
        problems.append(f"Cache-Control is {cache!r}")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    for name in ("script-src", "style-src"):
        if directives.get(name) != ["'self'"]:
            problems.append(f"CSP {name} is {directives.get(name)}")
    if "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"CSP allows unsafe code: {policy}")
    found = audit(answer.text)
    problems += found.problems
    problems += [f"no label for {control}" for control in found.unlabelled()]
    problems += [f"a label for missing #{t}" for t in found.label_targets - set(found.ids)]
    problems += [f"id {i!r} used {n} times" for i, n in found.ids.items() if n > 1]
    return [f"{label} ({answer.status_code}): {problem}" for problem in problems]


@dataclass(frozen=True)
class Visit:
    who: str
    method: str
    url: str
    answer: httpx.Response

    @property
    def label(self) -> str:
        return f"{self.who}: {self.method} {self.url}"


@dataclass
class Walked:
    """The answers of the walk, and the GET routes it covered."""

    visits: list[Visit]
    covered: set[str]


def walk_as(
    world: World, who: str, browser: Browser, gets: list[str], walked: Walked
) -> Callable[[str, dict[str, str]], httpx.Response]:
    """GET each of ``gets`` in ``browser``; returns a poster for the pages POSTs render."""
    for url in gets:
        route = route_for(world.routes, "GET", url)
        # Fragments are fetched as htmx fetches them (the look-up and the quote answer only that).
        htmx = route is not None and ROUTES.get(route.name) is Access.FRAGMENT
        headers = {"HX-Request": "true"} if htmx else None
        answer = browser.get(url, headers=headers, follow_redirects=False)
        walked.visits.append(Visit(who, "GET", url, answer))
        if route is not None and answer.status_code < 500:
            walked.covered.add(route.name)
    token = token_of(browser)

    def posted(url: str, data: dict[str, str]) -> httpx.Response:
        answer = post(browser, url, data, token)
        walked.visits.append(Visit(who, "POST", url, answer))
        return answer

    return posted


def member_pages(world: World) -> list[str]:
    ids, c = world.objects_of_a, world.c
    item, transfer, payee = ids["item_id"][0], ids["transfer_id"][0], ids["payee_id"][0]
    incoming = ids["request_id"][0]
    filters = (
        f"type=p2p&currency=EUR&counterparty=%40{c.handle}&min_amount=0.01&max_amount=100.00"
        "&from=2000-01-01&to=2100-12-31&q=lunch"
    )
    return [
        "/",
        "/fragments/balances",
        "/activity",
        "/activity/stream",
        "/history",
        f"/history?{filters}",
        "/history?from=someday&min_amount=1,5",  # refused filters: the page with its errors
        "/history/export.csv?type=p2p",
        f"/history/{item}",
        f"/history/transfer/{transfer}",
        "/payees",
        f"/payees/{payee}/edit",
        f"/payees/{payee}/delete",
        f"/payees/{uuid.uuid4()}/edit",  # the not-found page
        "/requests",
        "/requests/new",
        f"/requests/{incoming}/accept",
        f"/requests/{incoming}/stepup",
        f"/requests/{incoming}/decline",
        f"/requests/{incoming}/cancel",
        "/send",
        f"/send?payee={payee}",
        f"/send/lookup?to=%40{c.handle}",
        f"/send/quote?to=%40{c.handle}&amount=1.00&currency=EUR",
        "/send/confirm",
        "/send/execute",
        "/send/stepup",
        "/settings",
        "/settings/profile",
        "/settings/password",
        "/settings/sessions",
        "/settings/two-step",
        f"/dev/mailbox?address={quote(world.a.email)}",
    ]


def rendered_by_posts(
    world: World, posted: Callable[[str, dict[str, str]], httpx.Response]
) -> None:
    """The pages a signed-in person's POSTs render, none of which changes anything."""
    payment = {"to": world.c.handle, "amount": "1.00", "currency": "EUR", "note": "tea"}
    order = {**payment, "fee": world.fee_text, "idempotency_key": new_key()}
    incoming = world.objects_of_a["request_id"][0]
    secret = "JBSWY3DPEHPK3PXPJBSWY3DP"
    assert posted("/send/confirm", payment).status_code == 200
    assert posted("/send", payment).status_code == 200
    assert posted("/send/stepup", order).status_code == 401  # no password: the step-up again
    stepup = {"fee": world.request_fee, "idempotency_key": new_key()}
    assert posted(f"/requests/{incoming}/stepup", stepup).status_code == 401
    assert posted("/settings/two-step/enable", {"stepup": "1"}).status_code == 422
    enrolment = {"totp_secret": secret, "otpauth_uri": f"otpauth://totp/x?secret={secret}"}
    assert posted("/settings/two-step/confirm", {**enrolment, "code": ""}).status_code == 422
    for url in ("/send/execute", "/payees", "/requests/new", "/settings/password"):
        assert posted(url, {}).status_code == 422  # every field's error next to it
    assert posted("/settings/profile", {"display_name": "", "locale": "xx"}).status_code == 422


@pytest.fixture(scope="module")
def walked(world: World) -> Walked:
    """Every page, as a signed-in person, a person with two-step verification and a visitor."""
    result = Walked([], set())
    # The stream ends by itself after a moment, so that a GET of it returns.
    quick = pages_feed.StreamTiming(
        poll_seconds=0.05, lifetime_seconds=0.3, outlast_idle_window=False
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pages_feed, "TIMING", quick)
        posted = walk_as(world, "A", world.browsers["a"], member_pages(world), result)
    rendered_by_posts(world, posted)
    two_step = [
        "/settings/two-step",
        "/settings/two-step/disable",
        "/settings/two-step/recovery-codes",
    ]
    walk_as(world, "D", world.browsers["d"], two_step, result)
    public = [
        "/signin",
        "/signin?next=/history",
        "/signup",
        "/password-reset",
        "/password-reset/complete",
        "/banks",
        "/dev/mailbox",
        "/brand.css",
        "/brand/logo.svg",
    ]
    guest = world.browser("walking guest")
    posted = walk_as(world, "guest", guest, public, result)
    assert posted("/signin", {"login": "", "password": ""}).status_code == 422
    assert posted("/signup", {"contact": "not an address", "locale": "en"}).status_code == 422
    assert posted("/password-reset/complete", {}).status_code == 422
    signing_up = world.browser("signing up")
    started = signing_up.post(
        "/signup", {"contact": f"x{secrets.token_hex(4)}@example.com", "locale": "en"}
    )
    assert started.status_code == 303
    walk_as(world, "signing up", signing_up, ["/signup/complete"], result)
    second = world.browser("second factor")
    first = second.post("/signin", {"login": world.d.handle, "password": PASSWORD})
    assert first.headers["location"] == "/signin/second-factor"
    walk_as(world, "second step", second, ["/signin/second-factor"], result)
    return result


def test_every_page_route_was_walked(world: World, walked: Walked) -> None:
    expected = {
        r.name
        for r in world.routes
        if r.method == "GET" and ROUTES.get(r.name) is not Access.BOUNCE
    }
    assert sorted(expected - walked.covered) == []


def test_every_page_is_no_store_under_the_strict_csp_with_no_inline_code_and_labelled(
    walked: Walked,
) -> None:
    problems, pages = [], 0
    for visit in walked.visits:
        if visit.answer.headers.get("content-type", "").startswith("text/html"):
            pages += 1
            problems += check_page(visit.label, visit.answer)

    assert problems == [], "\n".join(problems)
    assert pages >= 50


def test_what_is_not_a_page_has_its_own_type_and_money_is_never_cached(
    world: World, walked: Walked
) -> None:
    seen = {}
    for visit in walked.visits:
        route = route_for(world.routes, visit.method, visit.url)
        if route is not None and route.name in NOT_PAGES:
            seen[route.name] = visit.answer

    assert set(seen) == set(NOT_PAGES)
    for name, answer in seen.items():
        assert answer.status_code == 200, name
        kind = answer.headers["content-type"]
        assert kind.startswith(NOT_PAGES[name]) and kind.count("charset") <= 1, (name, kind)
    for name in ("GET /history/export.csv", "GET /activity/stream"):
        assert "no-store" in seen[name].headers["cache-control"], name
    assert "\n" in seen["GET /history/export.csv"].text
    assert "connected" in seen["GET /activity/stream"].text


# -- 6. no secret in a URL -------------------------------------------------------------------------


def secret_in(url: str) -> str | None:
    """The name of a query parameter of ``url`` that carries a secret, or None."""
    if url.startswith("data:"):
        return None
    for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if SECRET_NAME.search(name):
            return name
    return None


def test_no_link_form_or_redirect_carries_a_secret(world: World, walked: Walked) -> None:
    forgetful, guest = world.bank.customer(), world.browser("resetting")
    assert guest.post("/password-reset", {"login": forgetful.handle}).status_code == 303
    mail = messages(world.bank.app, world.bank.tenant, forgetful.email)  # type: ignore[arg-type]
    sent = [text_of(message) for message in mail]
    reset = next(m.group(1) for t in sent if (m := re.search(r"password for [^:]+: (\S+) \.", t)))
    done = guest.post("/password-reset/complete", {"token": reset, "new_password": NEW_PASSWORD})
    assert done.status_code == 303
    secrets_known = {PASSWORD, NEW_PASSWORD, reset}
    problems = []

    scanned = [*world.responses, *(visit.answer for visit in walked.visits)]
    for answer in scanned:
        where = f"{answer.request.method} {answer.request.url.path}"
        for header in ("location", "hx-redirect"):
            target = answer.headers.get(header, "")
            if (name := secret_in(target)) or any(s in target for s in secrets_known):
                problems.append(f"{where}: {header} {target!r} carries {name or 'a secret'}")
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        found = audit(answer.text)
        tokens = set(re.findall(r'name="_csrf_token" value="([^"]+)"', answer.text))
        for attribute, url in found.urls:
            if (name := secret_in(url)) or any(s in url for s in secrets_known | tokens):
                problems.append(f"{where}: {attribute} {url[:120]!r} carries {name or 'a secret'}")
        for form in found.forms:
            risky = [
                f.get("name")
                for f in form["fields"]
                if f.get("type") == "password" or SECRET_NAME.search(f.get("name", ""))
            ]
            if form["method"] != "post" and [n for n in risky if n != "_csrf_token"]:
                problems.append(f"{where}: a GET form sends {risky} in its URL")

    assert problems == [], "\n".join(sorted(set(problems)))
    # The walk alone gives every page; what other tests of the module did before adds more.
    assert len(scanned) > 60
    assert not any("token=" in t or "http" in t for t in sent)  # the code, not a link, is sent


def page_answer(html: str, **headers: str) -> httpx.Response:
    good = {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'",
    }
    return httpx.Response(200, headers={**good, **headers}, text=html)


def test_the_page_checks_catch_what_they_are_for() -> None:
    """The checks above on pages made to break each rule, so a pass means something."""
    fine = (
        '<form method="post" action="/x"><label for="f-a">A</label><input id="f-a" name="a">'
        '<input type="hidden" name="k" value="1"><input aria-label="B" name="b">'
        '<label>C <select name="c"></select></label><button type="submit">Go</button></form>'
        '<script src="/static/js/app.js"></script>'
    )
    broken = {
        "an inline script": "<script>alert(1)</script>",
        "an inline style": '<p style="color:red">x</p>',
        "a style element": "<style>p{}</style>",
        "a handler": '<a href="/" onclick="x()">x</a>',
        "an htmx handler": '<div hx-on:click="x()"></div>',
        "a javascript link": '<a href="javascript:x()">x</a>',
        "an unlabelled input": '<input name="amount" id="f-amount">',
        "an unlabelled textarea": '<textarea name="note"></textarea>',
        "a dangling label": '<label for="f-gone">x</label>',
        "a duplicate id": '<p id="x"></p><p id="x"></p>',
    }

    assert check_page("fine", page_answer(fine)) == []
    for what, html in broken.items():
        assert check_page(what, page_answer(fine + html)) != [], what
    assert check_page("cached", page_answer(fine, **{"cache-control": "private"})) != []
    for policy in ("script-src 'self' 'unsafe-inline'", "default-src 'self'", ""):
        assert check_page(policy, page_answer(fine, **{"content-security-policy": policy}))
    assert [secret_in(u) for u in ("/a?next=/b", "/r?token=x", "/c?code=1", "/p?password=x")] == [
        None,
        "token",
        "code",
        "password",
    ]
    assert secret_in("/reset?reset_token=x") == "reset_token"


def test_answers_made_before_routing_carry_the_security_headers_too(world: World) -> None:
    a = world.browsers["a"]
    answers = {
        "an unknown address": a.get("/no-such-page"),
        "a method the page does not take": a.client.delete("/history"),
        "a POST without its CSRF token": a.client.post("/settings/profile", data={}),
    }

    missing = {
        what: sorted(
            name
            for name in ("content-security-policy", "strict-transport-security")
            if name not in answer.headers
        )
        for what, answer in answers.items()
    }

    assert [answer.status_code for answer in answers.values()] == [404, 405, 403]
    assert missing == {what: [] for what in answers}
