"""The whole journey in Chromium against the running demo: a new person signs up with the code
from the development mailbox, turns on two-step sign-in with the code computed from the secret
behind the QR, signs out and in again with a fresh code, and sends money; the recipient's open
dashboard shows the payment and the new balance without a reload. Then a double click that pays
once, and the phone-sized screen."""

from __future__ import annotations

import re
import secrets
import time
from decimal import Decimal

import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.browser.demo_server import DemoServer
from tests.e2e.browser.watch import Watch
from walletbridge.domain.actors import RecipientKind, RequestContext
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.money import Money
from walletbridge.domain.payments import RecipientRef
from walletbridge.services.payment_plans import TransferOrder

HARBOUR = TenantId("eur-bank")
DEMO_PASSWORD = "harbour-demo-2026"
NEW_PASSWORD = "quiet-orchard-lantern-58"
CONTEXT = RequestContext(ip="127.0.0.1", user_agent="browser-test", request_id="browser-test")


def sign_in(page: Page, demo: DemoServer, login: str, password: str) -> None:
    page.goto(demo.url("harbour", "/signin"))
    page.get_by_label("Email, phone or handle").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def euros(balance_text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", balance_text))


def code_from_mailbox(page: Page, demo: DemoServer, address: str) -> str:
    """The verification code, read the way a demo visitor reads it: on the mailbox page."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.goto(demo.url("harbour", f"/dev/mailbox?address={address}"))
        messages = page.locator("#mailbox-messages pre")
        if messages.count():
            match = re.search(r"\b(\d{6})\b", messages.first.inner_text())
            if match:
                return match.group(1)
        time.sleep(1)
    raise AssertionError(f"no code reached {address}")


def fresh_totp(secret: str, used: str) -> str:
    """A code of a later time step than ``used``: an accepted code never works twice."""
    totp = pyotp.TOTP(secret)
    while (code := totp.now()) == used:
        time.sleep(1)
    return code


def pay_from_anna(demo: DemoServer, handle: str, amount_minor: int) -> None:
    """Money for the newcomer, sent by a demo customer through the payment service."""
    identity, payments = demo.container.identity, demo.container.wallets.payments
    login = identity.login(HARBOUR, "anna", DEMO_PASSWORD, CONTEXT)
    assert login.token is not None
    anna = identity.authenticate(HARBOUR, login.token.access_token, CONTEXT)
    to = RecipientRef(RecipientKind.HANDLE, handle)
    amount = Money(amount_minor, demo.container.currencies.get("EUR"))
    quote = payments.quote(anna, to, amount)
    order = TransferOrder(to=to, amount=amount, fee=quote.fee, note="Welcome")
    outcome = payments.transfer(anna, order, secrets.token_hex(8))
    assert outcome.status_code == 201, outcome.body


def open_dashboard(browser: Browser, demo: DemoServer, login: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    sign_in(page, demo, login, DEMO_PASSWORD)
    expect(page).to_have_url(demo.url("harbour", "/"))
    return context, page


def test_sign_up_enrol_totp_sign_in_again_and_pay_someone_watching_live(
    browser: Browser, demo: DemoServer
) -> None:
    handle = f"dora{secrets.token_hex(3)}"
    address = f"{handle}@example.com"
    ben_context, ben = open_dashboard(browser, demo, "ben")
    ben_watch = Watch(ben)
    ben_balance_before = euros(ben.locator("#wb-balances .wb-balance").first.inner_text())

    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    watch = Watch(page)
    # Sign up: the code arrives in the development mailbox.
    page.goto(demo.url("harbour", "/signup"))
    page.get_by_label("Email address or phone number").fill(address)
    page.get_by_role("button", name="Send the code").click()
    expect(page).to_have_url(demo.url("harbour", "/signup/complete"))
    code = code_from_mailbox(page, demo, address)
    page.goto(demo.url("harbour", "/signup/complete"))
    page.get_by_label("Verification code").fill(code)
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Your name").fill("Dora Quinn")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Open my wallet").click()
    expect(page).to_have_url(demo.url("harbour", "/"))

    # Two-step sign-in: the secret behind the QR code gives the code.
    page.goto(demo.url("harbour", "/settings/two-step"))
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("img[src^='data:image/svg+xml;base64,']")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    enrolment_code = pyotp.TOTP(secret).now()
    page.get_by_label("Code from your authenticator app").fill(enrolment_code)
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.locator("#recovery-codes")).to_be_visible()

    # Out, and in again: the password, then a code of a later step.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(demo.url("harbour", "/signin"))
    sign_in(page, demo, handle, NEW_PASSWORD)
    expect(page).to_have_url(demo.url("harbour", "/signin/second-factor"))
    page.get_by_label("Code from your authenticator app").fill(fresh_totp(secret, enrolment_code))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(demo.url("harbour", "/"))

    # Money arrives (as a top-up would), then Dora pays Ben, who watches his dashboard.
    pay_from_anna(demo, handle, 50_00)
    page.reload()
    page.goto(demo.url("harbour", "/send"))
    page.get_by_label("Recipient").fill("ben")
    page.get_by_label("Amount").fill("12.34")
    expect(page.locator("#send-quote")).to_contain_text("Fee")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#confirm-amount")).to_have_text("€12.34")
    fee = euros(page.locator("#confirm-fee").inner_text())
    assert Decimal("0") < fee < Decimal("1")  # the demo bank charges a small percentage
    page.get_by_role("button", name="Confirm and send").click()
    expect(page.locator(".alert-success")).to_contain_text("Sent €12.34")
    # What was charged is what was shown before confirming.
    page.goto(demo.url("harbour", "/"))
    dora_balance = euros(page.locator("#wb-balances .wb-balance").first.inner_text())
    assert dora_balance == Decimal("50.00") - Decimal("12.34") - fee

    feed = ben.locator("#wb-feed")
    expect(feed).to_contain_text("Received €12.34", timeout=15_000)
    expect(ben.locator("#wb-balances .wb-balance").first).to_have_text(
        f"€{ben_balance_before + Decimal('12.34'):,.2f}", timeout=15_000
    )
    watch.assert_clean()
    ben_watch.assert_clean()
    context.close()
    ben_context.close()


def test_a_double_click_on_confirm_pays_once(browser: Browser, demo: DemoServer) -> None:
    context, page = open_dashboard(browser, demo, "chloe")
    before = euros(page.locator("#wb-balances .wb-balance").first.inner_text())
    page.goto(demo.url("harbour", "/send"))
    page.get_by_label("Recipient").fill("anna")
    page.get_by_label("Amount").fill("1.00")
    page.get_by_role("button", name="Continue").click()
    fee = euros(page.locator("#confirm-fee").inner_text())
    page.get_by_role("button", name="Confirm and send").dblclick()
    expect(page.locator(".alert-success")).to_contain_text("Sent €1.00")
    page.goto(demo.url("harbour", "/"))
    after = euros(page.locator("#wb-balances .wb-balance").first.inner_text())
    assert before - after == Decimal("1.00") + fee
    context.close()


def test_on_a_phone_the_menu_folds_and_errors_show_in_place(
    browser: Browser, demo: DemoServer
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="en-GB"
    )
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, demo, "ben", DEMO_PASSWORD)
    expect(page).to_have_url(demo.url("harbour", "/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Send")).to_be_hidden()
    nav.get_by_role("button", name="Menu").click()
    nav.get_by_role("link", name="Send").click()
    expect(page).to_have_url(demo.url("harbour", "/send"))
    page.get_by_label("Recipient").fill("anna")
    page.get_by_label("Amount").fill("12,50")
    page.get_by_role("button", name="Continue").click()
    amount = page.get_by_label("Amount")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-amount-error")).to_be_visible()
    expect(amount).to_be_focused()
    expect(page.get_by_label("Recipient")).to_have_value("anna")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    watch.assert_clean()
    context.close()
