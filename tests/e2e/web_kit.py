"""Helpers for the web app's tests through Litestar's test client: a bank whose host name maps to
its tenant, browsers that keep their own cookies, sign-in through the real form, the CSRF token
and a form's hidden fields read from the page the way a browser would submit them, and what the
server keeps in a browser's session.

The client talks ``https://`` so that the ``__Host-`` cookies (Secure) are sent back, as a browser
does. Each ``Browser`` is its own cookie jar.

The fixtures (``bank``, ``guest``, ``member``, ``signed_in``, ``opened``) reach the tests through
``tests/e2e/conftest.py``; a test module with a fixture of the same name uses its own.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.middleware.session.server_side import ServerSideSessionBackend
from litestar.testing import TestClient

from tests.conftest import FakeClock
from tests.integration.identity_kit import (
    PASSWORD,
    Person,
    actor_of,
    build_on_clock,
    new_tenant,
    person,
)
from tests.integration.wallet_people import configuration
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.money import Money
from walletbridge.entrypoints.api.app import create_app
from walletbridge.entrypoints.web.security import SESSION_COOKIE

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
NEW_PASSWORD = "amber-lantern-rainfall-17"
"""A password the password pages accept, other than ``PASSWORD``."""


@dataclass
class WebBank:
    """A tenant reachable at ``host`` with the EUR test configuration."""

    app: Container
    clock: FakeClock
    tenant: str
    host: str

    def customer(self, funded_minor: int = 0, **kwargs: Any) -> Person:
        someone = person(self.app, self.tenant, **kwargs)  # type: ignore[arg-type]
        if funded_minor:
            self.app.wallets.fund_wallet(
                self.tenant,  # type: ignore[arg-type]
                someone.summary.user_id,
                Money(funded_minor, self.app.currencies.get("EUR")),
                secrets.token_hex(6),
            )
        return someone


@contextmanager
def web_bank(database_url: str, tmp_path: Path, *, brand_locale: str = "en") -> Iterator[WebBank]:
    app, clock = build_on_clock(database_url, tmp_path)
    tenant = new_tenant(app)
    app.wallets.configure_tenant(tenant, configuration())
    host = f"{tenant}.example.test"
    app.identity.set_brand(
        tenant,
        display_name="Test Bank",
        primary_colour="#0a7d5a",
        logo_text="TB",
        default_locale=brand_locale,
    )
    app.identity.add_host(tenant, host)
    try:
        yield WebBank(app, clock, tenant, host)
    finally:
        app.close()


class Browser:
    """One browser: its own cookies, talking to the bank's host name over https."""

    def __init__(self, bank: WebBank, *, language: str = "en") -> None:
        self.bank = bank
        self.client: TestClient[Any] = TestClient(
            create_app(bank.app), base_url=f"https://{bank.host}"
        )
        self.client.headers["Accept-Language"] = language
        self.client.__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, str], *, page: str | None = None) -> httpx.Response:
        """Submit a form the way a browser would: with the CSRF token of the page it is on
        (``page``, default ``path``), not following redirects."""
        token = csrf_of(self.get(page or path).text)
        return self.client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)

    def sign_in(self, who: Person, password: str = PASSWORD) -> httpx.Response:
        answer = self.post("/signin", {"login": who.handle, "password": password})
        assert answer.status_code == 303, answer.text
        return answer


class Browsers(list[Browser]):
    """The browsers a test opens (the ``opened`` fixture), closed after it."""

    def __init__(self, bank: WebBank) -> None:
        super().__init__()
        self.bank = bank

    def signed_in(self, who: Person) -> Browser:
        """A new browser, signed in as ``who``."""
        browser = Browser(self.bank)
        self.append(browser)
        browser.sign_in(who)
        return browser


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def bank(database_url: str, tmp_path: Path) -> Iterator[WebBank]:
    """A bank of its own for the test, on SQLite and on PostgreSQL (``database_url``)."""
    with web_bank(database_url, tmp_path) as made:
        yield made


