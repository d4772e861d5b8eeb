"""The web app's sign-in, sign-out, session cookie, CSRF, headers and language, through the test
client on both engines (S-06 cookies, S-15 headers)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.e2e.web_kit import Browser, WebBank, field_error, form_error
from tests.integration.identity_kit import CONTEXT, PASSWORD, enrol_totp
from walletbridge.adapters.db.tables_platform import kv_store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def session_cookie(guest: Browser) -> str | None:
    return guest.client.cookies.get("__Host-wb-session")


def test_a_page_that_needs_a_person_sends_the_browser_to_sign_in_and_back(
    guest: Browser,
) -> None:
    answer = guest.get("/history?currency=EUR", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/history%3Fcurrency%3DEUR"


def test_a_wrong_password_is_refused_in_place_keeping_the_login_but_not_the_password(
    bank: WebBank, guest: Browser
) -> None:
    someone = bank.customer()
    answer = guest.post("/signin", {"login": someone.handle, "password": "not-the-password"})
    assert answer.status_code == 401
    assert form_error(answer.text) == "The sign-in details are not correct."
    assert f'value="{someone.handle}"' in answer.text
    assert "not-the-password" not in answer.text
    assert session_cookie(guest) is None or "auth_token" not in answer.text


def test_an_empty_field_gets_its_message_next_to_it(guest: Browser) -> None:
    answer = guest.post("/signin", {"login": "", "password": ""})
    assert answer.status_code == 422
    assert field_error(answer.text, "login") == "This field is required."
    assert field_error(answer.text, "password") == "This field is required."
    assert 'aria-invalid="true"' in answer.text


def test_signing_in_rotates_the_session_id_and_sets_hardened_cookies(
    bank: WebBank, guest: Browser
) -> None:
    someone = bank.customer()
    guest.get("/signin")
    guest.post("/language", {"locale": "en", "next": "/signin"}, page="/signin")
    before = session_cookie(guest)
    assert before
    answer = guest.sign_in(someone)
    assert answer.headers["location"] == "/"
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-wb-session="))
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
        assert attribute in session
    assert "Domain" not in session
    after = session_cookie(guest)
    assert after and after != before
    # The id from before sign-in is worth nothing now.
    other = Browser(bank)
    try:
        other.client.cookies.set("__Host-wb-session", before, domain=bank.host)
        assert other.get("/settings", follow_redirects=False).status_code == 303
    finally:
        other.close()


def test_signing_out_revokes_the_session_server_side(bank: WebBank, guest: Browser) -> None:
    someone = bank.customer()
    guest.sign_in(someone)
    signed_in = session_cookie(guest)
    assert guest.post("/signout", {}, page="/signin").status_code == 303
    replay = Browser(bank)
    try:
        replay.client.cookies.set("__Host-wb-session", signed_in or "", domain=bank.host)
        assert replay.get("/settings", follow_redirects=False).status_code == 303
    finally:
        replay.close()


def test_sign_in_with_totp_takes_a_code_and_a_recovery_code_works_once(
    bank: WebBank,
) -> None:
    someone = bank.customer()
    actor = bank.app.identity.authenticate(bank.tenant, someone.token, CONTEXT)  # type: ignore[arg-type]
    device, recovery = enrol_totp(bank.app, actor, bank.clock)
    first = Browser(bank)
    try:
        answer = first.post("/signin", {"login": someone.handle, "password": PASSWORD})
        assert answer.headers["location"] == "/signin/second-factor"
        wrong = first.post("/signin/second-factor", {"code": device.wrong_code()})
        assert wrong.status_code == 401 and field_error(wrong.text, "code")
        right = first.post("/signin/second-factor", {"code": device.code()})
        assert right.status_code == 303 and right.headers["location"] == "/"
    finally:
        first.close()
    for expected in (303, 401):
        again = Browser(bank)
        try:
            again.post("/signin", {"login": someone.handle, "password": PASSWORD})
            answer = again.post("/signin/second-factor", {"recovery_code": recovery[0]})
            assert answer.status_code == expected
        finally:
            again.close()


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    bank: WebBank, guest: Browser
) -> None:
    someone = bank.customer()
    guest.get("/signin")
    answer = guest.client.post("/signin", data={"login": someone.handle, "password": PASSWORD})
    assert answer.status_code == 403
    assert "The form has expired" in answer.text
    assert guest.get("/settings", follow_redirects=False).status_code == 303


def test_pages_carry_a_strict_policy_and_the_api_keeps_its_own(guest: Browser) -> None:
    page = guest.get("/signin")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["strict-transport-security"].startswith("max-age=63072000")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text and " style=" not in page.text and "onclick" not in page.text
    api = guest.get("/api/v1/tenant")
    assert api.headers["strict-transport-security"].startswith("max-age=63072000")
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]


def test_the_language_follows_accept_language_and_then_the_switch(bank: WebBank) -> None:
    chinese = Browser(bank, language="zh-CN,zh;q=0.9,en;q=0.5")
    try:
        page = chinese.get("/signin")
        assert '<html lang="zh-CN">' in page.text and "登录" in page.text
        switched = chinese.post("/language", {"locale": "en", "next": "/signin"}, page="/signin")
        assert switched.headers["location"] == "/signin"
        page = chinese.get("/signin")
        assert '<html lang="en">' in page.text and "Sign in" in page.text
    finally:
        chinese.close()


def test_the_brand_reaches_the_page_as_a_style_sheet_with_readable_contrast(
    guest: Browser,
) -> None:
    sheet = guest.get("/brand.css")
    assert sheet.headers["content-type"].startswith("text/css")
    assert "--wb-brand: #0a7d5a" in sheet.text
    logo = guest.get("/brand/logo.svg")
    assert logo.headers["content-type"].startswith("image/svg+xml") and ">TB<" in logo.text


def test_next_never_leaves_the_site(bank: WebBank, guest: Browser) -> None:
    someone = bank.customer()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        guest.client.cookies.clear()
        answer = guest.post(
            "/signin",
            {"login": someone.handle, "password": PASSWORD, "next": target},
        )
        assert answer.headers["location"] == "/"


def test_the_session_store_holds_neither_the_cookie_nor_the_token_in_the_clear(
    bank: WebBank, guest: Browser
) -> None:
    someone = bank.customer()
    guest.sign_in(someone)
    cookie = session_cookie(guest)
    assert cookie
    with bank.app.engine.connect() as connection:
        rows = connection.execute(select(kv_store.c.key, kv_store.c.value)).all()
    assert rows
    for key, value in rows:
        assert cookie not in key
        raw = bytes(value)
        assert cookie.encode() not in raw
        assert b"auth_token" not in raw and b"display_name" not in raw
    # The sealed session still works for its own cookie.
    assert guest.get("/", follow_redirects=False).status_code == 200


def test_the_password_step_of_a_two_step_sign_in_gets_a_new_session_id(
    bank: WebBank, guest: Browser
) -> None:
    someone = bank.customer()
    actor = bank.app.identity.authenticate(bank.tenant, someone.token, CONTEXT)  # type: ignore[arg-type]
    enrol_totp(bank.app, actor, bank.clock)
    guest.get("/signin")
    guest.post("/language", {"locale": "en", "next": "/signin"}, page="/signin")
    before = session_cookie(guest)
    answer = guest.post("/signin", {"login": someone.handle, "password": PASSWORD})
    assert answer.headers["location"] == "/signin/second-factor"
    assert session_cookie(guest) not in (None, before)


def test_the_language_switch_comes_back_to_the_same_filtered_page(
    bank: WebBank, guest: Browser
) -> None:
    guest.sign_in(bank.customer())
    page = guest.get("/history?currency=EUR")
    assert 'name="next" value="/history?currency=EUR"' in page.text


def test_an_htmx_request_without_a_session_sends_the_whole_page_to_sign_in(
    guest: Browser,
) -> None:
    answer = guest.get(
        "/fragments/balances",
        headers={"HX-Request": "true", "HX-Current-URL": "https://bank.example/history?q=x"},
        follow_redirects=False,
    )
    assert answer.status_code == 204
    assert answer.headers["hx-redirect"] == "/signin?next=/history%3Fq%3Dx"
