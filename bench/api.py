"""API benchmark: P2P transfers through the full production path, against pgbench tpcb-like on the
same PostgreSQL server in the same run.

Usage: .venv/bin/python bench/api.py [--duration 20] [--clients 1,8,32] [--quick]
       [--processes 2] [--payees 200] [--no-batch] [--admin-url URL]

What it does, in order:

1. Creates its own database ``wb_bench_api_<pid>``, migrates it with ``walletbridge migrate``,
   creates a tenant with the default tiers and fee schedule, one tier-3 payer per client (so
   clients never queue on each other's balance row) and ``--payees`` payees, and funds every payer
   from the bank with ``WalletService.fund_wallet``.
2. Starts ``walletbridge serve --workers 2`` (uvicorn) on the database in production mode, with
   its rate limits raised so that the limiter is exercised (every transfer still counts an
   attempt) but never refuses.
3. At each client count: CHECKPOINT, ``pgbench -b tpcb-like`` (scale 10), CHECKPOINT, then the API
   load: every client POSTs ``/api/v1/transfers`` back to back (bearer token, fresh
   Idempotency-Key, 0.01 EUR with the quoted fee, random payee), then the same through
   ``/api/v1/transfers/batch`` with 100 transfers per request. Payers log in again before each
   run, so no session goes idle past the step-up window.
4. Prints transfers/s, p50 and p99 with their ratios against tpcb at the same client count, the
   batch rate against the single-transfer rate, and where the CPU went: the load-generating
   client processes, the two API workers, and PostgreSQL, in percent of one core.

Clients are raw ``http.client`` connections kept alive, one per thread, spread over ``--processes``
forked processes (GIL). On a 2-core machine client, server and database share the cores: the
client CPU column says how much of them the load generator itself took.

Exit status 1 if any transfer failed (errors are bugs, never noise); figures are not asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings
from walletbridge.domain.actors import Role
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.money import Money

sys.path.insert(0, str(Path(__file__).parent))

# bench/ is not a package: the shared helpers are imported from this directory.
import _reference

CURRENCY = "EUR"
AMOUNT = "0.01"
BATCH_SIZE = 100
PASSWORD = "Bench-Password-Correct-Horse-42"
SECRET = "walletbridge-bench-secret-" + secrets.token_hex(16)
FUNDING_MINOR = 50_000_000  # 500,000.00 per payer: tier 3 caps a balance at 1,000,000.00
START_SECONDS = 60.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- CPU accounting ------------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm", "rb") as fh:
                if fh.read().strip() == b"postgres":
                    pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # load processes, once joined
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Cpu:
    wall_s: float = 0.0
    client_s: float = 0.0
    server_s: float = 0.0
    database_s: float = 0.0

    def pct(self, seconds: float) -> str:
        return f"{100 * seconds / self.wall_s:.0f}%" if self.wall_s > 0 else "—"


@contextmanager
def metered(server_pid: int, into: Cpu) -> Iterator[None]:
    """CPU of this process and its children (the client), of the API server's processes, and of
    every PostgreSQL process. Backends come and go (pgbench connects its own), so a sampler
    thread reads their CPU five times a second and keeps each one's last reading. PostgreSQL
    CPU includes whatever else the server runs at the time: on a shared machine, other load."""
    server_pids = [server_pid, *children_of(server_pid)]
    baseline = {p: process_cpu_seconds(p) for p in postgres_pids()}
    last = dict(baseline)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            for pid in postgres_pids():
                cpu = process_cpu_seconds(pid)
                if cpu > 0:
                    last[pid] = cpu

    sampler = threading.Thread(target=sample, daemon=True)
    server0 = sum(process_cpu_seconds(p) for p in server_pids)
    client0, wall0 = own_cpu_seconds(), time.perf_counter()
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()
    into.wall_s = time.perf_counter() - wall0
    into.client_s = own_cpu_seconds() - client0
    into.server_s = sum(process_cpu_seconds(p) for p in server_pids) - server0
    for pid in postgres_pids():
        last[pid] = process_cpu_seconds(pid) or last.get(pid, 0.0)
    into.database_s = sum(cpu - baseline.get(pid, 0.0) for pid, cpu in last.items())


# -- set-up --------------------------------------------------------------------------------------


@dataclass
class Setup:
    url: str
    host: str
    port: int
    tenant_id: str
    payers: list[str]
    """Handles of the payers, one per client."""
    payees: list[str]
    fee: str = "0.00"
    tokens: list[str] = field(default_factory=list)


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def server_env(database_url: str, var_dir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WALLETBRIDGE_")}
    return base | {
        "WALLETBRIDGE_ENVIRONMENT": "production",
        "WALLETBRIDGE_SECRET_KEY": SECRET,
        "WALLETBRIDGE_DATABASE_URL": database_url,
        "WALLETBRIDGE_VAR_DIR": str(var_dir),
        "WALLETBRIDGE_DATABASE_POOL_SIZE": "20",
        "WALLETBRIDGE_RATE_LOGIN_PER_5_MINUTES": "100000000",
        "WALLETBRIDGE_RATE_OTP_SENDS_PER_10_MINUTES": "100000000",
        "WALLETBRIDGE_RATE_TRANSFERS_PER_MINUTE": "100000000",
        "WALLETBRIDGE_RATE_PAYEES_PER_HOUR": "100000000",
    }


def populate(
    container: Container, payer_count: int, payee_count: int
) -> tuple[str, list[str], list[str]]:
    """A tenant, tier-3 funded payers and tier-1 payees; returns (tenant, payers, payees)."""
    from walletbridge.domain.wallets import default_configuration

    tenant_id = f"bench-{secrets.token_hex(4)}"
    container.tenants.create(tenant_id, "Bench bank", CURRENCY)
    currency = container.currencies.get(CURRENCY)
    container.wallets.configure_tenant(TenantId(tenant_id), default_configuration(currency))
    tenant = TenantId(tenant_id)

    def create(index: int) -> str:
        is_payer = index < payer_count
        handle = f"{'payer' if is_payer else 'payee'}{index}{secrets.token_hex(2)}"
        user = container.identity.register_verified(
            tenant,
            handle=handle,
            display_name=handle,
            password=PASSWORD,
            role=Role.CUSTOMER,
            kyc_tier=3 if is_payer else 1,
        )
        if is_payer:
            funding = Money(FUNDING_MINOR, currency)
            container.wallets.fund_wallet(tenant, user.user_id, funding, f"fund-{handle}")
        return handle

    # Password hashing is most of the cost and runs outside the GIL: a few threads share it.
    with ThreadPoolExecutor(max_workers=4) as pool:
        handles = list(pool.map(create, range(payer_count + payee_count)))
    return tenant_id, handles[:payer_count], handles[payer_count:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(env: dict[str, str], var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``walletbridge serve --workers 2``; returns once both workers have started."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = var_dir / "server.log"
    command = [sys.executable, "-m", "walletbridge.entrypoints.cli", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-3000:]}")
        started = log.read_text(errors="replace").count("Application startup complete")
        try:
            ready = httpx.get(f"{url}/ready", timeout=1.0).status_code == 200
        except httpx.TransportError:
            ready = False
        if ready and started >= 2:
            return server, url
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"the server did not get ready:\n{log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def log_in_all(setup: Setup) -> None:
    """Fresh sessions for every payer: a session idle past the step-up window cannot pay."""
    tokens = []
    with httpx.Client(base_url=setup.url, headers={"X-Tenant-ID": setup.tenant_id}) as http:
        for handle in setup.payers:
            response = http.post("/api/v1/auth/login", json={"login": handle, "password": PASSWORD})
            response.raise_for_status()
            token = response.json()["token"]
            tokens.append(token["access_token"] if isinstance(token, dict) else token)
    setup.tokens = tokens


def quoted_fee(setup: Setup) -> str:
    body = {"to": {"handle": setup.payees[0]}, "amount": {"amount": AMOUNT, "currency": CURRENCY}}
    headers = {"X-Tenant-ID": setup.tenant_id, "Authorization": f"Bearer {setup.tokens[0]}"}
    response = httpx.post(f"{setup.url}/api/v1/transfers/quotes", json=body, headers=headers)
    response.raise_for_status()
    return str(response.json()["fee"]["amount"])


# -- load ----------------------------------------------------------------------------------------


class TransferClient:
    """One client: a kept-alive connection, one payer's token, a private random stream."""

    def __init__(self, setup: Setup, index: int, batch: bool) -> None:
        self.connection = http.client.HTTPConnection(setup.host, setup.port, timeout=60)
        self.rng = random.Random(index)
        self.payees = setup.payees
        self.path = "/api/v1/transfers/batch" if batch else "/api/v1/transfers"
        self.batch = batch
        self.headers = {
            "Authorization": f"Bearer {setup.tokens[index % len(setup.tokens)]}",
            "X-Tenant-ID": setup.tenant_id,
            "Content-Type": "application/json",
        }
        self.amount = {"amount": AMOUNT, "currency": CURRENCY}
        self.fee = {"amount": setup.fee, "currency": CURRENCY}

    def item(self) -> dict[str, Any]:
        payee = self.payees[self.rng.randrange(len(self.payees))]
        return {"to": {"handle": payee}, "amount": self.amount, "fee": self.fee}

    def __call__(self) -> None:
        if self.batch:
            body: Any = {"items": [self.item() for _ in range(BATCH_SIZE)]}
        else:
            body = self.item()
        headers = self.headers | {"Idempotency-Key": uuid.uuid4().hex}
        try:
            self.connection.request("POST", self.path, json.dumps(body).encode(), headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the next call reconnects
            raise
        if response.status != 201:
            raise RuntimeError(f"{response.status} {data[:300]!r}")

    def close(self) -> None:
        self.connection.close()


def api_run(
    setup: Setup, label: str, clients: int, seconds: float, processes: int, batch: bool
) -> _reference.LoadResult:
    def make_worker(index: int) -> Callable[[], None]:
        return TransferClient(setup, index, batch)

    return _reference.run_load_processes(
        label, clients, seconds, make_worker, processes, after_fork=lambda: None
    )


def as_transfers(result: _reference.LoadResult) -> _reference.LoadResult:
    """A batch run counted in transfers per second (latencies stay per request)."""
    return _reference.LoadResult(
        label=result.label,
        clients=result.clients,
        transactions=result.transactions * BATCH_SIZE,
        errors=result.errors,
        seconds=result.seconds,
        tps=result.tps * BATCH_SIZE,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        error_samples=result.error_samples,
    )


def checkpoint(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated client counts")
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 s runs, 50 payees")
    parser.add_argument(
        "--processes", type=int, default=2, help="client processes the threads are spread over"
    )
    parser.add_argument("--payees", type=int, default=200, help="distinct payees")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch endpoint runs")
    parser.add_argument("--admin-url", default=_reference.DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 4.0
        args.payees = min(args.payees, 50)
    args.client_counts = sorted({int(c) for c in args.clients.split(",") if c.strip()})
    if not args.client_counts or min(args.client_counts) < 1:
        parser.error("--clients needs positive integers")
    return args


@dataclass
class Report:
    results: list[_reference.LoadResult] = field(default_factory=list)
    reference: dict[int, _reference.LoadResult] = field(default_factory=dict)
    cpu: dict[str, Cpu] = field(default_factory=dict)

    def add(self, result: _reference.LoadResult, cpu: Cpu) -> None:
        self.results.append(result)
        self.cpu[f"{result.label}@{result.clients}"] = cpu

    def find(self, label: str, clients: int) -> _reference.LoadResult | None:
        return next((r for r in self.results if r.label == label and r.clients == clients), None)

    def print(self) -> None:
        _reference.print_table(self.results, self.reference)
        print(
            "\nCPU during each run (percent of one core; the machine has", os.cpu_count(), "cores)"
        )
        print(f"  {'run':<28} {'clients':>7} {'client':>7} {'api':>7} {'postgres':>9}")
        for result in self.results:
            cpu = self.cpu.get(f"{result.label}@{result.clients}")
            if cpu is None:
                continue
            print(
                f"  {result.label:<28} {result.clients:>7} {cpu.pct(cpu.client_s):>7} "
                f"{cpu.pct(cpu.server_s):>7} {cpu.pct(cpu.database_s):>9}"
            )
        print("\nRatios")
        for clients in sorted(self.reference):
            single = self.find("api transfer", clients)
            batch = self.find(f"api batch x{BATCH_SIZE}", clients)
            tpcb = self.reference[clients]
            if single is not None and tpcb.tps > 0:
                print(
                    f"  {clients:>3} clients: transfers/s {single.tps:8.1f} = "
                    f"{single.tps / tpcb.tps:.2f} x tpcb; p99 {single.p99_ms:.1f} ms = "
                    f"{single.p99_ms / tpcb.p99_ms:.2f} x tpcb p99"
                )
            if single is not None and batch is not None and single.tps > 0:
                print(
                    f"  {clients:>3} clients: batch transfers/s {batch.tps:8.1f} = "
                    f"{batch.tps / single.tps:.1f} x single-transfer rate"
                )

    def errors(self) -> int:
        return sum(r.errors for r in self.results if not r.label.startswith("pgbench"))


def run_all(args: argparse.Namespace, setup: Setup, server_pid: int, pgbench_url: str) -> Report:
    report = Report()
    for clients in args.client_counts:
        checkpoint(args.admin_url)
        cpu = Cpu()
        with metered(server_pid, cpu):
            tpcb = _reference.pgbench_run(pgbench_url, clients, max(1, int(args.duration)))
        report.reference[clients] = tpcb
        report.add(tpcb, cpu)
        runs = [("api transfer", False)]
        if not args.no_batch:
            runs.append((f"api batch x{BATCH_SIZE}", True))
        for label, batch in runs:
            log_in_all(setup)
            checkpoint(args.admin_url)
            cpu = Cpu()
            with metered(server_pid, cpu):
                result = api_run(setup, label, clients, args.duration, args.processes, batch)
            report.add(as_transfers(result) if batch else result, cpu)
            print(
                f"  {label} at {clients} clients: {report.results[-1].tps:.1f} transfers/s, "
                f"{result.errors} errors",
                flush=True,
            )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pid = os.getpid()
    db_name = f"wb_bench_api_{pid}"
    pgbench_name = f"wb_bench_api_pgbench_{pid}"
    var_dir = Path(tempfile.mkdtemp(prefix="wb_bench_api_"))
    server: subprocess.Popen[bytes] | None = None
    container: Container | None = None
    try:
        started = time.perf_counter()
        database_url = sqlalchemy_url(_reference.create_database(args.admin_url, db_name))
        env = server_env(database_url, var_dir)
        subprocess.run(
            [sys.executable, "-m", "walletbridge.entrypoints.cli", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        settings = Settings(
            environment=Environment.PRODUCTION,
            database_url=database_url,
            var_dir=var_dir,
            secret_key=SECRET,  # type: ignore[arg-type]
        )
        container = build(settings)
        payer_count = max(args.client_counts)
        tenant_id, payers, payees = populate(container, payer_count, args.payees)
        print(
            f"set-up: {payer_count} payers, {len(payees)} payees "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        pgbench_url = _reference.pgbench_init(args.admin_url, scale=10, name=pgbench_name)
        server, url = start_server(env, var_dir)
        port = int(url.rsplit(":", 1)[1])
        setup = Setup(url, "127.0.0.1", port, tenant_id, payers, payees)
        log_in_all(setup)
        setup.fee = quoted_fee(setup)
        print(f"server up at {url}; fee for {AMOUNT} {CURRENCY} is {setup.fee}", flush=True)
        report = run_all(args, setup, server.pid, pgbench_url)
        report.print()
        return 1 if report.errors() else 0
    finally:
        if server is not None:
            stop_server(server)
        if container is not None:
            container.close()
        _reference.drop_database(args.admin_url, db_name)
        _reference.drop_database(args.admin_url, pgbench_name)


if __name__ == "__main__":
    raise SystemExit(main())
