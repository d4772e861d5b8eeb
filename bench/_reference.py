"""Shared helpers for walletbridge benchmarks.

Benchmarks never assert on absolute timings. Each script measures a reference in the same run,
on the same server, and prints its own figures as a ratio against it. The reference is stock
``pgbench -b tpcb-like`` at scale 10: a well-known write-heavy OLTP transaction (three UPDATEs,
one SELECT, one INSERT) whose throughput moves with the machine, the server configuration and
the current load, exactly like ours does.

bench/ is not a package; scripts import this module with::

    sys.path.insert(0, str(Path(__file__).parent))
    import _reference

Running this module directly executes a short self-test of the round-trip counter.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.table import Table

__all__ = [
    "DEFAULT_ADMIN_URL",
    "LoadResult",
    "RoundTripCounter",
    "count_round_trips",
    "create_database",
    "drop_database",
    "percentile",
    "pgbench_init",
    "pgbench_run",
    "print_table",
    "relation_bytes",
    "run_load",
    "vacuum",
]

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Only this many distinct exception reprs are kept per load run: enough to diagnose a failing
# worker without letting a storm of identical errors grow memory or flood the report.
_MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class LoadResult:
    """Outcome of one closed-loop load run (ours or pgbench's)."""

    label: str
    clients: int
    transactions: int
    errors: int
    seconds: float
    tps: float
    p50_ms: float
    p99_ms: float
    # Extra to the fixed fields above, defaulted so positional construction still works: the
    # first few distinct exception reprs, so a run with errors explains itself in the report.
    error_samples: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


def _with_dbname(url: str, name: str) -> str:
    """Return ``url`` pointing at database ``name``, keeping host, user and query options."""
    if "://" in url:
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + name))
    # Key/value DSNs have no URL form to edit, so let libpq's own rules rebuild them.
    return make_conninfo(url, dbname=name)


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` and return a URL for it.

    Fails if the database already exists: silently reusing (or replacing) somebody else's
    database would corrupt their data or our measurement.
    """
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # CREATE DATABASE cannot run inside a transaction block, hence autocommit.
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_dbname(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting any leftover sessions first."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # FORCE terminates sessions a crashed worker may have left behind, so cleanup after an
        # error does not fail with "database is being accessed by other users".
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --------------------------------------------------------------------------------------------
# pgbench reference
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PgTarget:
    dbname: str
    host: str
    port: str
    user: str


def _pg_target(db: str) -> _PgTarget:
    """Accept either a bare database name or a URL/DSN and return pgbench's -h/-p/-U/dbname."""
    if "://" in db or "=" in db:
        params = conninfo_to_dict(db)
        return _PgTarget(
            dbname=str(params.get("dbname", "postgres")),
            host=str(params.get("host", "127.0.0.1")),
            port=str(params.get("port", "5432")),
            user=str(params.get("user", "postgres")),
        )
    return _PgTarget(dbname=db, host="127.0.0.1", port="5432", user="postgres")


def _pgbench_exe() -> str:
    return shutil.which("pgbench") or "/usr/bin/pgbench"


def _pgbench_cmd(target: _PgTarget, *args: str) -> list[str]:
    # Connection options are explicit so PGHOST/PGUSER in the caller's environment cannot send
    # the reference to a different server from the one our own code talks to.
    conn_args = ["-h", target.host, "-p", target.port, "-U", target.user]
    return [_pgbench_exe(), *conn_args, *args, target.dbname]


def pgbench_init(
    admin_url: str = DEFAULT_ADMIN_URL, *, scale: int = 10, name: str | None = None
) -> str:
    """Create a dedicated database and load the pgbench tables into it; return its URL.

    The database is named ``wb_bench_pgbench_<pid>`` unless ``name`` is given, so concurrent
    runs never share (or drop) each other's tables. The caller owns the database afterwards and
    must remove it with ``drop_database(admin_url, <name>)``; if loading fails it is dropped
    here before the error propagates.
    """
    name = name or f"wb_bench_pgbench_{os.getpid()}"
    url = create_database(admin_url, name)
    try:
        subprocess.run(
            _pgbench_cmd(_pg_target(url), "-i", "-s", str(scale), "-q"),
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.CalledProcessError as exc:
        drop_database(admin_url, name)
        raise RuntimeError(f"pgbench -i failed: {exc.stderr.strip()}") from exc
    except BaseException:
        drop_database(admin_url, name)
        raise
    return url


_TPS_RE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_PROCESSED_RE = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)
_FAILED_RE = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)


def _read_pgbench_latencies_us(log_dir: Path, prefix: str) -> list[int]:
    """Collect per-transaction latencies (µs) from every pgbench log file under ``log_dir``.

    With ``-j N`` each thread writes its own file: ``<prefix>.<pid>`` for the first thread and
    ``<prefix>.<pid>.<n>`` for the others, so all files matching the prefix are read.
    """
    latencies: list[int] = []
    for path in sorted(log_dir.glob(f"{prefix}.*")):
        with path.open() as fh:
            for line in fh:
                # client_id transaction_no time script_no time_epoch time_us [...]
                fields = line.split()
                if len(fields) < 3:
                    continue
                # Failed or skipped transactions log a word ("failed", "skipped", ...) instead
                # of a latency; they carry no timing and are counted from stdout instead.
                if fields[2].isdigit():
                    latencies.append(int(fields[2]))
    return latencies


def pgbench_run(db: str, clients: int, seconds: int, *, label: str | None = None) -> LoadResult:
    """Run ``pgbench -b tpcb-like`` against ``db`` (a name or URL) and return its figures.

    tps is pgbench's own "without initial connection time" figure; p50/p99 come from the
    per-transaction log so they use the same nearest-rank percentile as ``run_load``.
    """
    target = _pg_target(db)
    with tempfile.TemporaryDirectory(prefix="wb_pgbench_") as tmp:
        args = [
            "-b",
            "tpcb-like",
            "-c",
            str(clients),
            # pgbench threads are client-side event loops; more threads than the 2 cores we
            # share with the server would only add contention to the reference.
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            # Skip pgbench's VACUUM of its tables so consecutive runs do not pay for it.
            "-n",
            "-l",
            "--log-prefix",
            str(Path(tmp) / "pgb"),
            # -M prepared is deliberately not used: the reference stays the stock, most widely
            # quoted configuration (simple query protocol, parse and plan on every statement),
            # so the ratios we print are comparable with tpcb figures people already know.
        ]
        proc = subprocess.run(
            _pgbench_cmd(target, *args),
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        if proc.returncode != 0:
            # A run with aborted clients has incomplete results; a ratio against it would lie.
            raise RuntimeError(f"pgbench exited with {proc.returncode}: {proc.stderr.strip()}")
        out = proc.stdout
        tps_match = _TPS_RE.search(out)
        processed_match = _PROCESSED_RE.search(out)
        if tps_match is None or processed_match is None:
            raise RuntimeError(f"cannot parse pgbench output:\n{out}")
        failed_match = _FAILED_RE.search(out)
        latencies_us = sorted(_read_pgbench_latencies_us(Path(tmp), "pgb"))

    tps = float(tps_match.group(1))
    transactions = int(processed_match.group(1))
    return LoadResult(
        label=label or "pgbench tpcb-like",
        clients=clients,
        transactions=transactions,
        errors=int(failed_match.group(1)) if failed_match else 0,
        # pgbench reports its measured interval only implicitly, as transactions / tps.
        seconds=transactions / tps if tps > 0 else float(seconds),
        tps=tps,
        p50_ms=percentile(latencies_us, 50) / 1000.0,
        p99_ms=percentile(latencies_us, 99) / 1000.0,
    )


# --------------------------------------------------------------------------------------------
# Generic closed-loop load generator
# --------------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence; ``q`` is in percent (0-100).

    Nearest-rank always returns an observed value, which keeps p99 honest on small samples
    instead of interpolating a latency nobody experienced. Empty input gives NaN.
    """
    if not sorted_values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile out of range: {q}")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


class _LoadState:
    """Mutable state shared by the worker threads of one ``run_load`` call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.start_ns = 0
        self.deadline_ns = 0
        self.error_samples: list[str] = []
        self.setup_error: BaseException | None = None

    def record_error(self, exc: BaseException) -> None:
        text = repr(exc)
        with self.lock:
            if len(self.error_samples) < _MAX_ERROR_SAMPLES and text not in self.error_samples:
                self.error_samples.append(text)


def run_load(
    label: str,
    clients: int,
    seconds: float,
    make_worker: Callable[[int], Callable[[], None]],
    latencies_out: list[int] | None = None,
) -> LoadResult:
    """Closed-loop load: ``clients`` threads each call their worker back-to-back until time is up.

    ``make_worker(i)`` runs inside thread ``i`` before the start barrier, so it can open that
    thread's own connection without the setup being timed. If the returned object also has a
    callable ``close`` attribute it is called when the thread stops, which is how a worker
    releases its connection. An exception from the worker counts as an error and the loop goes
    on; the worker must leave its connection usable (e.g. roll back) when that happens. Only
    successful calls count towards tps and the latency percentiles.
    """
    if clients < 1:
        raise ValueError("clients must be >= 1")
    state = _LoadState()
    duration_ns = int(seconds * 1e9)

    def mark_start() -> None:
        # Runs once, in the last thread to reach the barrier: every worker is ready, so the
        # clock starts when all of them can actually issue requests.
        state.start_ns = time.perf_counter_ns()
        state.deadline_ns = state.start_ns + duration_ns

    barrier = threading.Barrier(clients, action=mark_start)
    latencies: list[list[int]] = [[] for _ in range(clients)]
    errors = [0] * clients
    end_ns = [0] * clients

    def thread_main(index: int) -> None:
        try:
            worker = make_worker(index)
        except BaseException as exc:
            with state.lock:
                if state.setup_error is None:
                    state.setup_error = exc
            # Release the threads already waiting so the run fails fast instead of hanging.
            barrier.abort()
            return
        try:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                return
            own = latencies[index]
            deadline = state.deadline_ns
            now = time.perf_counter_ns()
            while now < deadline:
                before = now
                try:
                    worker()
                except Exception as exc:
                    errors[index] += 1
                    state.record_error(exc)
                    now = time.perf_counter_ns()
                    continue
                now = time.perf_counter_ns()
                own.append(now - before)
            end_ns[index] = now
        finally:
            close: Any = getattr(worker, "close", None)
            if callable(close):
                close()

    threads = [
        threading.Thread(target=thread_main, args=(i,), name=f"load-{label}-{i}", daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if state.setup_error is not None:
        raise RuntimeError(f"worker setup failed in run {label!r}") from state.setup_error

    # The last call of each thread overruns the deadline; measuring up to the latest finish
    # keeps tps consistent with the calls that were actually counted.
    elapsed_s = (max(end_ns) - state.start_ns) / 1e9
    all_latencies = sorted(value for own in latencies for value in own)
    if latencies_out is not None:
        latencies_out.extend(all_latencies)
    ok = len(all_latencies)
    return LoadResult(
        label=label,
        clients=clients,
        transactions=ok,
        errors=sum(errors),
        seconds=elapsed_s,
        tps=ok / elapsed_s if elapsed_s > 0 else 0.0,
        p50_ms=percentile(all_latencies, 50) / 1e6,
        p99_ms=percentile(all_latencies, 99) / 1e6,
        error_samples=tuple(state.error_samples),
    )


def run_load_processes(
    label: str,
    clients: int,
    seconds: float,
    make_worker: Callable[[int], Callable[[], None]],
    processes: int,
    after_fork: Callable[[], None],
) -> LoadResult:
    """``run_load`` with the clients spread over ``processes`` forked processes.

    One Python process is held to one core by the GIL; a service deploys several worker
    processes, and pgbench runs its clients on ``-j`` native threads. Each child calls
    ``after_fork`` (to drop the parent's pooled connections) and runs its share of the clients;
    their latencies are merged, so percentiles cover every call. Worker ``i`` keeps its global
    index, so seeds stay distinct across processes.
    """
    processes = max(1, min(processes, clients))
    if processes == 1:
        return run_load(label, clients, seconds, make_worker)
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes)
    shares = [range(p, clients, processes) for p in range(processes)]
    pipes = []
    children = []
    for share in shares:
        receive, send = context.Pipe(duplex=False)

        def child(share: range = share, send: Any = send) -> None:
            after_fork()
            latencies: list[int] = []
            indices = list(share)
            start.wait()
            result = run_load(
                label, len(indices), seconds, lambda i: make_worker(indices[i]), latencies
            )
            send.send((result, latencies))
            send.close()

        process = context.Process(target=child, daemon=True)
        process.start()
        send.close()
        pipes.append(receive)
        children.append(process)
    parts = [pipe.recv() for pipe in pipes]
    for process in children:
        process.join()
    latencies = sorted(value for _, own in parts for value in own)
    elapsed = max(result.seconds for result, _ in parts)
    samples: list[str] = []
    for result, _ in parts:
        samples += [sample for sample in result.error_samples if sample not in samples]
    return LoadResult(
        label=label,
        clients=clients,
        transactions=len(latencies),
        errors=sum(result.errors for result, _ in parts),
        seconds=elapsed,
        tps=len(latencies) / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(latencies, 50) / 1e6,
        p99_ms=percentile(latencies, 99) / 1e6,
        error_samples=tuple(samples[:5]),
    )


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def _ratio(value: float, reference: float) -> str:
    if reference <= 0 or math.isnan(value) or math.isnan(reference):
        return "—"
    return f"{value / reference:.2f}"


def print_table(results: list[LoadResult], reference: dict[int, LoadResult]) -> None:
    """Print ``results`` with their ratios against the pgbench run at the same client count.

    "× tpcb" above 1 means more throughput than the reference; "p99 × tpcb" above 1 means a
    slower tail. Rows without a reference at their client count show a dash.
    """
    table = Table(title="walletbridge vs pgbench tpcb-like (same server, same run)")
    table.add_column("label")
    for column in ("clients", "tps", "p50 ms", "p99 ms", "errors", "× tpcb", "p99 × tpcb"):
        table.add_column(column, justify="right")
    for result in results:
        ref = reference.get(result.clients)
        table.add_row(
            result.label,
            str(result.clients),
            f"{result.tps:.1f}",
            f"{result.p50_ms:.3f}",
            f"{result.p99_ms:.3f}",
            str(result.errors),
            _ratio(result.tps, ref.tps) if ref else "—",
            _ratio(result.p99_ms, ref.p99_ms) if ref else "—",
        )
    console = Console()
    if not console.is_terminal:
        # Rich assumes 80 columns when writing to a file or pipe, which wraps labels; reports
        # captured in logs are easier to read and diff when every row stays on one line.
        console = Console(width=160)
    console.print(table)
    for result in results:
        for sample in result.error_samples:
            console.print(f"[red]{result.label} ({result.clients} clients):[/red] {sample}")


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------

# With timestamps suppressed a libpq trace line reads "<F|B>\t<length>\t<MessageName>[\t...]".
# Matching the length and name as well skips continuation lines produced by SQL text that
# contains newlines, which libpq copies into the trace verbatim.
_TRACE_LINE_RE = re.compile(r"^([FB])\t\d+\t[A-Za-z]+")


def _count_trace_round_trips(trace: str) -> tuple[int, int, int]:
    """Return (round trips, frontend messages, backend messages) found in a libpq trace."""
    round_trips = frontend = backend = 0
    previous = ""
    for line in trace.splitlines():
        match = _TRACE_LINE_RE.match(line)
        if match is None:
            continue
        direction = match.group(1)
        if direction == "F":
            frontend += 1
        else:
            backend += 1
            # A backend message right after frontend ones means the client sent a batch and
            # then read the answer to it: that is one trip to the server and back.
            if previous == "F":
                round_trips += 1
        previous = direction
    return round_trips, frontend, backend


class RoundTripCounter:
    """Count client/server round trips on one psycopg connection using libpq's PQtrace.

    Usage::

        with RoundTripCounter(conn) as counter:
            do_something(conn)
        counter.round_trips

    libpq logs each frontend (F) message when it is queued and each backend (B) message when
    it is parsed, so every switch from F lines to B lines is one send-then-read cycle. That is
    exact for ordinary queries. In pipeline mode a client may opportunistically read results
    it did not block on, so there the count is an upper bound on real waits; with psycopg
    3.3 the reads observed happen at its syncs (even a 300-statement pipeline counted one
    trip for the batch), so in practice the figure matches the waits.

    The connection must not be used by another thread while counting. Note that psycopg's
    ``trace()`` wraps the file descriptor with fdopen() and ``untrace()`` only flushes it, so
    each counting session leaks one small C FILE struct: use one counter around many
    operations rather than one per operation.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._file: Any = None
        self.round_trips = 0
        self.frontend_messages = 0
        self.backend_messages = 0

    def __enter__(self) -> RoundTripCounter:
        # An anonymous temporary file: nothing to clean up on disk even if the process dies.
        self._file = tempfile.TemporaryFile()
        try:
            self._conn.pgconn.trace(self._file.fileno())
            # Timestamps would only make the lines harder to parse; flags must be set after
            # trace() because PQuntrace resets them.
            self._conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        except BaseException:
            self._file.close()
            self._file = None
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        file = self._file
        self._file = None
        if file is None:
            return
        try:
            # PQuntrace flushes libpq's buffered stream, so the file is complete afterwards.
            self._conn.pgconn.untrace()
            file.seek(0)
            trace = file.read().decode("utf-8", errors="replace")
        finally:
            file.close()
        self.round_trips, self.frontend_messages, self.backend_messages = _count_trace_round_trips(
            trace
        )


def count_round_trips(
    conn: psycopg.Connection[Any],
    op: Callable[[], None],
    repeats: int = 20,
    *,
    warmup: int = 8,
) -> float:
    """Average number of client/server round trips per call of ``op`` on ``conn``.

    ``op`` is first run ``warmup`` times untraced: psycopg prepares a statement server-side on
    its 5th execution (prepare_threshold=5), which costs one extra round trip once, and type
    or catalogue lookups may happen on first use; neither belongs in the steady-state figure.
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        op()
    with RoundTripCounter(conn) as counter:
        for _ in range(repeats):
            op()
    return counter.round_trips / repeats


# --------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------


def _table_identifier(table: str) -> sql.Identifier:
    # "schema.table" is split so each part is quoted separately; names containing dots are not
    # supported, which is fine for our own schema.
    return sql.Identifier(*table.split("."))


def relation_bytes(conn: psycopg.Connection[Any], tables: list[str]) -> int:
    """Total on-disk size (heap, indexes, TOAST, FSM/VM) of ``tables``, in bytes.

    Updated and deleted rows keep occupying space as dead tuples until VACUUM; run
    ``vacuum(conn, tables, full=True)`` first when you want the live footprint.
    """
    if not tables:
        return 0
    # If this query is what opens a transaction, close it again: a size probe should not leave
    # the connection "idle in transaction", which would also make a following vacuum() fail.
    started_here = not conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE
    row = conn.execute(
        "SELECT coalesce(sum(pg_total_relation_size(t)), 0)::bigint"
        " FROM unnest(%s::text[]::regclass[]) AS t",
        (tables,),
    ).fetchone()
    if started_here:
        conn.commit()
    assert row is not None
    return int(row[0])


def vacuum(conn: psycopg.Connection[Any], tables: list[str], *, full: bool = False) -> None:
    """VACUUM ``tables`` on ``conn``, switching it to autocommit for the duration.

    Plain VACUUM makes dead tuples reusable but only gives space back to the filesystem when
    trailing pages become empty, so sizes measured after it still include most of the bloat.
    ``full=True`` rewrites the tables (exclusive lock) and gives the compact size. The
    connection must not be inside a transaction: VACUUM cannot run in one.
    """
    if not tables:
        return
    targets = sql.SQL(", ").join(_table_identifier(t) for t in tables)
    statement = sql.SQL("VACUUM (FULL) {}" if full else "VACUUM {}").format(targets)
    previous = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute(statement)
    finally:
        conn.autocommit = previous


# --------------------------------------------------------------------------------------------
# Self-test of the round-trip counter
# --------------------------------------------------------------------------------------------


def _selftest(admin_url: str = DEFAULT_ADMIN_URL) -> int:
    """Check count_round_trips against cases whose answer is known; return a process status."""
    failures = 0

    def check(label: str, measured: float, expected: float | None) -> None:
        nonlocal failures
        if expected is None:
            print(f"  info  {label}: {measured:.2f} round trips/op")
            return
        ok = math.isclose(measured, expected)
        failures += 0 if ok else 1
        verdict = "ok  " if ok else "FAIL"
        print(f"  {verdict}  {label}: {measured:.2f} round trips/op (expected {expected:.1f})")

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE rt_probe (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO rt_probe VALUES (1, 0)")

        def select_one() -> None:
            conn.execute("select 1")

        check("select 1, autocommit", count_round_trips(conn, select_one), 1)

        def pipelined() -> None:
            # Explicit BEGIN/COMMIT statements are queued like any other command; everything
            # goes out with the single Sync sent when the pipeline block exits.
            with conn.pipeline():
                conn.execute("BEGIN")
                for step in range(3):
                    conn.execute("UPDATE rt_probe SET n = n + %s WHERE id = 1", (step,))
                conn.execute("COMMIT")

        check("pipeline: BEGIN + 3 statements + COMMIT", count_round_trips(conn, pipelined), 1)

        def pipelined_transaction_block() -> None:
            # psycopg nests extra pipelines around conn.transaction() so errors surface at the
            # right place; each nested exit is a Sync and therefore a round trip.
            with conn.pipeline(), conn.transaction():
                for step in range(3):
                    conn.execute("UPDATE rt_probe SET n = n + %s WHERE id = 1", (step,))

        check(
            "pipeline + conn.transaction() + 3 statements",
            count_round_trips(conn, pipelined_transaction_block),
            None,
        )

    with psycopg.connect(admin_url) as conn:
        conn.execute("CREATE TEMP TABLE rt_probe (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO rt_probe VALUES (1, 0)")
        conn.commit()

        def plain_transaction() -> None:
            # Not autocommit: psycopg sends BEGIN on its own before the UPDATE, then COMMIT.
            conn.execute("UPDATE rt_probe SET n = n + 1 WHERE id = 1")
            conn.commit()

        check("BEGIN / UPDATE / COMMIT, no pipeline", count_round_trips(conn, plain_transaction), 3)

        def pipelined_implicit_begin() -> None:
            # Without autocommit psycopg syncs after its implicit BEGIN and after COMMIT.
            with conn.pipeline():
                for step in range(3):
                    conn.execute("UPDATE rt_probe SET n = n + %s WHERE id = 1", (step,))
                conn.commit()

        check(
            "pipeline, non-autocommit, 3 statements + commit()",
            count_round_trips(conn, pipelined_implicit_begin),
            None,
        )

    print("round-trip self-test:", "passed" if failures == 0 else f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(_selftest())
