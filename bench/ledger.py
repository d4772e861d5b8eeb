"""Ledger benchmark: transfers per second against pgbench tpcb-like, on the same server, same run.

Usage: .venv/bin/python bench/ledger.py [--seconds 20] [--clients 1,8,32] [--accounts 100000]
       [--quick] [--profile SECONDS] [--admin-url URL]

What it does, in order (every phase prints how long it took):

1. Creates its own database ``wb_bench_ledger_<pid>``, migrates it, creates one tenant, a bank
   (ASSET, no floor), ``--accounts`` customer wallets (LIABILITY, floor 0) and two hot payees
   (REVENUE): one with ``--hot-shards`` shards, one with a single shard for comparison.
2. Funds every wallet from the bank through ``LedgerService.post_entry``: entries of 64 legs (the
   bank plus 63 wallets), posted from a small thread pool. The same ``LedgerService`` then runs the
   load, so its per-process account cache is warm, as it is in a long-running server.
3. Measures round trips per transfer with libpq's trace on the one connection of a pool of
   size 1 (see ``measure_round_trips``) and bytes stored per transfer (VACUUM FULL before and
   after a batch of transfers).
4. Creates the pgbench database and, at each client count, runs pgbench tpcb-like, then our
   uniform load (random payer and payee among the wallets), then the hot-payee load (random
   payer to the sharded payee), then the same against the single-shard payee (skipped at one
   client, where nothing contends). Each run starts right after a CHECKPOINT; one short
   unreported warm-up run opens and prepares every pooled connection first.
5. Prints the comparison table, CPU use of the client and the server during each run, the
   targets and a markdown summary for docs/performance.md; drops both databases whatever happens.
   With ``--profile S`` it also cProfiles S seconds of single-client transfers, once on the CPU
   clock and once on the wall clock, and prints where a transfer's time goes.

Exit status 1 if any transfer failed (errors are bugs, never noise); figures are not asserted.

Client CPU is this process's user+system time (all threads; for pgbench rows the pgbench child);
server CPU is that of the backends connected to the benchmarked database; "other" is the rest of
the machine's busy time (WAL writer, checkpointer, and whatever else runs on the machine: a
high figure means a noisy neighbour and numbers to distrust). All are in percent of one core: a
Python client, serialised by the GIL, tops out near 100% whatever the number of cores.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine.url import make_url

from walletbridge.adapters.db.engine import driver_connection
from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import Container, build
from walletbridge.config import Settings
from walletbridge.domain.ledger import (
    MAX_LEGS,
    Account,
    AccountId,
    AccountKind,
    EntryDraft,
    Leg,
    NewAccount,
    TenantId,
)
from walletbridge.ports import UnitOfWork

sys.path.insert(0, str(Path(__file__).parent))

# bench/ is not a package: the shared helpers are imported from this directory.
import _reference

TENANT = TenantId("bench")
CURRENCY = "EUR"
LEDGER_TABLES = ["entries", "postings", "account_balances"]
# Accounts are inserted this many per transaction, every statement of a batch in one pipeline.
ACCOUNT_BATCH = 5_000
FUNDING_THREADS = 4
ROUND_TRIP_REPEATS = 50
STORAGE_TRANSFERS = 2_000

# Targets printed next to the figures.
TARGET_TPCB_RATIO = 1.0
TARGET_TPCB_CLIENTS = 8
TARGET_HOT_RATIO = 0.8
TARGET_HOT_CLIENTS = 32
TARGET_ROUND_TRIPS = 2.0
TARGET_BYTES = 1024.0


# --------------------------------------------------------------------------------------------
# CPU accounting
# --------------------------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu_seconds(pid: int) -> float | None:
    """user+system CPU seconds of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ")".
    fields = raw[raw.rindex(b")") + 2 :].split()
    # Fields 14 and 15 of proc(5) (utime, stime) are 11 and 12 once pid and name are dropped.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/comm", "rb") as fh:
                    if fh.read().strip() == b"postgres":
                        pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idle and iowait since boot."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    return (sum(values[:8]) - values[3] - values[4]) / _CLOCK_TICKS


def machine_load(seconds: float = 1.0) -> float:
    """Percent of one core the whole machine is busy with right now (before we start)."""
    busy0 = _machine_busy_seconds()
    time.sleep(seconds)
    return 100 * (_machine_busy_seconds() - busy0) / seconds


# Above this much CPU (percent of one core) used by others during a run, its figures are suspect.
NOISY_NEIGHBOUR_PCT = 25.0


