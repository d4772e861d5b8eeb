"""The web app's settings through the test client on both engines: the profile and the
password, two-step verification (the QR code, recovery codes, turning it off), the step-up an
idle session needs, and sessions and devices with signing out."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.e2e.web_kit import (
    NEW_PASSWORD,
    Browser,
    WebBank,
    csrf_of,
    field_error,
    form_key_of,
    hidden_fields,
    session_data,
)
from tests.integration.identity_kit import CONTEXT, PASSWORD, Authenticator, Person
from walletbridge.domain.identity import AuthenticationRequired

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
