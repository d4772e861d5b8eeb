"""Background jobs on huey: release expired holds, seal the ledger, relay the outbox (mail, SMS,
activity feed) every ``outbox_interval_seconds``, and purge what has outlived its use (throttle
counters, expired sessions, idempotency keys past their retention) every hour.

Queue storage follows the database: ``PostgresHuey`` (huey >= 3 ships it, on psycopg 3) in the
application's PostgreSQL database, tables prefixed ``huey_``; otherwise ``SqliteHuey`` in
``<var_dir>/huey.sqlite3``, a file of its own so queue traffic never takes the ledger's write lock.
Messages are signed with ``WALLETBRIDGE_SECRET_KEY`` (huey's ``SignedSerializer``): huey unpickles
what it reads, so an unsigned queue would run whatever anyone able to write to it put there.

Cadence: huey checks periodic tasks once a minute, so a job due more often than that (hold expiry
every ``hold_expiry_interval_seconds``, 30 s by default) is driven by a once-a-minute tick that
schedules the runs for the coming minute at the interval. The gap between two runs never exceeds
the interval (see ``schedule.cadence``). Each job holds a huey lock, so runs never overlap even with
several workers; a run that finds the lock taken is skipped.

Run with ``walletbridge worker`` (or ``huey_consumer walletbridge.entrypoints.workers.tasks.huey``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import structlog
from huey import Huey, PostgresHuey, SqliteHuey
from huey.exceptions import TaskLockedException
from huey.serializer import SignedSerializer
from sqlalchemy.engine import make_url

from walletbridge.adapters.db.kv_store import SqlKeyValueStore
from walletbridge.bootstrap import Container, build
from walletbridge.config import Settings
from walletbridge.entrypoints.workers.schedule import cadence, on_minutes

QUEUE_NAME = "walletbridge"
OUTBOX_BATCH = 100
OUTBOX_BATCHES_PER_RUN = 10
PURGE_INTERVAL_SECONDS = 3600
log = structlog.get_logger("walletbridge.worker")


def make_huey(settings: Settings) -> Huey:
    serializer = SignedSerializer(
        secret=settings.secret_key.get_secret_value(), salt="walletbridge-huey"
    )
    # Nobody reads the jobs' return values; storing them would only grow the queue's tables.
    common = {"results": False, "utc": True, "serializer": serializer}
    if settings.is_sqlite:
        path = settings.var_dir / "huey.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), **common)
    return PostgresHuey(QUEUE_NAME, dsn=libpq_dsn(settings.effective_database_url), **common)


def libpq_dsn(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://…`` means something to SQLAlchemy only; libpq wants ``postgresql``."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


settings = Settings()
huey = make_huey(settings)


@functools.cache
def container() -> Container:
    """One container per worker process, built when the first job runs: only a worker needs
    the ledger's engine. (The queue itself connects at import: huey creates its tables then.)"""
    return build(settings)


def close() -> None:
    """Release the database connections once the consumer has stopped (unclosed psycopg
    connections complain when they are garbage-collected at exit)."""
    if container.cache_info().currsize:
        container().close()
    huey.storage.close()


def exclusively(name: str, job: Callable[[], int]) -> int:
    """Run ``job`` unless another run holds the lock; a skipped run is routine, not an error."""
    try:
        with huey.lock_task(f"walletbridge-{name}"):
            return job()
    except TaskLockedException:
        log.info("job still running elsewhere; skipped", job=name)
        return 0


def _expire_holds() -> int:
    released = container().ledger.expire_due_holds()
    if released:
        log.info("holds expired", count=released)
    return released


def _deliver_outbox() -> int:
    delivered = 0
    # Drain in batches while a batch comes back full, but stop within one interval's work so
    # the next tick (and the lock) stays on schedule.
    for _ in range(OUTBOX_BATCHES_PER_RUN):
        batch = container().notifications.deliver_pending(limit=OUTBOX_BATCH)
        delivered += batch
        if batch < OUTBOX_BATCH:
            break
    if delivered:
        log.info("outbox delivered", count=delivered)
    return delivered


def _purge() -> int:
    app = container()
    counters = app.throttle.purge_expired()
    sessions = SqlKeyValueStore(app.engine, clock=app.clock).delete_expired()
    keys = app.wallets.purge_idempotency_keys()
    log.info("purged", throttle_counters=counters, kv_values=sessions, idempotency_keys=keys)
    return counters + sessions + keys


def _seal_ledger() -> int:
    seals = container().integrity.seal()
    for seal in seals:
        log.info("ledger sealed", seal_no=seal.seal_no, last_seq=seal.last_seq)
    return len(seals)


class Task(Protocol):
    """What we use of a huey task; huey itself is untyped."""

    def __call__(self) -> object: ...
    def schedule(self, *, delay: int) -> object: ...
    def call_local(self) -> int: ...


def ticker(job: Task, offsets: tuple[int, ...]) -> Callable[[], None]:
    def tick() -> None:
        for offset in offsets:
            job.schedule(delay=offset)

    return tick


# Registered by call rather than decorator syntax: huey has no type hints, and its decorators
# would otherwise erase ours. Names are explicit because they are what the queue stores.
expire_holds: Task = huey.task(name="expire_holds")(
    lambda: exclusively("expire-holds", _expire_holds)
)
seal_ledger: Task = huey.task(name="seal_ledger")(lambda: exclusively("seal-ledger", _seal_ledger))

deliver_outbox: Task = huey.task(name="deliver_outbox")(
    lambda: exclusively("deliver-outbox", _deliver_outbox)
)
purge: Task = huey.task(name="purge")(lambda: exclusively("purge", _purge))

_holds = cadence(settings.hold_expiry_interval_seconds)
_seals = cadence(settings.seal_interval_seconds)
expire_holds_tick: Task = huey.periodic_task(
    on_minutes(_holds.every_minutes), name="expire_holds_tick"
)(ticker(expire_holds, _holds.offsets))
seal_ledger_tick: Task = huey.periodic_task(
    on_minutes(_seals.every_minutes), name="seal_ledger_tick"
)(ticker(seal_ledger, _seals.offsets))

_outbox = cadence(settings.outbox_interval_seconds)
_purge_cadence = cadence(PURGE_INTERVAL_SECONDS)
deliver_outbox_tick: Task = huey.periodic_task(
    on_minutes(_outbox.every_minutes), name="deliver_outbox_tick"
)(ticker(deliver_outbox, _outbox.offsets))
purge_tick: Task = huey.periodic_task(on_minutes(_purge_cadence.every_minutes), name="purge_tick")(
    ticker(purge, _purge_cadence.offsets)
)