def _client_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # pgbench, once waited for
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class RunStats:
    """Resource use during one load run, measured from outside the load."""

    wall_s: float = float("nan")
    client_cpu_s: float = float("nan")
    server_cpu_s: float = float("nan")
    other_cpu_s: float = float("nan")
    # What the server backends of the benchmarked database were doing, sampled ten times a
    # second from pg_stat_activity: "waiting for the client" (idle), a wait event, or running.
    waits: Counter[str] = field(default_factory=Counter)

    @property
    def client_pct(self) -> float:
        return 100 * self.client_cpu_s / self.wall_s

    @property
    def server_pct(self) -> float:
        return 100 * self.server_cpu_s / self.wall_s

    @property
    def other_pct(self) -> float:
        return 100 * self.other_cpu_s / self.wall_s

    @property
    def waiting_for_client(self) -> float:
        """Share of backend samples in which the server was waiting for the client."""
        total = sum(self.waits.values())
        idle = sum(k for name, k in self.waits.items() if name.startswith("idle"))
        return idle / total if total else float("nan")

    def top_waits(self, n: int = 4) -> str:
        total = sum(self.waits.values())
        if not total:
            return "—"
        return ", ".join(f"{name} {100 * k / total:.0f}%" for name, k in self.waits.most_common(n))


_ACTIVITY_SQL = """
SELECT pid,
       CASE
         WHEN state = 'idle' THEN 'idle: client'
         WHEN state = 'idle in transaction' THEN 'idle in tx: client'
         WHEN wait_event IS NULL THEN 'running'
         ELSE wait_event_type || ':' || wait_event
       END,
       backend_type = 'client backend'
FROM pg_stat_activity
WHERE datname = %s AND pid <> pg_backend_pid()
"""


@contextmanager
def run_meter(into: RunStats, admin_url: str, dbname: str) -> Iterator[None]:
    """Measure CPU and sample server activity while the block runs.

    Server CPU counts only the backends of ``dbname`` (client backends and autovacuum workers):
    the server may be shared, and other databases' work is not ours. A sampler thread lists
    those backends ten times a second and reads their CPU from /proc, so backends that exit
    before the end (pgbench's) are counted up to their last sample, at most 0.1 s short.
    Machine-wide CPU not accounted for by the client or these backends is reported as "other":
    background processes, and anything else running on the machine at the same time.
    """
    baseline = {pid: _process_cpu_seconds(pid) or 0.0 for pid in _postgres_pids()}
    last: dict[int, float] = {}
    stop = threading.Event()

    def sample(conn: psycopg.Connection[Any]) -> None:
        for pid, state, is_client in conn.execute(_ACTIVITY_SQL, (dbname,)):
            cpu = _process_cpu_seconds(pid)
            if cpu is not None:
                last[pid] = cpu
            if is_client:
                into.waits[state] += 1

    def sampler_main() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            while not stop.wait(0.1):
                sample(conn)

    sampler = threading.Thread(target=sampler_main, name="activity-sampler", daemon=True)
    sampler.start()
    wall0, client0, busy0 = time.perf_counter(), _client_cpu_seconds(), _machine_busy_seconds()
    try:
        yield
    finally:
        into.wall_s = time.perf_counter() - wall0
        into.client_cpu_s = _client_cpu_seconds() - client0
        busy = _machine_busy_seconds() - busy0
        stop.set()
        sampler.join()
        for pid in last:
            cpu = _process_cpu_seconds(pid)
            if cpu is not None:
                last[pid] = cpu
        into.server_cpu_s = sum(cpu - baseline.get(pid, 0.0) for pid, cpu in last.items())
        into.other_cpu_s = busy - into.client_cpu_s - into.server_cpu_s


# --------------------------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """The accounts the load runs on."""

    bank: Account
    wallets: list[AccountId]
    hot: dict[int, Account]  # shard count -> hot payee
    timings: dict[str, float] = field(default_factory=dict)


