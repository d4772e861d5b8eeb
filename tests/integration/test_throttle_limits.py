"""Rate limits count in the database: the limit+1-th attempt in a window is refused with a
Retry-After, a new window starts afresh, and concurrent workers cannot sneak past the limit."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import FakeClock, settings_for
from walletbridge.adapters.db.tables_platform import throttle_counters
from walletbridge.bootstrap import Container, build
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.throttle import RateLimited
from walletbridge.ports import UnitOfWork
from walletbridge.services.throttle import count_attempt


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed_app(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    container = build(settings_for(database_url, tmp_path), clock=clock)
    yield container
    container.close()


def bucket(name: str = "login") -> str:
    return f"{name}:person-{secrets.token_hex(4)}@example.com"


def test_the_attempt_past_the_limit_is_refused_with_retry_after(
    timed_app: Container, clock: FakeClock
) -> None:
    key = bucket()
    clock.advance(10)  # ten seconds into a five-minute window
    for _ in range(3):
        timed_app.throttle.check(key, limit=3, window_seconds=300)

    with pytest.raises(RateLimited) as refused:
        timed_app.throttle.check(key, limit=3, window_seconds=300)

    assert refused.value.code == "rate-limited"
    assert refused.value.extensions == {"retry_after_seconds": 290, "limit": "login"}


def test_a_new_window_starts_afresh(timed_app: Container, clock: FakeClock) -> None:
    key = bucket()
    timed_app.throttle.check(key, limit=1, window_seconds=60)
    with pytest.raises(RateLimited):
        timed_app.throttle.check(key, limit=1, window_seconds=60)

    clock.advance(60)

    timed_app.throttle.check(key, limit=1, window_seconds=60)


def test_buckets_are_counted_apart(timed_app: Container) -> None:
    first, second = bucket(), bucket()
    timed_app.throttle.check(first, limit=1, window_seconds=60)

    timed_app.throttle.check(second, limit=1, window_seconds=60)


def test_the_database_never_holds_the_subject_of_a_bucket(timed_app: Container) -> None:
    key = bucket()
    timed_app.throttle.check(key, limit=5, window_seconds=60)

    with timed_app.engine.connect() as connection:
        stored = connection.execute(select(throttle_counters.c.bucket)).scalars().all()

    assert not any("example.com" in name for name in stored)
    assert any(name.startswith("login:") for name in stored)


def test_the_database_refuses_a_count_above_the_maximum(timed_app: Container) -> None:
    timed_app.throttle.check(bucket(), limit=1, window_seconds=60)

    # The CHECK is the backstop behind the store's conditional upsert.
    with (
        timed_app.engine.connect() as connection,
        pytest.raises(IntegrityError, match=r"(?i)check"),
    ):
        connection.execute(text("UPDATE throttle_counters SET count = max_count + 1"))


def test_counting_inside_a_use_case_rolls_back_with_it(timed_app: Container) -> None:
    key = bucket("transfers")

    def abandoned(uow: UnitOfWork) -> None:
        count_attempt(
            uow,
            now_us=timed_app.clock.now_us(),
            secret_key=timed_app.service_settings.secret_key,
            bucket=key,
            limit=1,
            window_seconds=60,
        )
        # no commit: the use case failed, so its attempt does not count

    timed_app.runner.write(abandoned)

    timed_app.throttle.check(key, limit=1, window_seconds=60)


def test_expired_counters_are_purged(timed_app: Container, clock: FakeClock) -> None:
    timed_app.throttle.check(bucket(), limit=5, window_seconds=60)
    clock.advance(120)

    assert timed_app.throttle.purge_expired() >= 1
    assert timed_app.throttle.purge_expired() == 0


def test_documented_limits_come_from_the_settings(timed_app: Container) -> None:
    tenant, user = TenantId("tenant-x"), f"user-{secrets.token_hex(4)}"
    for _ in range(timed_app.service_settings.payees_per_hour):
        timed_app.throttle.check_payee_creation(tenant, user)

    with pytest.raises(RateLimited) as refused:
        timed_app.throttle.check_payee_creation(tenant, user)
    assert refused.value.fields["limit"] == "payees"


@pytest.fixture
def timed_pg_app(postgres_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    container = build(settings_for(postgres_url, tmp_path), clock=clock)
    yield container
    container.close()


def test_concurrent_workers_pass_exactly_the_limit(timed_pg_app: Container) -> None:
    """Twenty threads with their own connections hit one bucket at once on PostgreSQL."""
    pg_app = timed_pg_app
    key, limit, threads = bucket("transfers"), 7, 20
    start = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        start.wait()
        try:
            pg_app.throttle.check(key, limit=limit, window_seconds=3600)
            result = "passed"
        except RateLimited:
            result = "limited"
        with lock:
            outcomes.append(result)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert outcomes.count("passed") == limit
    assert outcomes.count("limited") == threads - limit
