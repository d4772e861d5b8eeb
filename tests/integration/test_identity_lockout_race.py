"""S-05 on PostgreSQL with real concurrent clients: 50 wrong second-factor codes released at
once, each from its own thread and connection, are evaluated at most five times; and one valid
code sent 20 times at once is accepted once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock, settings_for
from tests.integration.identity_kit import (
    CONTEXT,
    PASSWORD,
    actor_of,
    enrol_totp,
    new_tenant,
    person,
)
from walletbridge.adapters.db.tables_identity import users
from walletbridge.bootstrap import Container, build
from walletbridge.domain.identity import CredentialsInvalid, SecondFactorBlocked

CLIENTS = 50


@pytest.fixture
def racing(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Container, FakeClock]]:
    clock = FakeClock()
    settings = settings_for(postgres_url, tmp_path).model_copy(update={"database_pool_size": 30})
    app = build(settings, clock=clock)
    yield app, clock
    app.close()


def released_together(attempt: Callable[[], object], clients: int) -> list[str]:
    """Run ``attempt`` from ``clients`` threads released by one barrier; name each outcome."""
    barrier = threading.Barrier(clients)

    def one() -> str:
        barrier.wait()
        try:
            attempt()
        except CredentialsInvalid:
            return "wrong"
        except SecondFactorBlocked:
            return "blocked"
        return "accepted"

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(lambda _: one(), range(clients)))


def test_fifty_concurrent_wrong_codes_are_evaluated_at_most_five_times(
    racing: tuple[Container, FakeClock],
) -> None:
    app, clock = racing
    bank = new_tenant(app)
    someone = person(app, bank)
    device, _ = enrol_totp(app, actor_of(app, bank, someone.token), clock)
    challenges = [
        app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).challenge_id
        for _ in range(CLIENTS)
    ]
    wrong = device.wrong_code()
    queue = list(challenges)
    lock = threading.Lock()

    def attempt() -> object:
        with lock:
            challenge = queue.pop()
        assert challenge is not None
        return app.identity.complete_second_factor(bank, challenge, CONTEXT, code=wrong)

    outcomes = released_together(attempt, CLIENTS)
    assert outcomes.count("wrong") == app.service_settings.second_factor_max_failures
    assert outcomes.count("blocked") == CLIENTS - app.service_settings.second_factor_max_failures
    with app.engine.connect() as connection:
        failures = connection.execute(
            select(users.c.second_factor_failures).where(users.c.handle == someone.handle)
        ).scalar_one()
    assert failures == app.service_settings.second_factor_max_failures


def test_one_valid_code_sent_twenty_times_at_once_is_accepted_once(
    racing: tuple[Container, FakeClock],
) -> None:
    app, clock = racing
    bank = new_tenant(app)
    someone = person(app, bank)
    device, _ = enrol_totp(app, actor_of(app, bank, someone.token), clock)
    challenges = [
        app.identity.login(bank, someone.handle, PASSWORD, CONTEXT).challenge_id for _ in range(20)
    ]
    code = device.code()
    queue = list(challenges)
    lock = threading.Lock()

    def attempt() -> object:
        with lock:
            challenge = queue.pop()
        assert challenge is not None
        return app.identity.complete_second_factor(bank, challenge, CONTEXT, code=code)

    outcomes = released_together(attempt, 20)
    assert outcomes.count("accepted") == 1