def sqlalchemy_url(url: str) -> str:
    """The same database as a SQLAlchemy URL on the psycopg 3 driver."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def new_account(container: Container, request: NewAccount) -> Account:
    """The Account ``LedgerService.open_account`` would create, without its own transaction."""
    return request.to_account(AccountId(uuid.UUID(container.ids.new_id())))


def analyze(container: Container, tables: Sequence[str]) -> None:
    with container.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE " + ", ".join(tables))


def insert_accounts(container: Container, accounts: Sequence[Account]) -> None:
    """Insert accounts ``ACCOUNT_BATCH`` per transaction, each batch in one pipeline.

    After the first batch the tables are ANALYZEd: until then the planner believes ``accounts``
    is empty, and the foreign-key check of every balance row insert keeps a sequential-scan plan
    for the whole session, which makes a bulk load quadratic (10,000 accounts took 12 s in one
    transaction without ANALYZE; 20,000 took 2.8 s in batches with it).
    """
    for start in range(0, len(accounts), ACCOUNT_BATCH):
        batch = accounts[start : start + ACCOUNT_BATCH]

        def write(uow: UnitOfWork, batch: Sequence[Account] = batch) -> None:
            now_us = container.clock.now_us()
            connection = uow.connection  # type: ignore[attr-defined]
            with driver_connection(connection).pipeline():
                for account in batch:
                    uow.ledger.insert_account(account, now_us)
            uow.commit()

        container.runner.write(write)
        if start == 0:
            analyze(container, ["accounts", "account_balances"])


def fund_wallets(
    container: Container, bank: Account, wallets: Sequence[AccountId], amount: int
) -> None:
    """Credit every wallet with ``amount`` from the bank: entries of up to 64 legs, 4 threads.

    Most of the time goes into ``LedgerService``'s account cache, not the entries: each wallet
    is first read in a transaction of its own (about 0.5 ms of client CPU), which is also what
    leaves the cache warm for the load runs. The threads barely help: that work holds the GIL.
    """
    per_entry = MAX_LEGS - 1
    chunks = [wallets[i : i + per_entry] for i in range(0, len(wallets), per_entry)]

    def post(index: int) -> None:
        chunk = chunks[index]
        legs = (
            Leg(bank.id, CURRENCY, amount * len(chunk)),
            *(Leg(wallet, CURRENCY, -amount) for wallet in chunk),
        )
        container.ledger.post_entry(
            EntryDraft(tenant_id=TENANT, idempotency_key=f"funding-{index}", legs=legs)
        )

    with ThreadPoolExecutor(FUNDING_THREADS) as pool:
        # list() re-raises the first failure instead of silently dropping it.
        list(pool.map(post, range(len(chunks))))


def set_up(
    container: Container, n_accounts: int, hot_shards: Sequence[int], funding: int
) -> Ledger:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    upgrade(container.engine)
    container.tenants.create(TENANT, "Ledger benchmark", CURRENCY)
    timings["migrate + tenant"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bank = new_account(
        container, NewAccount(TENANT, CURRENCY, AccountKind.ASSET, floor_minor=None, code="bank")
    )
    hot = {
        shards: new_account(
            container,
            NewAccount(
                TENANT, CURRENCY, AccountKind.REVENUE, shard_count=shards, code=f"hot{shards}"
            ),
        )
        for shards in hot_shards
    }
    wallets = [
        new_account(container, NewAccount(TENANT, CURRENCY, AccountKind.LIABILITY))
        for _ in range(n_accounts)
    ]
    insert_accounts(container, [bank, *hot.values(), *wallets])
    timings[f"create {n_accounts + 1 + len(hot):,} accounts"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    wallet_ids = [wallet.id for wallet in wallets]
    fund_wallets(container, bank, wallet_ids, funding)
    timings[f"fund {n_accounts:,} wallets"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    analyze(container, ["accounts", "account_balances", "entries", "postings"])
    timings["analyze"] = time.perf_counter() - t0
    return Ledger(bank=bank, wallets=wallet_ids, hot=hot, timings=timings)


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------


def uniform_op(container: Container, wallets: Sequence[AccountId], seed: int) -> Callable[[], None]:
    """One transfer between two distinct random wallets, 1-100 minor units, a fresh key."""
    rng = random.Random(seed)
    transfer = container.ledger.transfer
    n = len(wallets)

    def op() -> None:
        payer = rng.randrange(n)
        payee = rng.randrange(n - 1)
        payee += payee >= payer
        transfer(
            TENANT,
            debit_account_id=wallets[payer],
            credit_account_id=wallets[payee],
            amount_minor=rng.randint(1, 100),
            idempotency_key=str(uuid.uuid4()),
        )

    return op


def hot_op(
    container: Container, wallets: Sequence[AccountId], hot: AccountId, seed: int
) -> Callable[[], None]:
    """One transfer from a random wallet to the hot payee."""
    rng = random.Random(seed)
    transfer = container.ledger.transfer
    n = len(wallets)

    def op() -> None:
        transfer(
            TENANT,
            debit_account_id=wallets[rng.randrange(n)],
            credit_account_id=hot,
            amount_minor=rng.randint(1, 100),
            idempotency_key=str(uuid.uuid4()),
        )

    return op


# --------------------------------------------------------------------------------------------
# Round trips and storage
# --------------------------------------------------------------------------------------------


@dataclass
class RoundTrips:
    uniform: float
    hot: float
    checkout: float


def measure_round_trips(url: str, ledger: Ledger, hot_shards: int) -> RoundTrips:
    """Round trips of one transfer, counted on the only connection of a pool of size 1.

    The ledger opens its own SQLAlchemy connection inside ``container.runner``, so there is no
    connection to hand to the counter from outside. Instead a Container is built with
    ``pool_size=1``: the pool then creates one psycopg connection and, with one thread and no
    overlapping checkouts, hands that same connection to every transaction. libpq's trace is set
    on it (``engine.raw_connection().driver_connection``) and persists across checkouts, so the
    count covers everything a transfer costs: pool checkout (a pre-ping, if any), BEGIN, the
    statements, COMMIT. A pool "checkout" listener checks that no other connection was used.
    """
    container = build(Settings(database_url=url, database_pool_size=1))
    try:
        raw = container.engine.raw_connection()
        traced = raw.driver_connection
        raw.close()  # back to the pool; the trace stays on the psycopg connection
        assert isinstance(traced, psycopg.Connection)
        strangers: list[Any] = []

        @event.listens_for(container.engine, "checkout")
        def _check(dbapi_connection: Any, *_: Any) -> None:
            if dbapi_connection is not traced:
                strangers.append(dbapi_connection)

        # A few fixed wallets, looked up before counting: the steady state of a warm server.
        wallets = ledger.wallets[:8]
        for wallet in [*wallets, ledger.hot[hot_shards].id]:
            container.ledger.account(TENANT, wallet)
        uniform = _reference.count_round_trips(
            traced, uniform_op(container, wallets, seed=1), repeats=ROUND_TRIP_REPEATS
        )
        hot = _reference.count_round_trips(
            traced,
            hot_op(container, wallets, ledger.hot[hot_shards].id, seed=2),
            repeats=ROUND_TRIP_REPEATS,
        )

        def checkout() -> None:
            with container.engine.connect():
                pass

        checkout_trips = _reference.count_round_trips(traced, checkout, repeats=ROUND_TRIP_REPEATS)
        if strangers:
            raise RuntimeError("the pool used a connection that was not traced")
        return RoundTrips(uniform=uniform, hot=hot, checkout=checkout_trips)
    finally:
        container.close()


@dataclass
class Storage:
    transfers: int
    total_bytes: int
    per_table: dict[str, int]

    @property
    def per_transfer(self) -> float:
        return self.total_bytes / self.transfers


def measure_storage(container: Container, url: str, ledger: Ledger, transfers: int) -> Storage:
    """Bytes added per transfer: VACUUM FULL, size, ``transfers`` transfers, VACUUM FULL, size.

    VACUUM FULL rewrites the tables compactly, so the difference is live data (rows, indexes,
    TOAST) rather than dead tuples; account_balances is included and should not grow.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        _reference.vacuum(conn, LEDGER_TABLES, full=True)
        before = {t: _reference.relation_bytes(conn, [t]) for t in LEDGER_TABLES}
        op = uniform_op(container, ledger.wallets, seed=3)
        for _ in range(transfers):
            op()
        _reference.vacuum(conn, LEDGER_TABLES, full=True)
        after = {t: _reference.relation_bytes(conn, [t]) for t in LEDGER_TABLES}
        # Leave the tables vacuumed and analysed, so autovacuum has no backlog to catch up on
        # during the first load run.
        conn.execute("VACUUM (ANALYZE) accounts, " + ", ".join(LEDGER_TABLES))
    per_table = {t: after[t] - before[t] for t in LEDGER_TABLES}
    return Storage(transfers=transfers, total_bytes=sum(per_table.values()), per_table=per_table)


