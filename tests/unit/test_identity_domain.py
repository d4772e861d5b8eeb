"""Identity's domain rules: passwords, profiles, brands, host names, freshness, and the secrets
the service hands out."""

from __future__ import annotations

import base64

import pytest

from walletbridge.domain.actors import RecipientKind, Scope, SessionId, UserId
from walletbridge.domain.contacts import InvalidContact, blind_index
from walletbridge.domain.identity import (
    BrandInvalid,
    PasswordRejected,
    ProfileInvalid,
    Session,
    SessionKind,
    TenantBrand,
    check_display_name,
    check_kyc_tier,
    check_locale,
    check_password,
    fresh,
    normalise_host,
    recipient_lookup_value,
    validate_host,
)
from walletbridge.domain.ledger import TenantId
from walletbridge.services.identity_support import Secrets

KEY = b"k" * 32


def never_common(_: str) -> bool:
    return False


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-9", "at least 10"),
        ("x" * 257, "at most 256"),
        ("my-alice-password", "handle"),
        ("ALICE.CHEN-1990!", "email"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    with pytest.raises(PasswordRejected) as refused:
        check_password(
            password, handle="alice", email="alice.chen@example.com", is_common=never_common
        )
    assert reason in refused.value.message


def test_a_common_password_is_refused_whatever_its_length() -> None:
    with pytest.raises(PasswordRejected):
        check_password(
            "correcthorsebattery",
            handle="bob",
            email=None,
            is_common=lambda p: p == "correcthorsebattery",
        )
    check_password("violet-harbour-tide-42", handle="bob", email=None, is_common=never_common)


def test_profiles_take_a_clean_display_name_a_known_locale_and_a_tier_from_one_to_three() -> None:
    assert check_display_name("  Alice   Chen ") == "Alice Chen"
    assert check_locale("zh-CN") == "zh-CN"
    assert check_kyc_tier(3) == 3
    for bad in ("", "x" * 101, "tab\x01name"):
        with pytest.raises(ProfileInvalid):
            check_display_name(bad)
    with pytest.raises(ProfileInvalid):
        check_locale("fr")
    with pytest.raises(ProfileInvalid):
        check_kyc_tier(4)


def test_a_brand_checks_its_colour_and_locale() -> None:
    TenantBrand(TenantId("bank"), "Jade Bank", "#0a7d5a", "JADE", "zh-CN").validate()
    with pytest.raises(BrandInvalid):
        TenantBrand(TenantId("bank"), "Jade Bank", "green").validate()
    with pytest.raises(BrandInvalid):
        TenantBrand(TenantId("bank"), "Jade Bank", default_locale="de").validate()


def test_host_names_are_compared_without_case_port_or_trailing_dot() -> None:
    assert normalise_host("Jade.Example.COM:8443") == "jade.example.com"
    assert validate_host("jade.example.com.") == "jade.example.com"
    with pytest.raises(BrandInvalid):
        validate_host("bad_host!")


def session(kind: SessionKind, last_seen_us: int) -> Session:
    return Session(
        id=SessionId("s"),
        tenant_id=TenantId("t"),
        user_id=UserId("u"),
        kind=kind,
        name="n",
        scopes=frozenset({Scope.WALLET_READ}),
        created_at_us=0,
        last_seen_at_us=last_seen_us,
        last_auth_at_us=0,
        expires_at_us=10**18,
        revoked_at_us=None,
        user_agent=None,
        ip=None,
    )


def test_a_browser_session_is_fresh_for_five_idle_minutes_and_an_api_token_stays_fresh() -> None:
    minute = 60_000_000
    assert fresh(session(SessionKind.BROWSER, 0), 5 * minute, 300)
    assert not fresh(session(SessionKind.BROWSER, 0), 5 * minute + 1, 300)
    assert fresh(session(SessionKind.API, 0), 60 * minute, 300)


def test_recipients_are_looked_up_by_handle_or_blind_index() -> None:
    assert recipient_lookup_value(KEY, RecipientKind.HANDLE, "@Alice") == "alice"
    value = recipient_lookup_value(KEY, RecipientKind.EMAIL, " Alice@Example.com ")
    assert value == blind_index(KEY, RecipientKind.EMAIL, "alice@example.com").hex()
    with pytest.raises(InvalidContact):
        recipient_lookup_value(KEY, RecipientKind.PHONE, "12")


def test_tokens_and_codes_are_random_and_long_enough() -> None:
    tokens = {Secrets.new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(base64.urlsafe_b64decode(t + "=")) == 32 for t in tokens)
    code = Secrets.new_numeric_code(6)
    assert len(code) == 6 and code.isdigit()
    recovery = Secrets.new_recovery_code()
    assert len(recovery) == 11 and recovery[5] == "-"
    assert Secrets.normal_recovery_code(recovery.upper()) == recovery.replace("-", "")


def test_a_login_is_read_as_a_handle_an_email_or_a_phone() -> None:
    secrets = Secrets(KEY)
    by_handle = secrets.parse_login("Alice")
    assert by_handle is not None and by_handle.handle == "alice"
    by_email = secrets.parse_login("Alice@Example.com")
    assert by_email is not None and by_email.index == blind_index(
        KEY, RecipientKind.EMAIL, "alice@example.com"
    )
    by_phone = secrets.parse_login("+86 138 0013 8000")
    assert by_phone is not None and by_phone.index is not None
    assert secrets.parse_login("not a login!") is None
    assert by_email.bucket and "alice" not in by_email.bucket
    assert secrets.code_hash("v1", "123456") != secrets.code_hash("v2", "123456")
