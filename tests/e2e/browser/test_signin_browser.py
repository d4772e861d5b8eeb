"""Sign-in in a real browser: the bank chooser of the demo address, a README account, the
language switch, field errors in place, the keyboard alone, and no CSP violation on the way."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.demo_server import DemoServer
from tests.e2e.browser.watch import Watch


def test_the_demo_address_offers_the_banks_and_a_readme_account_signs_in(
    page: Page, demo: DemoServer
) -> None:
    watch = Watch(page)
    page.goto(demo.url(path="/"))
    expect(page).to_have_url(re.compile(r"/banks$"))
    page.get_by_role("button", name=re.compile("Harbour Bank")).click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_label("Email, phone or handle").fill("anna")
    page.get_by_label("Password").fill("harbour-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r":\d+/$"))
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Harbour Bank")
    watch.assert_clean()


def test_a_wrong_password_is_shown_in_place_and_the_login_is_kept(
    page: Page, demo: DemoServer
) -> None:
    watch = Watch(page)
    page.goto(demo.url("lotus", "/signin"))
    page.get_by_label("Email, phone or handle").fill("li.wei")
    page.get_by_role("button", name="Sign in").click()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-password-error")).to_have_text("This field is required.")
    expect(password).to_be_focused()
    expect(page.get_by_label("Email, phone or handle")).to_have_value("li.wei")
    watch.assert_clean()


def test_the_keyboard_alone_signs_in(page: Page, demo: DemoServer) -> None:
    page.goto(demo.url("harbour", "/signin"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email, phone or handle")).to_be_focused()
    page.keyboard.type("ben")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("harbour-demo-2026")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r":\d+/$"))


def test_the_language_switch_turns_the_page_chinese_and_back(page: Page, demo: DemoServer) -> None:
    page.goto(demo.url("harbour", "/signin"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