# --------------------------------------------------------------------------------------------
# Profiling
# --------------------------------------------------------------------------------------------


# The parts of one transfer, as (label, file suffix, function name) of the profiled function
# whose cumulative time is that part. Nested parts are indented under their parent.
PROFILE_PARTS = [
    ("LedgerService.transfer (the whole call)", "services/ledger.py", "transfer"),
    ("  EntryDraft.validate", "domain/ledger.py", "validate"),
    ("  EntryDraft.request_hash (json + sha256)", "domain/ledger.py", "request_hash"),
    ("  transaction(): pool checkout and return", "adapters/db/engine.py", "transaction"),
    ("  SqlUnitOfWork() (three stores)", "adapters/db/uow.py", "__init__"),
    ("  SqlLedgerStore.post (pipeline, 1 round trip)", "adapters/db/ledger_store.py", "post"),
    ("    _execute x4 (queue INSERT x2, UPDATE x2)", "adapters/db/ledger_store.py", "_execute"),
    ("  uow.commit (COMMIT, 1 round trip)", "adapters/db/uow.py", "commit"),
    ("uuid.uuid4 (the benchmark's idempotency key)", "uuid.py", "uuid4"),
]


def _part_times(stats: pstats.Stats, calls: int) -> dict[str, float]:
    """Microseconds per transfer spent in each of ``PROFILE_PARTS`` (cumulative time)."""
    found: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for label, suffix, function in PROFILE_PARTS:
        total = sum(
            value[3]
            for (filename, _line, name), value in raw.items()
            if name == function and filename.endswith(suffix)
        )
        found[label] = 1e6 * total / calls if calls else float("nan")
    return found


