"""Helpers for the web app's tests through Litestar's test client: a bank whose host name maps to
its tenant, browsers that keep their own cookies, sign-in through the real form, and the CSRF
token read from the page the way a browser would submit it.

The client talks ``https://`` so that the ``__Host-`` cookies (Secure) are sent back, as a browser
does. Each ``Browser`` is its own cookie jar.
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
from litestar.testing import TestClient

from tests.conftest import FakeClock
from tests.integration.identity_kit import PASSWORD, Person, build_on_clock, new_tenant, person
from tests.integration.wallet_people import configuration
from walletbridge.bootstrap import Container
from walletbridge.domain.money import Money
from walletbridge.entrypoints.api.app import create_app

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


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


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def form_key_of(html: str) -> str:
    match = _KEY.search(html)
    assert match, "the page has no form with an idempotency key"
    return match.group(1)


def field_error(html: str, name: str) -> str | None:
    """The error message shown next to field ``name``, or None."""
    match = re.search(rf'id="f-{re.escape(name)}-error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)).strip() if match else None


def form_error(html: str) -> str | None:
    match = re.search(r'id="form-error"[^>]*>([^<]*)<', html)
    return unescape(match.group(1)).strip() if match else None


__all__ = ["PASSWORD", "Browser", "WebBank", "csrf_of", "field_error", "form_key_of", "web_bank"]
