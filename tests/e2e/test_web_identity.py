"""The web app's identity pages through the test client on both engines: sign-up with a
verification code, password reset, the development mailbox, settings (profile, password,
two-step verification, sessions and devices) and the step-up an idle session needs."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from litestar.middleware.session.server_side import ServerSideSessionBackend
from pydantic import SecretStr

from tests.conftest import FakeClock
from tests.e2e.web_kit import (
    Browser,
    WebBank,
    csrf_of,
    field_error,
    form_error,
    form_key_of,
    web_bank,
)
from tests.integration.identity_kit import (
    CONTEXT,
    PASSWORD,
    Authenticator,
    Person,
    code_sent_to,
    messages,
    new_tenant,
    text_of,
    unique,
)
from walletbridge.bootstrap import build
from walletbridge.config import Environment, Settings
from walletbridge.domain.identity import AuthenticationRequired
from walletbridge.entrypoints.web.security import SESSION_COOKIE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NEW_PASSWORD = "amber-lantern-rainfall-17"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def bank(database_url: str, tmp_path: Path) -> Iterator[WebBank]:
    with web_bank(database_url, tmp_path) as made:
        yield made


@pytest.fixture
def guest(bank: WebBank) -> Iterator[Browser]:
    opened = Browser(bank)
    yield opened
    opened.close()


@pytest.fixture
def member(bank: WebBank) -> Person:
    return bank.customer()


@pytest.fixture
def signed_in(bank: WebBank, member: Person) -> Iterator[Browser]:
    opened = Browser(bank)
    opened.sign_in(member)
    yield opened
    opened.close()


def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in _HIDDEN.findall(html)}


def totp_secret_of(html: str) -> str:
    match = re.search(r'id="totp-secret" data-secret="([A-Z2-7]+)"', html)
    assert match, "the page shows no TOTP secret"
    return match.group(1)


def recovery_codes_of(html: str) -> list[str]:
    block = html.split('id="recovery-codes"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<code[^>]*>([a-z0-9-]+)</code>", block)


def current_session_of(html: str) -> str:
    match = re.search(r'data-session-id="([0-9a-f-]+)" data-current="true"', html)
    assert match, "no session is marked as this device"
    return match.group(1)


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


def start_signup(guest: Browser, contact: str, locale: str = "en") -> None:
    answer = guest.post("/signup", {"contact": contact, "locale": locale})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/signup/complete"


def signup_details(code: str, handle: str, **changes: str) -> dict[str, str]:
    return {
        "code": code,
        "handle": handle,
        "display_name": "Mei Lin",
        "password": NEW_PASSWORD,
        **changes,
    }


def enable_totp(bank: WebBank, browser: Browser) -> tuple[Authenticator, list[str]]:
    """Two-step verification turned on through the pages; the device and the recovery codes."""
    setup = browser.post("/settings/two-step/enable", {}, page="/settings/two-step")
    assert setup.status_code == 200, setup.text
    device = Authenticator(totp_secret_of(setup.text), bank.clock)
    hidden = hidden_fields(setup.text)
    done = browser.post(
        "/settings/two-step/confirm",
        {
            "code": device.code(),
            "totp_secret": hidden["totp_secret"],
            "otpauth_uri": hidden["otpauth_uri"],
        },
        page="/settings",
    )
    assert done.status_code == 200, done.text
    bank.clock.advance(30)  # the confirming code's step is spent
    return device, recovery_codes_of(done.text)


# --- sign-up ---------------------------------------------------------------------------------


def test_sign_up_with_the_code_read_from_the_development_mailbox_signs_the_person_in(
    bank: WebBank, guest: Browser
) -> None:
    email, handle = f"{unique()}@example.com", unique("mei")
    first = guest.get("/signup")
    assert 'href="/dev/mailbox"' in first.text
    start_signup(guest, email)
    form = guest.get("/signup/complete")
    assert email in form.text
    # The verification id stays on the server: the page carries no hidden field but the token.
    assert set(hidden_fields(form.text)) <= {"_csrf_token", "next"}
    bank.app.notifications.deliver_pending()
    mailbox = guest.get(f"/dev/mailbox?address={email.upper()}")
    assert mailbox.status_code == 200
    code = re.search(r"verification code is (\d{6})", mailbox.text)
    assert code, mailbox.text
    answer = guest.post("/signup/complete", signup_details(code.group(1), handle))
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    settings = guest.get("/settings")
    assert settings.status_code == 200
    assert "Mei Lin" in settings.text and f"@{handle}" in settings.text and email in settings.text


def test_signing_up_starts_a_fresh_session_so_nothing_left_in_it_before_survives(
    bank: WebBank, guest: Browser
) -> None:
    email, handle = f"{unique()}@example.com", unique("mei")
    start_signup(guest, email)
    code = code_sent_to(bank.app, bank.tenant, email)  # type: ignore[arg-type]
    token = csrf_of(guest.get("/signup/complete").text)  # showing a page shows its flashes
    plant_in_session(guest, probed_recipients=["@someone-else"], flash=[{"msgid": "Left over"}])
    before = guest.client.cookies.get(SESSION_COOKIE)
    done = guest.client.post(
        "/signup/complete",
        data={**signup_details(code, handle), "_csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert guest.client.cookies.get(SESSION_COOKIE) != before
    kept = session_data(guest)
    assert "probed_recipients" not in kept and "signup" not in kept
    assert [item["msgid"] for item in kept["flash"]] == ["Welcome, {name}. Your wallet is open."]
    assert kept["locale"] == "en"
    home = guest.get("/")
    assert home.status_code == 200 and "Welcome, Mei Lin" in home.text
    assert "Left over" not in home.text


def test_a_wrong_code_is_shown_next_to_the_code_keeping_everything_but_the_secrets(
    bank: WebBank, guest: Browser
) -> None:
    email, handle = f"{unique()}@example.com", unique("mei")
    start_signup(guest, email)
    right = code_sent_to(bank.app, bank.tenant, email)  # type: ignore[arg-type]
    wrong = "000000" if right != "000000" else "111111"
    answer = guest.post("/signup/complete", signup_details(wrong, handle), page="/signup/complete")
    assert answer.status_code == 422
    assert field_error(answer.text, "code") == (
        "The verification code is not correct; 4 tries left."
    )
    assert f'value="{handle}"' in answer.text and 'value="Mei Lin"' in answer.text
    assert NEW_PASSWORD not in answer.text and f'value="{wrong}"' not in answer.text
    assert guest.get("/settings", follow_redirects=False).status_code == 303
    again = guest.post("/signup/complete", signup_details(right, handle), page="/signup/complete")
    assert again.status_code == 303


def test_a_weak_password_is_refused_next_to_the_password_without_spending_a_try(
    bank: WebBank, guest: Browser
) -> None:
    email, handle = f"{unique()}@example.com", unique("mei")
    start_signup(guest, email)
    code = code_sent_to(bank.app, bank.tenant, email)  # type: ignore[arg-type]
    weak = guest.post("/signup/complete", signup_details(code, handle, password="short"))
    assert weak.status_code == 422
    assert field_error(weak.text, "password") == (
        "Choose another password: use at least 10 characters."
    )
    assert field_error(weak.text, "code") is None
    own = guest.post("/signup/complete", signup_details(code, handle, password=f"{handle}-x1"))
    assert own.status_code == 422
    assert "handle" in (field_error(own.text, "password") or "")
    assert guest.post("/signup/complete", signup_details(code, handle)).status_code == 303


def test_a_taken_handle_and_a_malformed_one_are_refused_next_to_the_handle(
    bank: WebBank, guest: Browser, member: Person
) -> None:
    start_signup(guest, f"{unique()}@example.com")
    taken = guest.post("/signup/complete", signup_details("123456", member.handle.upper()))
    assert taken.status_code in (409, 422)
    malformed = guest.post("/signup/complete", signup_details("123456", "9lives", display_name=""))
    assert malformed.status_code == 422
    assert "handle is not valid" in (field_error(malformed.text, "handle") or "")
    assert field_error(malformed.text, "display_name") == "This field is required."
    email = f"{unique()}@example.com"
    start_signup(guest, email)
    code = code_sent_to(bank.app, bank.tenant, email)  # type: ignore[arg-type]
    answer = guest.post("/signup/complete", signup_details(code, member.handle))
    assert answer.status_code == 409
    assert field_error(answer.text, "handle") == (
        f"The handle {member.handle} is taken; choose another."
    )


def test_an_address_that_is_neither_email_nor_phone_is_refused_before_anything_is_sent(
    bank: WebBank, guest: Browser
) -> None:
    answer = guest.post("/signup", {"contact": "8613800138000x", "locale": "en"})
    assert answer.status_code == 422
    assert "international form" in (field_error(answer.text, "contact") or "")
    assert 'value="8613800138000x"' in answer.text
    unknown = guest.post("/signup", {"contact": "a@example.com", "locale": "fr"})
    assert unknown.status_code == 422 and field_error(unknown.text, "locale")
    assert guest.get("/signup/complete", follow_redirects=False).headers["location"] == "/signup"


def test_sign_up_by_phone_in_chinese_reads_the_text_message_and_speaks_chinese_after(
    bank: WebBank,
) -> None:
    chinese = Browser(bank, language="zh-CN")
    try:
        number = "+86138" + unique("")[:8].translate(str.maketrans("abcdef", "123456"))
        start_signup(chinese, number.replace("+", "00"), locale="zh-CN")
        bank.app.notifications.deliver_pending()
        outbox = chinese.get(f"/dev/mailbox?address={number.replace('+', '%2B')}")
        code = re.search(r"验证码是 (\d{6})", outbox.text)
        assert code, outbox.text
        done = chinese.post("/signup/complete", signup_details(code.group(1), unique("li")))
        assert done.status_code == 303
        settings = chinese.get("/settings")
        assert '<html lang="zh-CN">' in settings.text and number in settings.text
    finally:
        chinese.close()


def test_codes_and_reset_requests_are_throttled_per_address_as_in_the_api(
    bank: WebBank, guest: Browser, member: Person
) -> None:
    email = f"{unique()}@example.com"
    limit = bank.app.settings.rate_otp_sends_per_10_minutes
    for _ in range(limit):
        start_signup(guest, email)
    refused = guest.post("/signup", {"contact": f" {email.upper()} ", "locale": "en"})
    assert refused.status_code == 429
    assert (field_error(refused.text, "contact") or "").startswith("Too many attempts")
    assert len(messages(bank.app, bank.tenant, email)) == limit  # type: ignore[arg-type]
    for _ in range(limit):
        assert guest.post("/password-reset", {"login": member.handle}).status_code == 303
    throttled = guest.post("/password-reset", {"login": member.handle})
    assert throttled.status_code == 429
    assert (form_error(throttled.text) or "").startswith("Too many attempts")


# --- the development mailbox --------------------------------------------------------------------


def test_the_mailbox_shows_the_newest_message_first_as_escaped_text(
    bank: WebBank, guest: Browser
) -> None:
    bank.app.identity.set_brand(bank.tenant, display_name="<b>Bank</b> & Co")  # type: ignore[arg-type]
    email = f"{unique()}@example.com"
    start_signup(guest, email)
    bank.clock.advance(5)
    start_signup(guest, email)
    bank.app.notifications.deliver_pending()
    page = guest.get(f"/dev/mailbox?address={email}").text
    # Phone numbers go in the same field, so the browser must not offer only email addresses.
    assert 'name="address" type="text" value="' in page and 'autocomplete="off"' in page
    assert 'autocomplete="email"' not in page
    assert "exists only in development and test" in page
    newest = code_sent_to(bank.app, bank.tenant, email)  # type: ignore[arg-type]
    shown = re.findall(r"verification code is (\d{6})", page)
    assert len(shown) == 2 and shown[0] == newest
    assert "<b>Bank</b>" not in page and "&lt;b&gt;Bank&lt;/b&gt; &amp; Co" in page
    assert "No messages yet" in guest.get("/dev/mailbox?address=nobody@example.com").text
    bad = guest.get("/dev/mailbox?address=not-an-address")
    assert bad.status_code == 422 and field_error(bad.text, "address")


def test_the_mailbox_is_not_served_in_production(database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        environment=Environment.PRODUCTION,
        database_url=database_url,
        var_dir=tmp_path,
        secret_key=SecretStr("a-production-secret-for-this-test-only-0123456789"),
    )
    app = build(settings, clock=FakeClock())
    try:
        tenant = new_tenant(app)
        host = f"{tenant}.example.test"
        app.identity.add_host(tenant, host)
        production = Browser(WebBank(app, FakeClock(), tenant, host))
        try:
            assert production.get("/dev/mailbox?address=a@example.com").status_code == 404
            assert production.get("/dev/mailbox").status_code == 404
            signup = production.get("/signup")
            assert signup.status_code == 200 and "/dev/mailbox" not in signup.text
        finally:
            production.close()
    finally:
        app.close()


# --- password reset ----------------------------------------------------------------------------


def reset_token_sent_to(bank: WebBank, email: str) -> str:
    for message in messages(bank.app, bank.tenant, email):  # type: ignore[arg-type]
        found = re.search(r"password for [^:]+: (\S+) \.", text_of(message))
        if found:
            return found.group(1)
    raise AssertionError(f"no reset code was sent to {email}")


def test_a_reset_request_answers_the_same_whether_or_not_the_login_exists(
    bank: WebBank, guest: Browser, member: Person
) -> None:
    answers = []
    for login in (member.email, f"{unique()}@example.com", unique("nobody")):
        answer = guest.post("/password-reset", {"login": login})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/password-reset/complete"
        page = guest.get("/password-reset/complete").text
        answers.append(page.split('role="status">', 1)[1].split("<", 1)[0])
    assert answers[0] == answers[1] == answers[2] and "reset code" in answers[0]
    assert reset_token_sent_to(bank, member.email)


def test_a_password_reset_sets_the_new_password_once_and_signs_out_everywhere(
    bank: WebBank, guest: Browser, member: Person, signed_in: Browser
) -> None:
    guest.post("/password-reset", {"login": member.handle})
    token = reset_token_sent_to(bank, member.email)
    weak = guest.post(
        "/password-reset/complete",
        {"token": token, "new_password": "password"},
    )
    assert weak.status_code == 422 and field_error(weak.text, "new_password")
    assert field_error(weak.text, "token") is None
    # The code is a secret like the password: never echoed; the page says to paste it again.
    assert token not in weak.text and 'name="token" type="text" value=""' in weak.text
    assert "copy it again" in weak.text
    done = guest.post("/password-reset/complete", {"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/signin"
    assert signed_in.get("/settings", follow_redirects=False).status_code == 303
    again = guest.post("/password-reset/complete", {"token": token, "new_password": NEW_PASSWORD})
    assert again.status_code == 422
    assert "not valid any more" in (field_error(again.text, "token") or "")
    refused = guest.post("/signin", {"login": member.handle, "password": PASSWORD})
    assert refused.status_code == 401
    guest.sign_in(member, NEW_PASSWORD)


def test_a_password_reset_leaves_this_browser_a_fresh_session_under_a_new_id(
    bank: WebBank, guest: Browser, member: Person
) -> None:
    start_signup(guest, f"{unique()}@example.com")  # a sign-up left half done in this browser
    guest.post("/password-reset", {"login": member.handle})
    plant_in_session(guest, probed_recipients=["@someone-else"])
    before = guest.client.cookies.get(SESSION_COOKIE)
    token = reset_token_sent_to(bank, member.email)
    done = guest.post("/password-reset/complete", {"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/signin"
    assert guest.client.cookies.get(SESSION_COOKIE) != before
    kept = session_data(guest)
    assert "probed_recipients" not in kept and "signup" not in kept
    assert guest.get("/signup/complete", follow_redirects=False).headers["location"] == "/signup"
    guest.sign_in(member, NEW_PASSWORD)


# --- profile and password ----------------------------------------------------------------------


def test_the_profile_changes_the_name_and_the_language_of_the_pages(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    assert '<html lang="en">' in signed_in.get("/settings").text
    empty = signed_in.post("/settings/profile", {"display_name": " ", "locale": "zh-CN"})
    assert empty.status_code == 422 and field_error(empty.text, "display_name")
    answer = signed_in.post("/settings/profile", {"display_name": "Mei  Lin", "locale": "zh-CN"})
    assert answer.status_code == 303
    page = signed_in.get("/settings").text
    assert '<html lang="zh-CN">' in page and "设置" in page and "Mei Lin" in page
    user = bank.app.identity.me(
        bank.app.identity.authenticate(bank.tenant, member.token, CONTEXT)  # type: ignore[arg-type]
    )
    assert (user.display_name, user.locale) == ("Mei Lin", "zh-CN")


def test_changing_the_password_keeps_this_browser_and_signs_out_the_others(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    other = Browser(bank)
    try:
        other.sign_in(member)
        wrong = signed_in.post(
            "/settings/password",
            {"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 401
        assert field_error(wrong.text, "current_password") == (
            "The sign-in details are not correct."
        )
        assert "not-my-password" not in wrong.text and NEW_PASSWORD not in wrong.text
        weak = signed_in.post(
            "/settings/password", {"current_password": PASSWORD, "new_password": "123456789"}
        )
        assert weak.status_code == 422 and field_error(weak.text, "new_password")
        before = signed_in.client.cookies.get("__Host-wb-session")
        done = signed_in.post(
            "/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        )
        assert done.status_code == 303 and done.headers["location"] == "/settings"
        assert signed_in.client.cookies.get("__Host-wb-session") != before
        assert signed_in.get("/settings").status_code == 200
        assert other.get("/settings", follow_redirects=False).status_code == 303
        with pytest.raises(AuthenticationRequired):
            bank.app.identity.authenticate(bank.tenant, member.token, CONTEXT)  # type: ignore[arg-type]
        other.sign_in(member, NEW_PASSWORD)
    finally:
        other.close()


def test_guesses_at_the_current_password_are_throttled_like_logins(
    bank: WebBank, signed_in: Browser
) -> None:
    bank.clock.advance(bank.app.settings.session_idle_seconds + 1)  # stale: the step-up asks
    limit = bank.app.settings.rate_login_per_5_minutes
    for attempt in range(limit):
        wrong = signed_in.post(
            "/settings/password",
            {"current_password": f"guess-{attempt}", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 401
    right = signed_in.post(
        "/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert right.status_code == 429
    assert (field_error(right.text, "current_password") or "").startswith("Too many attempts")
    assert PASSWORD not in right.text
    # The step-up counts in the same bucket: no extra guesses by switching forms.
    stepup = signed_in.post(
        "/settings/two-step/enable", {"stepup": "1", "stepup_password": PASSWORD}, page="/settings"
    )
    assert stepup.status_code == 429
    assert (field_error(stepup.text, "stepup_password") or "").startswith("Too many attempts")
    bank.clock.advance(300)
    later = signed_in.post(
        "/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert later.status_code == 303


# --- two-step verification ---------------------------------------------------------------------


def test_two_step_verification_is_set_up_with_the_qr_code_page_and_then_asked_at_sign_in(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    assert 'id="totp-status">Off<' in signed_in.get("/settings/two-step").text
    setup = signed_in.post("/settings/two-step/enable", {}, page="/settings/two-step")
    image = re.search(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', setup.text)
    assert image and base64.b64decode(image.group(1)).lstrip().startswith(b"<svg")
    secret = totp_secret_of(setup.text)
    device = Authenticator(secret, bank.clock)
    hidden = hidden_fields(setup.text)
    assert f"secret={secret}" in hidden["otpauth_uri"]
    wrong = signed_in.post(
        "/settings/two-step/confirm", {**hidden, "code": device.wrong_code()}, page="/settings"
    )
    assert wrong.status_code == 401 and field_error(wrong.text, "code")
    assert totp_secret_of(wrong.text) == secret  # the same QR code, to try again
    done = signed_in.post(
        "/settings/two-step/confirm", {**hidden, "code": device.code()}, page="/settings"
    )
    codes = recovery_codes_of(done.text)
    assert done.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    bank.clock.advance(30)
    later = signed_in.get("/settings/two-step").text
    assert 'id="totp-status">On<' in later and codes[0] not in later
    assert 'id="recovery-codes"' not in signed_in.get("/settings").text
    fresh = Browser(bank)
    try:
        answer = fresh.post("/signin", {"login": member.handle, "password": PASSWORD})
        assert answer.headers["location"] == "/signin/second-factor"
        assert fresh.get("/settings", follow_redirects=False).status_code == 303
        code = fresh.post("/signin/second-factor", {"code": device.code()})
        assert code.status_code == 303 and fresh.get("/settings").status_code == 200
    finally:
        fresh.close()
    with_recovery = Browser(bank)
    try:
        with_recovery.post("/signin", {"login": member.handle, "password": PASSWORD})
        used = with_recovery.post("/signin/second-factor", {"recovery_code": codes[3]})
        assert used.status_code == 303
    finally:
        with_recovery.close()


def test_an_interrupted_set_up_starts_again_instead_of_trusting_the_page(
    signed_in: Browser,
) -> None:
    signed_in.post("/settings/two-step/enable", {}, page="/settings/two-step")
    forged = signed_in.post(
        "/settings/two-step/confirm",
        {"totp_secret": "not base32!", "otpauth_uri": "https://evil.example/", "code": "123456"},
        page="/settings",
    )
    assert forged.status_code == 303 and forged.headers["location"] == "/settings/two-step"
    assert 'id="totp-status">Off<' in signed_in.get("/settings/two-step").text


def test_new_recovery_codes_replace_the_old_ones_and_turning_it_off_needs_a_code(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    device, old_codes = enable_totp(bank, signed_in)
    wrong = signed_in.post("/settings/two-step/recovery-codes", {"code": device.wrong_code()})
    assert wrong.status_code == 401 and field_error(wrong.text, "code")
    bank.clock.advance(30)
    fresh_codes = recovery_codes_of(
        signed_in.post("/settings/two-step/recovery-codes", {"code": device.code()}).text
    )
    assert len(fresh_codes) == 10 and not set(fresh_codes) & set(old_codes)
    bank.clock.advance(30)
    empty = signed_in.post("/settings/two-step/disable", {"code": ""})
    assert empty.status_code == 422
    assert field_error(empty.text, "code") == "This field is required."
    off = signed_in.post("/settings/two-step/disable", {"code": fresh_codes[0]})
    assert off.status_code == 303 and off.headers["location"] == "/settings/two-step"
    assert 'id="totp-status">Off<' in signed_in.get("/settings/two-step").text
    plain = Browser(bank)
    try:
        answer = plain.post("/signin", {"login": member.handle, "password": PASSWORD})
        assert answer.status_code == 303 and answer.headers["location"] == "/"
    finally:
        plain.close()


def test_confirming_two_step_twice_points_to_new_recovery_codes_instead_of_losing_them(
    bank: WebBank, signed_in: Browser
) -> None:
    setup = signed_in.post("/settings/two-step/enable", {}, page="/settings/two-step")
    device = Authenticator(totp_secret_of(setup.text), bank.clock)
    sent = {**hidden_fields(setup.text), "code": device.code()}
    first = signed_in.post("/settings/two-step/confirm", sent, page="/settings")
    codes = recovery_codes_of(first.text)
    assert first.status_code == 200 and len(codes) == 10
    again = signed_in.post("/settings/two-step/confirm", sent, page="/settings")  # reload
    assert again.status_code == 409
    notice = again.text.split('id="codes-notice"', 1)[1].split("</div>", 1)[0]
    assert "already on" in notice
    assert "If you did not save your recovery codes, make new ones now." in notice
    assert 'href="/settings/two-step/recovery-codes"' in notice
    assert not any(code in again.text for code in codes)
    assert 'id="codes-notice"' not in signed_in.get("/settings/two-step").text
    bank.clock.advance(30)
    form = signed_in.get("/settings/two-step/recovery-codes").text
    made = signed_in.post(
        "/settings/two-step/recovery-codes",
        {"code": device.code(), "idempotency_key": form_key_of(form)},
    )
    assert made.status_code == 200 and len(recovery_codes_of(made.text)) == 10


def test_replacing_the_recovery_codes_twice_with_one_form_says_so_and_counts_no_failure(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    device, _ = enable_totp(bank, signed_in)
    form = signed_in.get("/settings/two-step/recovery-codes").text
    key = form_key_of(form)
    sent = {"code": device.code(), "idempotency_key": key}
    first = signed_in.post("/settings/two-step/recovery-codes", sent)
    codes = recovery_codes_of(first.text)
    assert first.status_code == 200 and len(codes) == 10
    assert key in session_data(signed_in)["recovery_code_forms"]
    assert not any(code in json.dumps(session_data(signed_in)) for code in codes)
    for _ in range(6):  # reloads of the codes page, more than the 5 wrong codes that lock out
        again = signed_in.post("/settings/two-step/recovery-codes", sent)
        assert again.status_code == 409
        assert "If you did not save your recovery codes, make new ones now." in again.text
        assert not any(code in again.text for code in codes)
    # None of the resubmissions counted as a wrong code: the account is not locked.
    bank.clock.advance(30)
    fresh = signed_in.get("/settings/two-step/recovery-codes").text
    assert form_key_of(fresh) != key
    wrong = signed_in.post(
        "/settings/two-step/recovery-codes",
        {"code": device.wrong_code(), "idempotency_key": form_key_of(fresh)},
    )
    assert wrong.status_code == 401 and 'id="resubmit-hint"' in wrong.text
    assert f'value="{form_key_of(fresh)}"' in wrong.text
    made = signed_in.post(
        "/settings/two-step/recovery-codes",
        {"code": device.code(), "idempotency_key": form_key_of(fresh)},
    )
    assert made.status_code == 200 and recovery_codes_of(made.text)
    assert codes[0] not in made.text
    with_old = Browser(bank)
    try:
        with_old.post("/signin", {"login": member.handle, "password": PASSWORD})
        refused = with_old.post("/signin/second-factor", {"recovery_code": codes[0]})
        assert refused.status_code == 401  # the first replacement's codes were replaced again
    finally:
        with_old.close()


# --- step-up -------------------------------------------------------------------------------------


def test_an_idle_session_confirms_with_the_password_and_the_change_then_goes_through(
    bank: WebBank, signed_in: Browser
) -> None:
    bank.clock.advance(bank.app.settings.session_idle_seconds + 1)
    page = signed_in.get("/settings/two-step")
    assert page.status_code == 200 and 'name="stepup_password"' in page.text
    asked = signed_in.post("/settings/two-step/enable", {}, page="/settings")
    assert asked.status_code == 401 and "Confirm it is you" in asked.text
    assert 'action="/settings/two-step/enable"' in asked.text
    empty = signed_in.post("/settings/two-step/enable", {"stepup": "1"}, page="/settings")
    assert empty.status_code == 422
    assert field_error(empty.text, "stepup_password") == "Enter your password."
    wrong = signed_in.post(
        "/settings/two-step/enable", {"stepup": "1", "stepup_password": "wrong"}, page="/settings"
    )
    assert wrong.status_code == 401
    assert field_error(wrong.text, "stepup_password") == "The sign-in details are not correct."
    assert 'id="totp-status">Off<' in signed_in.get("/settings/two-step").text
    done = signed_in.post(
        "/settings/two-step/enable", {"stepup": "1", "stepup_password": PASSWORD}, page="/settings"
    )
    assert done.status_code == 200 and totp_secret_of(done.text)
    assert PASSWORD not in done.text
    assert 'name="stepup_password"' not in signed_in.get("/settings/two-step").text


def test_the_step_up_carries_what_was_typed_but_never_a_code_and_takes_an_app_code(
    bank: WebBank, signed_in: Browser
) -> None:
    device, _ = enable_totp(bank, signed_in)
    bank.clock.advance(bank.app.settings.session_idle_seconds + 1)
    asked = signed_in.post(
        "/settings/two-step/disable", {"code": device.code(), "note": "kept <as> typed"}
    )
    assert asked.status_code == 401 and 'name="stepup_code"' in asked.text
    kept = hidden_fields(asked.text)
    assert kept.get("note") == "kept <as> typed" and "code" not in kept
    assert device.code() not in asked.text
    proved = signed_in.post(
        "/settings/two-step/disable",
        {"stepup": "1", "stepup_code": device.code(), "note": kept["note"]},
        page="/settings",
    )
    # Fresh again: the disable page asks for the code it did not keep, without a new step-up.
    assert proved.status_code == 422 and field_error(proved.text, "code")
    assert 'name="stepup_password"' not in proved.text
    bank.clock.advance(30)
    off = signed_in.post("/settings/two-step/disable", {"code": device.code()})
    assert off.status_code == 303


# --- sessions and devices ----------------------------------------------------------------------


def test_the_sessions_page_lists_each_browser_and_signs_one_out(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    other = Browser(bank)
    try:
        other.sign_in(member)
        other_id = current_session_of(other.get("/settings/sessions").text)
        page = signed_in.get("/settings/sessions").text
        mine = current_session_of(page)
        listed = re.findall(r'data-session-id="([0-9a-f-]+)"', page)
        assert {mine, other_id} <= set(listed) and len(listed) == 3 and mine != other_id
        assert page.count('id="this-device"') == 1
        assert f'action="/settings/sessions/{other_id}/revoke"' in page
        assert f'action="/settings/sessions/{mine}/revoke"' not in page
        answer = signed_in.post(f"/settings/sessions/{other_id}/revoke", {}, page="/settings")
        assert answer.status_code == 303
        gone = other.get("/history", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")
        assert other_id not in signed_in.get("/settings/sessions").text
        assert signed_in.get("/settings").status_code == 200
    finally:
        other.close()


def test_signing_out_everywhere_else_keeps_only_this_browser(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    other = Browser(bank)
    try:
        other.sign_in(member)
        answer = signed_in.post("/settings/sessions/revoke-others", {}, page="/settings")
        assert answer.status_code == 303
        assert other.get("/settings", follow_redirects=False).status_code == 303
        with pytest.raises(AuthenticationRequired):
            bank.app.identity.authenticate(bank.tenant, member.token, CONTEXT)  # type: ignore[arg-type]
        page = signed_in.get("/settings/sessions").text
        assert len(re.findall(r"data-session-id=", page)) == 1
    finally:
        other.close()


def test_nobody_can_sign_out_someone_elses_session(
    bank: WebBank, signed_in: Browser, member: Person
) -> None:
    stranger = bank.customer()
    theirs = Browser(bank)
    try:
        theirs.sign_in(stranger)
        their_id = current_session_of(theirs.get("/settings/sessions").text)
        foreign = signed_in.post(f"/settings/sessions/{their_id}/revoke", {}, page="/settings")
        missing = signed_in.post(
            "/settings/sessions/0190a0a0-0000-7000-8000-000000000000/revoke",
            {},
            page="/settings",
        )
        assert foreign.status_code == missing.status_code == 404
        assert theirs.get("/settings").status_code == 200
        assert signed_in.get("/settings").status_code == 200
    finally:
        theirs.close()


def test_settings_need_a_signed_in_person(guest: Browser) -> None:
    for path in ("/settings", "/settings/two-step", "/settings/sessions", "/settings/profile"):
        answer = guest.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    token = csrf_of(guest.get("/signin").text)
    answer = guest.client.post(
        "/settings/sessions/revoke-others", data={"_csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