def profile_one_client(op: Callable[[], None], seconds: float, top: int = 20) -> str:
    """cProfile ``op`` called back-to-back in this thread (cProfile sees only its own thread).

    Two passes: one timed with this thread's CPU clock, which shows where the client burns CPU
    (the figure that caps a GIL-bound client), and one with the wall clock, which also counts
    the waits for the server and shows where a transfer's latency goes. The profiler's own
    overhead inflates every figure (several-fold for CPU); compare the parts with each other.
    """
    out = io.StringIO()
    parts: dict[str, dict[str, float]] = {}
    for name, timer in (("CPU", time.thread_time), ("wall", time.perf_counter)):
        profiler = cProfile.Profile(timer)
        calls = 0
        deadline = time.perf_counter() + seconds
        profiler.enable()
        while time.perf_counter() < deadline:
            op()
            calls += 1
        profiler.disable()
        stats = pstats.Stats(profiler, stream=out)
        parts[name] = _part_times(stats, calls)
        if name == "CPU":
            out.write(f"== cProfile, CPU time: top {top} functions by own time ==\n")
            stats.sort_stats("tottime").print_stats(top)
    whole = {name: times[PROFILE_PARTS[0][0]] for name, times in parts.items()}
    out.write("== Per transfer, 1 client, under cProfile (µs; % of the whole call) ==\n")
    out.write(f"  {'part':<52} {'CPU µs':>8} {'%':>4} {'wall µs':>8} {'%':>4}\n")
    for label, _suffix, _function in PROFILE_PARTS:
        cpu, wall = parts["CPU"][label], parts["wall"][label]
        out.write(
            f"  {label:<52} {cpu:>8.0f} {100 * cpu / whole['CPU']:>3.0f}%"
            f" {wall:>8.0f} {100 * wall / whole['wall']:>3.0f}%\n"
        )
    text = out.getvalue()
    # Shorten ".../site-packages/psycopg/cursor.py" to "psycopg/cursor.py", and the same for src.
    for root in sorted((p for p in sys.path if p and os.path.isdir(p)), key=len, reverse=True):
        text = text.replace(root.rstrip("/") + "/", "")
    return text


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


