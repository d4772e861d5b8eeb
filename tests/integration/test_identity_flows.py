"""Identity stories on SQLite and PostgreSQL: sign up with a code, log in, turn on TOTP, have a
replayed code refused, spend a recovery code once, get blocked after five wrong codes, and reset
the password."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.integration.identity_kit import (
    CONTEXT,
    PASSWORD,
    actor_of,
    build_on_clock,
    code_sent_to,
    enrol_totp,
    messages,
    new_tenant,
    person,
    text_of,
    unique,
)
from walletbridge.adapters.crypto.passwords import Argon2PasswordHasher
from walletbridge.adapters.db.tables_identity import users
from walletbridge.adapters.db.tables_platform import audit_events
from walletbridge.adapters.db.uow import SqlUnitOfWork
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import RecipientKind, Role, UserStatus
from walletbridge.domain.identity import (
    AuthenticationRequired,
    Channel,
    ContactTaken,
    CredentialsInvalid,
    HandleTaken,
    OperatorOnly,
    PasswordRejected,
    PasswordResetInvalid,
    SecondFactorBlocked,
    TotpAlreadyEnabled,
    TotpNotEnrolled,
    UserNotFound,
    VerificationCodeInvalid,
    VerificationExpired,
    recipient_lookup_value,
)
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import Topic


@pytest.fixture
def clocked(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, FakeClock]]:
    app, clock = build_on_clock(database_url, tmp_path)
    yield app, clock
    app.close()


@pytest.fixture
def bank(clocked: tuple[Container, FakeClock]) -> TenantId:
    return new_tenant(clocked[0])


def audit_actions(app: Container, tenant: TenantId) -> list[str]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(audit_events.c.action).where(audit_events.c.tenant_id == tenant)
        ).all()
    return [row[0] for row in rows]


def sign_up(app: Container, bank: TenantId, address: str, channel: Channel = Channel.EMAIL) -> str:
    started = app.identity.start_signup(bank, channel, address)
    handle = unique()
    summary, token = app.identity.complete_signup(
        bank,
        verification_id=started.verification_id,
        code=code_sent_to(app, bank, address),
        password=PASSWORD,
        handle=handle,
        display_name="New Person",
        context=CONTEXT,
    )
    assert summary.handle == handle
    return token.access_token


def test_sign_up_by_email_verifies_the_code_and_signs_the_user_in(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    started = app.identity.start_signup(bank, Channel.EMAIL, "New.Person@Example.com")
    [mail] = messages(app, bank, "new.person@example.com")
    assert mail["topic"] == Topic.EMAIL.value and mail["locale"] == "en"
    code = code_sent_to(app, bank, "new.person@example.com")
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(VerificationCodeInvalid) as refused:
        app.identity.complete_signup(
            bank,
            verification_id=started.verification_id,
            code=wrong,
            password=PASSWORD,
            handle="newperson",
            display_name="New Person",
            context=CONTEXT,
        )
    assert refused.value.fields["attempts_left"] == 4
    summary, token = app.identity.complete_signup(
        bank,
        verification_id=started.verification_id,
        code=code,
        password=PASSWORD,
        handle="NewPerson",
        display_name="New Person",
        context=CONTEXT,
    )
    assert summary.handle == "newperson" and summary.kyc_tier == 1
    me = app.identity.me(actor_of(app, bank, token.access_token))
    assert me.email == "new.person@example.com" and me.email_verified and not me.phone_verified
    lookup = recipient_lookup_value(
        app.service_settings.secret_key, RecipientKind.EMAIL, "NEW.person@example.com"
    )
    with app.engine.connect() as connection:
        assert (
            SqlUnitOfWork(connection).identity.recipient(bank, RecipientKind.EMAIL, lookup)
            == summary
        )
    assert "auth.signup.completed" in audit_actions(app, bank)


def test_a_code_is_used_once_and_allows_five_tries(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    started = app.identity.start_signup(bank, Channel.EMAIL, "tries@example.com")
    code = code_sent_to(app, bank, "tries@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(VerificationCodeInvalid):
            app.identity.complete_signup(
                bank,
                verification_id=started.verification_id,
                code=wrong,
                password=PASSWORD,
                handle="tries",
                display_name="T",
                context=CONTEXT,
            )
    with pytest.raises(VerificationExpired):
        app.identity.complete_signup(
            bank,
            verification_id=started.verification_id,
            code=code,
            password=PASSWORD,
            handle="tries",
            display_name="T",
            context=CONTEXT,
        )


def test_a_code_expires_after_its_time_to_live(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    started = app.identity.start_signup(bank, Channel.EMAIL, "late@example.com")
    code = code_sent_to(app, bank, "late@example.com")
    clock.advance(app.service_settings.verification_code_ttl_seconds + 1)
    with pytest.raises(VerificationExpired):
        app.identity.complete_signup(
            bank,
            verification_id=started.verification_id,
            code=code,
            password=PASSWORD,
            handle="late",
            display_name="L",
            context=CONTEXT,
        )


def test_sign_up_by_phone_texts_the_code_in_the_users_language(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    app.identity.start_signup(bank, Channel.PHONE, "+86 138 0013 8000", locale="zh-CN")
    [sms] = messages(app, bank, "+8613800138000")
    assert sms["topic"] == Topic.SMS.value
    assert "验证码" in sms["text"]


def test_an_address_with_an_account_gets_a_notice_and_no_code(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    started = app.identity.start_signup(bank, Channel.EMAIL, someone.email)
    [notice] = messages(app, bank, someone.email)
    assert "already has an account" in text_of(notice)
    assert started.channel is Channel.EMAIL


def test_handles_and_addresses_are_unique_per_tenant(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    with pytest.raises(HandleTaken):
        app.identity.register_verified(
            bank, handle=someone.handle, display_name="X", password=PASSWORD
        )
    with pytest.raises(ContactTaken):
        app.identity.register_verified(
            bank, handle=unique(), display_name="X", password=PASSWORD, email=someone.email.upper()
        )
    other_bank = new_tenant(app)
    again = app.identity.register_verified(
        other_bank, handle=someone.handle, display_name="X", password=PASSWORD, email=someone.email
    )
    assert again.tenant_id == other_bank


def test_weak_passwords_are_refused(clocked: tuple[Container, FakeClock], bank: TenantId) -> None:
    app, _ = clocked
    for password in ("short", "Password123", "xxmynamexx-9", "qwertyuiop"):
        with pytest.raises(PasswordRejected):
            app.identity.register_verified(
                bank,
                handle="mynamexx",
                display_name="M",
                password=password,
                email="mynamexx@example.com",
            )


def test_login_by_handle_email_or_phone_and_one_answer_for_every_mistake(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    for login in (someone.handle, someone.email.upper(), someone.phone):
        assert app.identity.login(bank, login, PASSWORD, CONTEXT).token is not None
    messages_seen = set()
    for login, password in (
        (someone.handle, "wrong-password-1"),
        ("nobody-here", PASSWORD),
        ("not a login!", PASSWORD),
    ):
        with pytest.raises(CredentialsInvalid) as refused:
            app.identity.login(bank, login, password, CONTEXT)
        messages_seen.add(refused.value.message)
    assert len(messages_seen) == 1
    assert audit_actions(app, bank).count("auth.login.failed") == 3


def test_login_rehashes_a_password_made_with_older_parameters(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    old = Argon2PasswordHasher(time_cost=1, memory_cost_kib=4096, parallelism=1).hash(PASSWORD)
    with app.engine.begin() as connection:
        connection.execute(
            users.update().where(users.c.handle == someone.handle).values(password_hash=old)
        )
    app.identity.login(bank, someone.handle, PASSWORD, CONTEXT)
    with app.engine.connect() as connection:
        stored = connection.execute(
            select(users.c.password_hash).where(users.c.handle == someone.handle)
        ).scalar_one()
    assert stored != old and stored.startswith("$argon2id$")
    assert app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).token is not None


def test_totp_login_needs_a_fresh_code_and_a_recovery_code_works_once(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    device, recovery = enrol_totp(app, actor_of(app, bank, someone.token), clock)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    first = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT)
    assert first.token is None and first.challenge_id is not None
    code = device.code()
    token = app.identity.complete_second_factor(bank, first.challenge_id, CONTEXT, code=code)
    assert token.access_token
    replay = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT)
    assert replay.challenge_id is not None
    with pytest.raises(CredentialsInvalid):
        app.identity.complete_second_factor(bank, replay.challenge_id, CONTEXT, code=code)
    clock.advance(30)
    app.identity.complete_second_factor(bank, replay.challenge_id, CONTEXT, code=device.code())
    with pytest.raises(CredentialsInvalid):  # a challenge is answered once
        app.identity.complete_second_factor(
            bank, replay.challenge_id, CONTEXT, code=device.code(offset_steps=1)
        )
    spare = recovery[3]
    third = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT)
    assert third.challenge_id is not None
    app.identity.complete_second_factor(
        bank, third.challenge_id, CONTEXT, recovery_code=spare.upper()
    )
    fourth = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT)
    assert fourth.challenge_id is not None
    with pytest.raises(CredentialsInvalid):
        app.identity.complete_second_factor(bank, fourth.challenge_id, CONTEXT, recovery_code=spare)


def test_five_wrong_codes_block_the_second_factor_and_alert_the_user(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    device, _ = enrol_totp(app, actor_of(app, bank, someone.token), clock)
    challenge = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).challenge_id
    assert challenge is not None
    for _ in range(app.service_settings.second_factor_max_failures):
        with pytest.raises(CredentialsInvalid):
            app.identity.complete_second_factor(bank, challenge, CONTEXT, code=device.wrong_code())
    with pytest.raises(SecondFactorBlocked) as blocked:
        app.identity.complete_second_factor(bank, challenge, CONTEXT, code=device.code())
    block_seconds = app.service_settings.second_factor_block_seconds
    assert 0 < int(str(blocked.value.fields["retry_after_seconds"])) <= block_seconds
    assert any(
        "wrong authentication codes" in text_of(m) for m in messages(app, bank, someone.email)
    )
    actions = audit_actions(app, bank)
    assert actions.count("auth.second-factor.failed") == 5
    assert "auth.second-factor.blocked" in actions
    clock.advance(block_seconds + 1)
    challenge = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).challenge_id
    assert challenge is not None
    app.identity.complete_second_factor(bank, challenge, CONTEXT, code=device.code())


def test_a_success_resets_the_count_of_wrong_codes(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    device, _ = enrol_totp(app, actor_of(app, bank, someone.token), clock)
    for _ in range(3):
        for _ in range(4):
            challenge = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).challenge_id
            assert challenge is not None
            with pytest.raises(CredentialsInvalid):
                app.identity.complete_second_factor(
                    bank, challenge, CONTEXT, code=device.wrong_code()
                )
        challenge = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).challenge_id
        assert challenge is not None
        app.identity.complete_second_factor(bank, challenge, CONTEXT, code=device.code())
        clock.advance(30)


def test_password_reset_by_mailed_token_revokes_every_session(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    app.identity.request_password_reset(bank, someone.email, CONTEXT)
    [mail] = messages(app, bank, someone.email)
    token = text_of(mail).split(": ", 1)[1].split(" ", 1)[0]
    with pytest.raises(PasswordRejected):
        app.identity.complete_password_reset(bank, token, "password123", CONTEXT)
    app.identity.complete_password_reset(bank, token, "amber-lantern-rain-17", CONTEXT)
    with pytest.raises(PasswordResetInvalid):
        app.identity.complete_password_reset(bank, token, "amber-lantern-rain-18", CONTEXT)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, someone.token)
    with pytest.raises(CredentialsInvalid):
        app.identity.login(bank, someone.handle, PASSWORD, CONTEXT)
    assert app.identity.login(bank, someone.handle, "amber-lantern-rain-17", CONTEXT).token


def test_a_reset_for_an_unknown_login_sends_nothing_and_says_nothing(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    app.identity.request_password_reset(bank, "nobody@example.com", CONTEXT)
    assert messages(app, bank, "nobody@example.com") == []


def test_a_reset_token_expires(clocked: tuple[Container, FakeClock], bank: TenantId) -> None:
    app, clock = clocked
    someone = person(app, bank)
    app.identity.request_password_reset(bank, someone.handle, CONTEXT)
    token = text_of(messages(app, bank, someone.email)[0]).split(": ", 1)[1].split(" ", 1)[0]
    clock.advance(app.service_settings.password_reset_ttl_seconds + 1)
    with pytest.raises(PasswordResetInvalid):
        app.identity.complete_password_reset(bank, token, "amber-lantern-rain-17", CONTEXT)


def test_operators_disable_users_and_customers_cannot(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    customer = person(app, bank)
    operator = person(app, bank, role=Role.OPERATOR)
    with pytest.raises(OperatorOnly):
        app.identity.set_user_status(
            actor_of(app, bank, customer.token), operator.user_id, UserStatus.DISABLED
        )
    boss = actor_of(app, bank, operator.token)
    assert app.identity.user_for_operator(boss, customer.user_id).email == customer.email
    app.identity.set_user_status(boss, customer.user_id, UserStatus.DISABLED)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, customer.token)
    with pytest.raises(CredentialsInvalid):
        app.identity.login(bank, customer.handle, PASSWORD, CONTEXT)
    assert "user.disabled" in audit_actions(app, bank)
    app.identity.set_user_status(boss, customer.user_id, UserStatus.ACTIVE)
    assert app.identity.set_user_kyc_tier(boss, customer.user_id, 2).kyc_tier == 2


def test_brand_and_host_names_resolve_the_tenant(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    app.identity.set_brand(
        bank,
        display_name="Jade Bank",
        primary_colour="#0a7d5a",
        logo_text="JADE",
        default_locale="zh-CN",
    )
    host = f"{unique('h')}.example.test"
    app.identity.add_host(bank, host.upper() + ".")
    assert app.identity.tenant_for_host(host) == bank
    assert app.identity.brand(bank).default_locale == "zh-CN"
    someone = person(app, bank)
    _, uri = app.identity.begin_totp(actor_of(app, bank, someone.token))
    assert "issuer=Jade%20Bank" in uri
    app.identity.start_signup(bank, Channel.EMAIL, "brand@example.com")
    [mail] = messages(app, bank, "brand@example.com")
    assert mail["locale"] == "zh-CN" and "Jade Bank" in mail["subject"]


def test_totp_enrolment_refuses_out_of_order_steps(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    me = actor_of(app, bank, someone.token)
    with pytest.raises(TotpNotEnrolled):
        app.identity.confirm_totp(me, "123456")
    with pytest.raises(TotpNotEnrolled):
        app.identity.disable_totp(me, "123456")
    device, _ = enrol_totp(app, me, clock)
    with pytest.raises(TotpAlreadyEnabled):
        app.identity.begin_totp(me)
    fresh_codes = app.identity.regenerate_recovery_codes(me, device.code())
    assert len(fresh_codes) == 10
    clock.advance(30)
    app.identity.disable_totp(me, fresh_codes[0])
    assert app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).token is not None


def test_an_operator_asking_for_a_user_of_another_tenant_finds_nobody(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    operator = person(app, bank, role=Role.OPERATOR)
    elsewhere = person(app, new_tenant(app))
    with pytest.raises(UserNotFound):
        app.identity.user_for_operator(actor_of(app, bank, operator.token), elsewhere.user_id)
    with pytest.raises(UserNotFound):
        app.identity.set_user_kyc_tier(actor_of(app, bank, operator.token), elsewhere.user_id, 2)
