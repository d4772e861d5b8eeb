"""WCAG 2.1 AA on the main pages, in both languages, checked by axe-core in Chromium: labels,
names, contrast (the brand colours included), landmarks, the declared language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.e2e.browser.axe import violations
from tests.e2e.browser.demo_server import DemoServer

SIGNED_OUT = ["/signin", "/signup", "/password-reset"]
SIGNED_IN = ["/", "/send", "/requests", "/requests/new", "/history", "/payees", "/settings"]
DETAIL_LINK = "a[href^='/history/']:not([href^='/history/export'])"
ACCOUNTS = {
    "en": ("harbour", "chloe", "harbour-demo-2026"),
    "zh-CN": ("lotus", "zhang.min", "lotus-demo-2026"),
}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_main_pages_have_no_wcag_aa_violations(
    browser: Browser, demo: DemoServer, locale: str
) -> None:
    bank, login, password = ACCOUNTS[locale]
    # Reduced motion: Bootstrap then skips its colour transitions, which axe would otherwise
    # catch half-way and report as low contrast.
    options: dict[str, Any] = {"locale": locale, "bypass_csp": True, "reduced_motion": "reduce"}
    context = browser.new_context(**options)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        for path in SIGNED_OUT:
            page.goto(demo.url(bank, path))
            found[path] = violations(page)
        page.goto(demo.url(bank, "/signin"))
        page.fill("#f-login", login)
        page.fill("#f-password", password)
        page.locator("form[action='/signin'] button[type=submit]").click()
        page.wait_for_url(demo.url(bank, "/"))
        for path in SIGNED_IN:
            page.goto(demo.url(bank, path))
            found[path] = violations(page)
        page.goto(demo.url(bank, "/history"))
        page.locator(DETAIL_LINK).first.click()
        page.wait_for_url(re.compile(r"/history/[0-9a-f-]{36}$"))
        found["detail"] = violations(page)
    finally:
        context.close()
    assert {path: v for path, v in found.items() if v} == {}
