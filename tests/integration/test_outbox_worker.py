"""The worker's outbox jobs: the relay job delivers committed messages, the purge job clears
expired throttle counters and sessions, and both are scheduled."""

from __future__ import annotations

import importlib
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select

from walletbridge.adapters.db.kv_store import SqlKeyValueStore
from walletbridge.adapters.db.tables_platform import kv_store, throttle_counters
from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import OutboxMessage
from walletbridge.entrypoints.workers.schedule import cadence
from walletbridge.ports import UnitOfWork

TASKS = "walletbridge.entrypoints.workers.tasks"


@pytest.fixture
def container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    built = build(
        Settings(environment=Environment.TEST, database_url=database_url, var_dir=tmp_path)
    )
    yield built
    built.close()


@pytest.fixture
def tasks(container: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The tasks module imported afresh: it reads its settings when imported."""
    monkeypatch.setenv("WALLETBRIDGE_DATABASE_URL", container.settings.effective_database_url)
    monkeypatch.setenv("WALLETBRIDGE_VAR_DIR", str(container.settings.var_dir))
    sys.modules.pop(TASKS, None)
    module = importlib.import_module(TASKS)
    yield module
    module.close()
    sys.modules.pop(TASKS, None)


def test_the_relay_job_delivers_a_committed_mail(tasks: ModuleType, container: Container) -> None:
    to = f"worker-{secrets.token_hex(4)}@example.com"
    message = OutboxMessage.email(
        container.ids.new_id(), TenantId("t-worker"), to=to, subject="Hello", body="Welcome"
    )

    def enqueue(uow: UnitOfWork) -> None:
        uow.outbox.add(message, container.clock.now_us())
        uow.commit()

    container.runner.write(enqueue)

    assert tasks.deliver_outbox.call_local() >= 1
    assert [mail.id for mail in container.notifications.mailbox(to)] == [message.id]


def test_the_purge_job_clears_expired_counters_and_sessions(
    tasks: ModuleType, container: Container
) -> None:
    bucket, session = f"purge-test:{secrets.token_hex(4)}", f"session-{secrets.token_hex(4)}"

    def expired_counter(uow: UnitOfWork) -> None:
        uow.throttle.hit(bucket, window_start_us=0, expires_at_us=1, max_count=1)
        uow.commit()

    container.runner.write(expired_counter)
    sessions = SqlKeyValueStore(container.engine, "sessions")
    sessions.set_sync(session, b"expired", expires_in_seconds=-1)

    assert tasks.purge.call_local() >= 2
    with container.engine.connect() as connection:
        left = connection.execute(
            select(throttle_counters).where(throttle_counters.c.bucket == bucket)
        ).all()
        sessions_left = connection.execute(select(kv_store).where(kv_store.c.key == session)).all()
    assert left == []
    assert sessions_left == []


def test_both_jobs_are_scheduled(tasks: ModuleType) -> None:
    names = {task.name for task in tasks.huey._registry.periodic_tasks}

    assert {"deliver_outbox_tick", "purge_tick"} <= names
    assert len(cadence(tasks.settings.outbox_interval_seconds).offsets) == 30
