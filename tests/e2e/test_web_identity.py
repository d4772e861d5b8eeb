"""The web app's identity pages through the test client on both engines: sign-up with a
verification code, the development mailbox and password reset. Settings (profile, password,
two-step verification, sessions and devices) and their step-up: ``test_web_settings.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.conftest import FakeClock
from tests.e2e.web_kit import (
    NEW_PASSWORD,
    Browser,
    WebBank,
    csrf_of,
    field_error,
    form_error,
    hidden_fields,
    plant_in_session,
    session_data,
)
from tests.integration.identity_kit import (
    PASSWORD,
    Person,
    code_sent_to,
    messages,
    new_tenant,
    text_of,
    unique,
)
from walletbridge.bootstrap import build
from walletbridge.config import Environment, Settings
from walletbridge.entrypoints.web.security import SESSION_COOKIE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
