"""S-06 on SQLite and PostgreSQL: session tokens are long random strings, new on every login,
stored only hashed, revoked server-side on logout, password change and disable; a session idle
for five minutes must re-authenticate before paying; nothing outlives twelve hours."""

from __future__ import annotations

import base64
import hashlib
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
    enrol_totp,
    new_tenant,
    person,
)
from walletbridge.adapters.db.tables_identity import auth_sessions
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import (
    ReauthenticationRequired,
    Role,
    Scope,
    ScopeMissing,
    UserStatus,
)
from walletbridge.domain.identity import (
    AuthenticationRequired,
    CredentialsInvalid,
    SessionNotFound,
)
from walletbridge.domain.ledger import TenantId


@pytest.fixture
def clocked(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, FakeClock]]:
    app, clock = build_on_clock(database_url, tmp_path)
    yield app, clock
    app.close()


@pytest.fixture
def bank(clocked: tuple[Container, FakeClock]) -> TenantId:
    return new_tenant(clocked[0])


def test_tokens_carry_256_random_bits_are_new_on_each_login_and_stored_hashed(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    tokens = [app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).token for _ in range(3)]
    texts = [t.access_token for t in tokens if t is not None] + [someone.token]
    assert len(set(texts)) == 4
    for text in texts:
        assert len(base64.urlsafe_b64decode(text + "=")) == 32  # 256 bits >= 128
    with app.engine.connect() as connection:
        stored = connection.execute(select(auth_sessions)).all()
    flat = " ".join(repr(tuple(row)) for row in stored)
    for text in texts:
        assert text not in flat
    hashes = {bytes(row.token_hash) for row in stored}
    assert all(hashlib.sha256(t.encode()).digest() in hashes for t in texts)


def test_logout_revokes_the_token_on_the_server(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    app.identity.logout(actor_of(app, bank, someone.token))
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, someone.token)


def test_a_token_is_only_valid_in_its_own_tenant(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, new_tenant(app), someone.token)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, someone.token[:-1] + ("A" if someone.token[-1] != "A" else "B"))


def test_an_idle_session_must_reauthenticate_before_paying(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    for _ in range(5):  # steady use keeps the session fresh
        clock.advance(200)
        actor_of(app, bank, someone.token).require_fresh()
    clock.advance(app.service_settings.session_idle_seconds + 1)
    stale = actor_of(app, bank, someone.token)
    with pytest.raises(ReauthenticationRequired):
        stale.require_fresh()
    clock.advance(10)  # using a stale session does not make it fresh again
    with pytest.raises(ReauthenticationRequired):
        actor_of(app, bank, someone.token).require_fresh()
    with pytest.raises(CredentialsInvalid):
        app.identity.reauthenticate(stale, password="not-the-password-1")
    app.identity.reauthenticate(stale, password=PASSWORD)
    actor_of(app, bank, someone.token).require_fresh()


def test_background_requests_do_not_keep_an_idle_session_fresh(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    """An open page that refreshes itself (a live feed, a fragment) authenticates with
    ``activity=False``: it is let in, but only the person's own requests reset the idle timer."""
    app, clock = clocked
    someone = person(app, bank)
    for _ in range(4):
        clock.advance(100)
        background = app.identity.authenticate(bank, someone.token, CONTEXT, activity=False)
        assert background.user_id == someone.user_id
    with pytest.raises(ReauthenticationRequired):
        actor_of(app, bank, someone.token).require_fresh()


def test_reauthentication_also_takes_an_authenticator_code(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    device, _ = enrol_totp(app, actor_of(app, bank, someone.token), clock)
    clock.advance(app.service_settings.session_idle_seconds + 1)
    stale = actor_of(app, bank, someone.token)
    assert not stale.fresh
    app.identity.reauthenticate(stale, code=device.code())
    assert actor_of(app, bank, someone.token).fresh


def test_no_session_outlives_twelve_hours(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    for _ in range(12 * 60 // 4 - 1):  # active every four minutes all day long
        clock.advance(240)
        actor_of(app, bank, someone.token)
    clock.advance(app.service_settings.session_absolute_seconds)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, someone.token)


def test_disabling_a_user_revokes_all_their_sessions(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    second = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).token
    assert second is not None
    operator = person(app, bank, role=Role.OPERATOR)
    app.identity.set_user_status(
        actor_of(app, bank, operator.token), someone.user_id, UserStatus.DISABLED
    )
    app.identity.set_user_status(
        actor_of(app, bank, operator.token), someone.user_id, UserStatus.ACTIVE
    )
    for token in (someone.token, second.access_token):
        with pytest.raises(AuthenticationRequired):
            actor_of(app, bank, token)


def test_changing_the_password_revokes_the_other_sessions(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    someone = person(app, bank)
    other = app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).token
    assert other is not None
    me = actor_of(app, bank, someone.token)
    with pytest.raises(CredentialsInvalid):
        app.identity.change_password(me, "wrong-current-9", "amber-lantern-rain-17")
    app.identity.change_password(me, PASSWORD, "amber-lantern-rain-17")
    actor_of(app, bank, someone.token)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, other.access_token)


def test_sessions_are_listed_and_revoked_by_their_owner_only(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, _ = clocked
    alice, bob = person(app, bank), person(app, bank)
    alice_actor = actor_of(app, bank, alice.token)
    [own] = app.identity.sessions(alice_actor)
    assert own.id == alice_actor.session_id
    bob_actor = actor_of(app, bank, bob.token)
    with pytest.raises(SessionNotFound):
        app.identity.revoke_session(bob_actor, own.id)
    with pytest.raises(SessionNotFound):
        app.identity.revoke_session(bob_actor, "not-a-session-id")
    app.identity.revoke_session(alice_actor, own.id)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, alice.token)


def test_api_tokens_need_a_fresh_session_and_grant_no_more_than_it_holds(
    clocked: tuple[Container, FakeClock], bank: TenantId
) -> None:
    app, clock = clocked
    someone = person(app, bank)
    me = actor_of(app, bank, someone.token)
    with pytest.raises(ScopeMissing):
        app.identity.create_api_token(me, "ops", frozenset({Scope.OPERATOR}))
    issued = app.identity.create_api_token(me, "export", frozenset({Scope.WALLET_READ}))
    bot = actor_of(app, bank, issued.access_token)
    assert bot.scopes == {Scope.WALLET_READ}
    with pytest.raises(ScopeMissing):
        bot.require_scope(Scope.PAYMENTS_WRITE)
    assert (issued.expires_at_us - clock.now_us()) // 1_000_000 == 30 * 24 * 3600
    clock.advance(app.service_settings.session_idle_seconds + 1)
    with pytest.raises(ReauthenticationRequired):
        app.identity.create_api_token(
            actor_of(app, bank, someone.token), "late", frozenset({Scope.WALLET_READ})
        )
    app.identity.revoke_session(actor_of(app, bank, someone.token), issued.session_id)
    with pytest.raises(AuthenticationRequired):
        actor_of(app, bank, issued.access_token)