@dataclass
class Report:
    results: list[_reference.LoadResult]
    reference: dict[int, _reference.LoadResult]
    stats: dict[tuple[str, int], RunStats]
    round_trips: RoundTrips
    storage: Storage
    timings: dict[str, float]
    uniform_label: str
    hot_label: str
    compare_label: str | None
    seconds: float
    accounts: int
    server_version: str

    def find(self, label: str, clients: int) -> _reference.LoadResult | None:
        for result in self.results:
            if result.label == label and result.clients == clients:
                return result
        return None

    def tpcb_ratio(self, label: str, clients: int) -> float | None:
        ours, ref = self.find(label, clients), self.reference.get(clients)
        if ours is None or ref is None or ref.tps <= 0:
            return None
        return ours.tps / ref.tps

    def hot_ratio(self, clients: int) -> float | None:
        hot, uniform = self.find(self.hot_label, clients), self.find(self.uniform_label, clients)
        if hot is None or uniform is None or uniform.tps <= 0:
            return None
        return hot.tps / uniform.tps

    def targets(self) -> list[tuple[str, str, str]]:
        rows = []
        ratio = self.tpcb_ratio(self.uniform_label, TARGET_TPCB_CLIENTS)
        rows.append(
            (
                f"uniform ≥ {TARGET_TPCB_RATIO:.1f} × tpcb at {TARGET_TPCB_CLIENTS} clients",
                "—" if ratio is None else f"{ratio:.2f} × tpcb",
                verdict(None if ratio is None else ratio >= TARGET_TPCB_RATIO),
            )
        )
        hot_tpcb = self.tpcb_ratio(self.hot_label, TARGET_TPCB_CLIENTS)
        rows.append(
            (
                f"hot ≥ {TARGET_TPCB_RATIO:.1f} × tpcb at {TARGET_TPCB_CLIENTS} clients",
                "—" if hot_tpcb is None else f"{hot_tpcb:.2f} × tpcb",
                verdict(None if hot_tpcb is None else hot_tpcb >= TARGET_TPCB_RATIO),
            )
        )
        hot = self.hot_ratio(TARGET_HOT_CLIENTS)
        hot_result = self.find(self.hot_label, TARGET_HOT_CLIENTS)
        hot_errors = None if hot_result is None else hot_result.errors
        rows.append(
            (
                f"hot ≥ {TARGET_HOT_RATIO:.1f} × uniform at {TARGET_HOT_CLIENTS} clients, 0 errors",
                "—" if hot is None else f"{hot:.2f} × uniform, {hot_errors} errors",
                verdict(None if hot is None else hot >= TARGET_HOT_RATIO and hot_errors == 0),
            )
        )
        trips = max(self.round_trips.uniform, self.round_trips.hot)
        rows.append(
            (
                f"≤ {TARGET_ROUND_TRIPS:.0f} round trips per transfer",
                f"{self.round_trips.uniform:.2f} uniform, {self.round_trips.hot:.2f} hot",
                verdict(trips <= TARGET_ROUND_TRIPS),
            )
        )
        rows.append(
            (
                "≤ 1 KB stored per transfer",
                f"{self.storage.per_transfer:.0f} B",
                verdict(self.storage.per_transfer <= TARGET_BYTES),
            )
        )
        errors = sum(result.errors for result in self.results)
        rows.append(("0 errors in every run", str(errors), verdict(errors == 0)))
        return rows

    def all_runs(self) -> list[_reference.LoadResult]:
        """pgbench first, then ours, each group in client order."""
        return [*self.reference.values(), *self.results]

    def noise_warning(self) -> str:
        """A warning if other processes competed for the CPU during some runs, else ''."""
        runs = self.all_runs()
        noisy = [r for r in runs if self._other_pct(r) > NOISY_NEIGHBOUR_PCT]
        if not noisy:
            return ""
        worst = max(self._other_pct(r) for r in noisy)
        return (
            f"WARNING: other processes used more than {NOISY_NEIGHBOUR_PCT:.0f}% of a core"
            f" during {len(noisy)} of {len(runs)} runs (up to {worst:.0f}%, see the 'other'"
            " column): treat those figures as indicative only."
        )

    def _other_pct(self, result: _reference.LoadResult) -> float:
        return self.stats.get((result.label, result.clients), RunStats()).other_pct

    def cpu_ms(self, result: _reference.LoadResult) -> tuple[float, float]:
        """Client and server CPU milliseconds per transaction for one run."""
        run = self.stats.get((result.label, result.clients), RunStats())
        if not result.transactions:
            return float("nan"), float("nan")
        per = 1000 / result.transactions
        return run.client_cpu_s * per, run.server_cpu_s * per

    def print_details(self) -> None:
        print()
        print(
            f"Where the time goes ({os.cpu_count()} cores; CPU in % of one core and in ms per"
            " transaction; server states sampled from pg_stat_activity):"
        )
        print(
            f"  {'label':<18} {'clients':>7} {'tps':>6} {'client':>7} {'server':>7} {'other':>6}"
            f" {'client':>7} {'server':>7}  server backends"
        )
        print(
            f"  {'':<18} {'':>7} {'':>6} {'CPU %':>7} {'CPU %':>7} {'CPU %':>6}"
            f" {'ms/tx':>7} {'ms/tx':>7}"
        )
        for result in self.all_runs():
            run = self.stats.get((result.label, result.clients), RunStats())
            client_ms, server_ms = self.cpu_ms(result)
            print(
                f"  {result.label:<18} {result.clients:>7} {result.tps:>6.0f}"
                f" {run.client_pct:>6.0f}% {run.server_pct:>6.0f}% {run.other_pct:>5.0f}%"
                f" {client_ms:>7.2f}"
                f" {server_ms:>7.2f}  {run.top_waits()}"
            )
        print(
            "  client = this Python process (all threads), or pgbench for the tpcb rows; server ="
            " backends of the benchmarked database;\n  other = the rest of the machine (WAL"
            " writer, checkpointer, other users); 'idle: client' = the backend waits for the"
            " client's next statement."
        )
        rt = self.round_trips
        print()
        print(
            f"Round trips per transfer: {rt.uniform:.2f} uniform, {rt.hot:.2f} hot"
            f" (of which pool checkout: {rt.checkout:.2f})"
        )
        st = self.storage
        breakdown = ", ".join(f"{t} {b / st.transfers:+.0f}" for t, b in st.per_table.items())
        print(
            f"Bytes stored per transfer: {st.per_transfer:.0f} B over {st.transfers:,} transfers"
            f" ({breakdown})"
        )
        for clients in sorted({r.clients for r in self.results}):
            ratio = self.hot_ratio(clients)
            if ratio is not None:
                print(f"Hot / uniform at {clients} clients: {ratio:.2f}")
        errors = {f"{r.label} @ {r.clients}": r.errors for r in self.results}
        # The first distinct exceptions of each run are printed under the table above.
        print("Errors per run:", ", ".join(f"{k}: {v}" for k, v in errors.items()))
        if self.noise_warning():
            print(self.noise_warning())
        print()
        print("Targets:")
        for name, value, status in self.targets():
            print(f"  {status:<8} {name}: {value}")

    def findings(self) -> list[str]:
        """Derived observations, as markdown bullet points."""
        lines = []
        for clients in sorted({r.clients for r in self.results}):
            ratio = self.hot_ratio(clients)
            if ratio is not None and clients > 1:
                lines.append(f"- Hot payee / uniform at {clients} clients: {ratio:.2f}.")
        if self.compare_label:
            for clients in sorted({r.clients for r in self.results}):
                sharded = self.find(self.hot_label, clients)
                single = self.find(self.compare_label, clients)
                if sharded and single and single.tps > 0:
                    lines.append(
                        f"- {self.hot_label} vs {self.compare_label} at {clients} clients:"
                        f" {sharded.tps:.0f} vs {single.tps:.0f} tps"
                        f" ({sharded.tps / single.tps:.2f}×), p99 {sharded.p99_ms:.1f} vs"
                        f" {single.p99_ms:.1f} ms."
                    )
        for result in self.results:
            if result.label != self.uniform_label:
                continue
            run = self.stats.get((result.label, result.clients), RunStats())
            client_ms, server_ms = self.cpu_ms(result)
            lines.append(
                f"- Uniform at {result.clients} client{'s' if result.clients > 1 else ''}:"
                f" this Python process used"
                f" {run.client_pct:.0f}% of a core ({client_ms:.2f} ms CPU per transfer, server"
                f" {server_ms:.2f} ms); the server backends were waiting for the client in"
                f" {100 * run.waiting_for_client:.0f}% of samples."
            )
        return lines

    def markdown(self) -> str:
        lines = [
            f"### Ledger benchmark ({self.seconds:g} s per run, {self.accounts:,} wallets,"
            f" PostgreSQL {self.server_version} on the same {os.cpu_count()}-core machine)",
            "",
            "| workload | clients | tps | p50 ms | p99 ms | errors | × tpcb"
            " | client CPU ms/tx | server CPU ms/tx | other CPU |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for result in self.all_runs():
            ref = self.reference.get(result.clients)
            ratio = f"{result.tps / ref.tps:.2f}" if ref and ref.tps > 0 else "—"
            client_ms, server_ms = self.cpu_ms(result)
            lines.append(
                f"| {result.label} | {result.clients} | {result.tps:.0f} | {result.p50_ms:.2f}"
                f" | {result.p99_ms:.2f} | {result.errors} | {ratio} | {client_ms:.2f}"
                f" | {server_ms:.2f} | {self._other_pct(result):.0f}% |"
            )
        if self.noise_warning():
            lines += ["", f"> {self.noise_warning()}"]
        lines += ["", "| target | measured | status |", "|---|---|---|"]
        lines += [f"| {name} | {value} | {status} |" for name, value, status in self.targets()]
        rt, st = self.round_trips, self.storage
        lines += ["", *self.findings()]
        lines += [
            f"- Round trips per transfer: {rt.uniform:.2f} (uniform), {rt.hot:.2f} (hot payee);"
            f" pool checkout alone: {rt.checkout:.2f}.",
            f"- Bytes stored per transfer: {st.per_transfer:.0f} B ("
            + ", ".join(f"{t} {b / st.transfers:.0f} B" for t, b in st.per_table.items())
            + ").",
            "- Setup: "
            + ", ".join(f"{name} {secs:.1f} s" for name, secs in self.timings.items())
            + ".",
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def checkpoint(admin_url: str) -> None:
    """Start every run right after a checkpoint, so none of them pays for a timed one."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def server_version(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each run")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated client counts")
    parser.add_argument(
        "--accounts", type=int, default=None, help="number of wallets (default 100,000)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 5 s runs and, unless --accounts is given, 10,000 wallets",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="client processes the load threads are spread over (like pgbench -j; default 2)",
    )
    parser.add_argument("--hot-shards", type=int, default=16, help="shards of the hot payee")
    parser.add_argument(
        "--compare-shards",
        type=int,
        default=1,
        help="also run the hot load against a payee with this many shards (0: skip)",
    )
    parser.add_argument("--funding", type=int, default=1_000_000, help="minor units per wallet")
    parser.add_argument(
        "--profile",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also cProfile a 1-client uniform run of this length and print the top functions",
    )
    parser.add_argument("--admin-url", default=_reference.DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 5.0
    if args.accounts is None:
        args.accounts = 10_000 if args.quick else 100_000
    args.client_counts = sorted({int(c) for c in args.clients.split(",") if c.strip()})
    if not args.client_counts or min(args.client_counts) < 1:
        parser.error("--clients needs positive integers")
    if args.accounts < 2:
        parser.error("--accounts must be at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    pid = os.getpid()
    db_name = f"wb_bench_ledger_{pid}"
    pgbench_name = f"wb_bench_pgbench_{pid}"
    hot_shards = [args.hot_shards]
    if args.compare_shards and args.compare_shards != args.hot_shards:
        hot_shards.append(args.compare_shards)
    uniform_label = "uniform"
    hot_labels = {s: f"hot, {s} shard{'s' if s > 1 else ''}" for s in hot_shards}
    comparison_labels = {hot_labels[s] for s in hot_shards[1:]}
    clients_max = max(args.client_counts)

    busy = machine_load()
    if busy > NOISY_NEIGHBOUR_PCT:
        print(
            f"WARNING: before starting, the machine is already busy ({busy:.0f}% of a core):"
            " figures will be low and noisy.",
            flush=True,
        )
    url = _reference.create_database(args.admin_url, db_name)
    pgbench_created = False
    container: Container | None = None
    try:
        sa_url = sqlalchemy_url(url)
        # Pool sized for the largest client count: every load thread holds one connection.
        container = build(Settings(database_url=sa_url, database_pool_size=clients_max))
        app = container  # not Optional, for the closures below
        print(f"database {db_name}: setting up {args.accounts:,} wallets ...", flush=True)
        ledger = set_up(container, args.accounts, hot_shards, args.funding)
        for name, secs in ledger.timings.items():
            print(f"  {name}: {secs:.1f} s", flush=True)

        t0 = time.perf_counter()
        round_trips = measure_round_trips(sa_url, ledger, args.hot_shards)
        storage = measure_storage(container, url, ledger, STORAGE_TRANSFERS)
        ledger.timings["round trips + storage"] = time.perf_counter() - t0
        print(
            f"  round trips {round_trips.uniform:.2f}, {storage.per_transfer:.0f} B per transfer"
            f" ({ledger.timings['round trips + storage']:.1f} s)",
            flush=True,
        )

        t0 = time.perf_counter()
        pgbench_url = _reference.pgbench_init(args.admin_url, scale=10, name=pgbench_name)
        pgbench_created = True
        ledger.timings["pgbench -i -s 10"] = time.perf_counter() - t0

        loads: list[tuple[str, Callable[[int], Callable[[], None]]]] = [
            (uniform_label, lambda i: uniform_op(app, ledger.wallets, seed=1000 + i)),
        ]

        def hot_load(hot_id: AccountId) -> Callable[[int], Callable[[], None]]:
            return lambda i: hot_op(app, ledger.wallets, hot_id, seed=2000 + i)

        loads += [(hot_labels[shards], hot_load(ledger.hot[shards].id)) for shards in hot_shards]

        # Warm-up, not reported: every pooled connection opened and its statements prepared.
        warmup = min(3.0, args.seconds / 4)
        _reference.run_load("warm-up", clients_max, warmup, loads[0][1])

        results: list[_reference.LoadResult] = []
        reference: dict[int, _reference.LoadResult] = {}
        stats: dict[tuple[str, int], RunStats] = {}
        seconds_int = max(1, round(args.seconds))
        for clients in args.client_counts:
            checkpoint(args.admin_url)
            run = stats.setdefault(("pgbench tpcb-like", clients), RunStats())
            with run_meter(run, args.admin_url, pgbench_name):
                reference[clients] = _reference.pgbench_run(pgbench_url, clients, seconds_int)
            print(f"  pgbench @ {clients}: {reference[clients].tps:.0f} tps", flush=True)
            for label, make in loads:
                if label in comparison_labels and clients == 1:
                    continue  # one client cannot contend: the shard count makes no difference
                checkpoint(args.admin_url)
                run = stats.setdefault((label, clients), RunStats())
                with run_meter(run, args.admin_url, db_name):
                    result = _reference.run_load_processes(
                        label,
                        clients,
                        seconds_int,
                        make,
                        args.processes,
                        after_fork=lambda: app.engine.dispose(close=False),
                    )
                results.append(result)
                print(
                    f"  {label} @ {clients}: {result.tps:.0f} tps, {result.errors} errors"
                    f" (client CPU {run.client_pct:.0f}%, server CPU {run.server_pct:.0f}%)",
                    flush=True,
                )

        profile = ""
        if args.profile > 0:
            profile = profile_one_client(uniform_op(app, ledger.wallets, seed=9), args.profile)

        print()
        _reference.print_table(results, reference)
        report = Report(
            results=results,
            reference=reference,
            stats=stats,
            round_trips=round_trips,
            storage=storage,
            timings=ledger.timings,
            uniform_label=uniform_label,
            hot_label=hot_labels[args.hot_shards],
            compare_label=next(iter(comparison_labels), None),
            seconds=seconds_int,
            accounts=args.accounts,
            server_version=server_version(args.admin_url),
        )
        report.print_details()
        if profile:
            print()
            print(profile)
        print()
        print("---- markdown summary (docs/performance.md) ----")
        print(report.markdown())
        print("---- end of summary ----")
        # Timings are never asserted on; errors are: a run with failed transfers is a bug.
        return 1 if any(result.errors for result in results) else 0
    finally:
        if container is not None:
            container.close()
        _reference.drop_database(args.admin_url, db_name)
        if pgbench_created:
            _reference.drop_database(args.admin_url, pgbench_name)
        print(f"\ntotal runtime: {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