@pytest.fixture
def guest(bank: WebBank) -> Iterator[Browser]:
    """A browser nobody has signed in on."""
    opened = Browser(bank)
    yield opened
    opened.close()


@pytest.fixture
def member(bank: WebBank) -> Person:
    return bank.customer()


@pytest.fixture
def signed_in(bank: WebBank, member: Person) -> Iterator[Browser]:
    """A browser signed in as ``member``."""
    opened = Browser(bank)
    opened.sign_in(member)
    yield opened
    opened.close()


@pytest.fixture
def opened(bank: WebBank) -> Iterator[Browsers]:
    browsers = Browsers(bank)
    yield browsers
    for each in browsers:
        each.close()


# -- the bank's side ---------------------------------------------------------------------------


def actor(bank: WebBank, who: Person) -> Actor:
    return actor_of(bank.app, bank.tenant, who.token)  # type: ignore[arg-type]


def posted(bank: WebBank, who: Person) -> int:
    """``who``'s posted EUR balance, in cents."""
    _, balances = bank.app.wallets.balances(actor(bank, who))
    return sum(b.posted_minor for b in balances if b.account.currency == "EUR")


# -- reading pages -----------------------------------------------------------------------------


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def form_key_of(html: str) -> str:
    match = _KEY.search(html)
    assert match, "the page has no form with an idempotency key"
    return match.group(1)


def hidden_fields(html: str, action: str | None = None) -> dict[str, str]:
    """The hidden fields of the form that posts to ``action`` (of the whole page without one),
    as a browser sends them back."""
    if action is not None:
        marker = f'action="{action}"'
        assert marker in html, f"the page has no form posting to {action}"
        html = html.split(marker, 1)[1].split("</form>", 1)[0]
    return {name: unescape(value) for name, value in _HIDDEN.findall(html)}


def text_of(html: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (up to its first tag)."""
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


def field_error(html: str, name: str) -> str | None:
    """The error message shown next to field ``name``, or None."""
    match = re.search(rf'id="f-{re.escape(name)}-error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)).strip() if match else None


def form_error(html: str) -> str | None:
    match = re.search(r'id="form-error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)).strip() if match else None


# -- the session the server keeps ---------------------------------------------------------------


def session_backend(browser: Browser) -> ServerSideSessionBackend:
    """The app's own session backend (sessions are sealed in the store, so only it reads them)."""
    for layer in browser.client.app.middleware:
        backend = getattr(layer, "kwargs", {}).get("backend")
        if isinstance(backend, ServerSideSessionBackend):
            return backend
    raise AssertionError("the app has no server-side sessions")


def session_data(browser: Browser) -> dict[str, Any]:
    """What the server keeps in ``browser``'s session."""
    session_id = browser.client.cookies.get(SESSION_COOKIE)
    assert session_id, "the browser has no session yet"
    backend = session_backend(browser)
    store = backend.config.get_store_from_app(browser.client.app)
    with browser.client.portal() as portal:
        raw = portal.call(backend.get, session_id, store)
    return backend.deserialize_data(raw) if raw else {}


def plant_in_session(browser: Browser, **values: object) -> None:
    """Put ``values`` into ``browser``'s session, as an earlier visitor of the same browser (or
    a page not under test here) might have left them."""
    session_id = browser.client.cookies.get(SESSION_COOKIE)
    assert session_id, "the browser has no session yet"
    backend = session_backend(browser)
    store = backend.config.get_store_from_app(browser.client.app)
    data = backend.serialize_data({**session_data(browser), **values})
    with browser.client.portal() as portal:
        portal.call(backend.set, session_id, data, store)
    assert session_data(browser).items() >= values.items()


__all__ = [
    "NEW_PASSWORD",
    "PASSWORD",
    "Browser",
    "Browsers",
    "WebBank",
    "actor",
    "bank",
    "csrf_of",
    "field_error",
    "form_error",
    "form_key_of",
    "guest",
    "hidden_fields",
    "member",
    "opened",
    "plant_in_session",
    "posted",
    "session_data",
    "signed_in",
    "text_of",
    "web_bank",
]
