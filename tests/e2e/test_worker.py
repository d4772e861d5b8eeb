"""The background jobs: their cadence, and each job run for real against a SQLite database."""

from __future__ import annotations

import importlib
import itertools
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings
from walletbridge.domain.ledger import HoldStatus
from walletbridge.entrypoints.workers.schedule import Cadence, cadence, on_minutes
from walletbridge.services.demo import seed_demo

TASKS = "walletbridge.entrypoints.workers.tasks"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (30, Cadence(1, (0, 30))),
        (45, Cadence(1, (0, 45))),
        (60, Cadence(1, (0,))),
        (90, Cadence(1, (0,))),
        (300, Cadence(5, (0,))),
    ],
)
def test_cadence_never_leaves_a_gap_longer_than_the_interval(
    seconds: int, expected: Cadence
) -> None:
    assert cadence(seconds) == expected


def test_on_minutes_counts_from_the_epoch() -> None:
    every_seven = on_minutes(7)

    due = [m for m in range(60) if every_seven(datetime(2026, 1, 1, 10, m))]

    assert len(due) >= 8
    assert all(b - a == 7 for a, b in itertools.pairwise(due))


@pytest.fixture
def container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    """On SQLite and on PostgreSQL (whose database the session shares with other tests)."""
    settings = Settings(environment=Environment.TEST, database_url=database_url, var_dir=tmp_path)
    built = build(settings)
    upgrade(built.engine)
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


def test_queue_lives_next_to_the_database(tasks: ModuleType, container: Container) -> None:
    if container.settings.is_sqlite:
        assert type(tasks.huey).__name__ == "SqliteHuey"
        assert (container.settings.var_dir / "huey.sqlite3").exists()
    else:
        assert type(tasks.huey).__name__ == "PostgresHuey"
    tasks.seal_ledger()  # enqueues

    assert len(tasks.huey) >= 1
    tasks.huey.flush()


def test_queue_messages_are_signed(tasks: ModuleType) -> None:
    serializer = tasks.huey.serializer
    message = serializer.serialize({"task": "seal_ledger"})

    with pytest.raises(ValueError, match="Signature"):
        serializer.deserialize(message.replace(b"seal", b"evil"))


def test_expire_holds_releases_a_hold_past_its_expiry(
    tasks: ModuleType, container: Container
) -> None:
    demo = seed_demo(container).tenant("eur-bank")
    hold = container.ledger.reserve(
        demo.tenant.id,
        debit_account_id=demo.wallet("alice").id,
        credit_account_id=demo.wallet("bob").id,
        amount_minor=1_00,
        idempotency_key=f"test:short-hold:{uuid.uuid4()}",
        expires_in_seconds=1,
    )
    time.sleep(1.1)

    assert tasks.expire_holds.call_local() >= 1
    assert container.ledger.hold(demo.tenant.id, hold.id).status is HoldStatus.EXPIRED


def test_seal_ledger_seals_new_entries(tasks: ModuleType, container: Container) -> None:
    demo = seed_demo(container).tenant("cny-bank")
    tasks.seal_ledger.call_local()
    assert tasks.seal_ledger.call_local() == 0
    container.ledger.transfer(
        demo.tenant.id,
        debit_account_id=demo.wallet("bob").id,
        credit_account_id=demo.wallet("carol").id,
        amount_minor=3_00,
        idempotency_key=f"test:to-seal:{uuid.uuid4()}",
    )

    assert tasks.seal_ledger.call_local() == 1
