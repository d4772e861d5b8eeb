"""The ``walletbridge`` command. Every command takes its database from the settings
(``WALLETBRIDGE_DATABASE_URL``, default SQLite under ``WALLETBRIDGE_VAR_DIR``)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from walletbridge.adapters.currencies import lookup_currency
from walletbridge.bootstrap import Container
from walletbridge.config import Settings
from walletbridge.domain.money import Money, format_amount
from walletbridge.entrypoints.api import APP_FACTORY
from walletbridge.entrypoints.cli.common import (
    EXIT_FINDINGS,
    console,
    fail,
    load_settings,
    open_container,
)
from walletbridge.entrypoints.cli.ledger import ledger_app
from walletbridge.services.demo import DemoLedger, seed_demo
from walletbridge.services.demo_people import PeopleServices, SeededPerson, seed_people

app = typer.Typer(
    name="walletbridge",
    help="walletbridge: a digital wallet platform wired into the banking system.",
    no_args_is_help=True,
    add_completion=False,
    # Locals in a traceback would print settings (secrets) and data; never show them.
    pretty_exceptions_show_locals=False,
)
app.add_typer(ledger_app, name="ledger")

WORKER_STOP_SECONDS = 10.0
"""How long a stopping worker may finish its running jobs before it is interrupted."""

HostOption = Annotated[str | None, typer.Option(help="Interface to bind [settings: host].")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on [settings: port].")]


# -- database -----------------------------------------------------------------------------------


def upgrade(container: Container) -> None:
    # Alembic is imported only by the commands that migrate: it is a second of start-up time.
    from walletbridge.adapters.db.migrate import upgrade as alembic_upgrade

    alembic_upgrade(container.engine)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision."""
    with open_container() as container:
        upgrade(container)
        where = container.engine.url.render_as_string(hide_password=True)
    typer.echo(f"database at the newest revision: {where}")


@app.command()
def demo() -> None:
    """Migrate, create the demo banks and wallets (once: running it again changes nothing)
    and show their balances."""
    with open_container() as container:
        upgrade(container)
        seeded = seed_demo(container)
        people = seed_all_people(container)
        console.print(demo_table(container, seeded))
        console.print(people_table(people))


def seed_all_people(container: Container) -> list[SeededPerson]:
    """The demo's people and their payments, then a seal over them: the demo ends sealed."""
    people = seed_people(
        PeopleServices(
            container.runner, container.identity, container.wallets, container.currencies
        )
    )
    container.integrity.seal()
    return people


def people_table(people: list[SeededPerson]) -> Table:
    """The demo sign-ins. The passwords are the demo's own, listed in the README too."""
    table = Table(title="Demo sign-ins (X-Tenant-ID, handle, password)", box=box.SIMPLE_HEAD)
    for column in ("Tenant", "Handle", "Role", "Password"):
        table.add_column(column, no_wrap=True)
    for person in people:
        table.add_row(
            person.tenant_id,
            person.person.handle,
            person.person.role.value,
            person.password,
        )
    return table


def demo_table(container: Container, seeded: DemoLedger) -> Table:
    table = Table(title="Demo ledger", box=box.SIMPLE_HEAD)
    for column in ("Tenant", "Account", "Kind", "Cur"):
        table.add_column(column, no_wrap=True)
    for column in ("Posted", "Pending", "Available"):
        table.add_column(column, justify="right", no_wrap=True)
    for bank in seeded.tenants:
        accounts = bank.accounts
        balances = container.ledger.balances(bank.tenant.id, [a.id for a in accounts])
        for account, balance in zip(accounts, balances, strict=True):
            currency = lookup_currency(balance.currency)
            amounts = (balance.posted_minor, balance.pending_minor, balance.available_minor)
            shown = [format_amount(Money(amount, currency)) for amount in amounts]
            code = account.code or str(account.id)
            table.add_row(bank.tenant.id, code, account.kind, currency.code, *shown)
    return table


@app.command()
def mailbox(
    to: Annotated[str, typer.Argument(help="An email address or an E.164 phone number.")],
    latest: Annotated[int, typer.Option(help="How many messages to show.")] = 5,
) -> None:
    """Show the development mailbox: mail and SMS the worker delivered to TO, newest first
    (verification codes, reset links, alerts). Empty when mail goes out by SMTP."""
    with open_container() as container:
        notes = container.notifications
        found = [(m.created_at_us, m.subject, m.body) for m in notes.mailbox(to)]
        found += [(m.created_at_us, "SMS", m.text) for m in notes.sms_outbox(to)]
    if not found:
        typer.echo(f"nothing delivered to {to} yet (the worker delivers within seconds)")
        return
    for _, subject, body in sorted(found, reverse=True)[:latest]:
        console.print(f"[bold]{subject}[/bold]\n{body}\n")


# -- processes ----------------------------------------------------------------------------------


@app.command()
def serve(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int | None, typer.Option(help="Web worker processes [settings: web_workers].")
    ] = None,
) -> None:
    """Serve the HTTP API (uvicorn)."""
    settings = load_settings()
    run_uvicorn(settings, host or settings.host, port or settings.port, workers)


def run_uvicorn(settings: Settings, host: str, port: int, workers: int | None = None) -> None:
    import uvicorn  # only the commands that serve pay for importing it

    from walletbridge.entrypoints.api.server import HTTP_PROTOCOL

    uvicorn.run(
        APP_FACTORY,
        factory=True,
        http=HTTP_PROTOCOL,
        host=host,
        port=port,
        workers=workers or settings.web_workers,
        # The app writes its own access log, one line per request and without client data.
        access_log=False,
        # A worker builds the whole app before it answers the supervisor's health check; on a
        # loaded machine that can take longer than uvicorn's 5 s, and the worker is killed.
        timeout_worker_healthcheck=60,
        # Live activity feeds (server-sent events) stay open; on Ctrl-C they are cut after a
        # moment rather than waited for, and browsers reconnect to the next server.
        timeout_graceful_shutdown=3,
    )


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=32, help="Worker threads.")] = 2,
    parent_pid: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the background jobs: hold expiry and ledger sealing (huey consumer).

    SIGTERM stops gracefully (running jobs finish), as service managers expect; SIGINT
    (Ctrl-C) stops at once."""
    load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Imported here: the tasks module builds its queue from the settings when it is imported.
    from walletbridge.entrypoints.workers import tasks

    if parent_pid is not None:
        watch_parent(parent_pid)
    # flush_locks: a lock left by a worker that was killed mid-job would block that job forever.
    # graceful_signal TERM: a SIGTERM that arrives while we are still importing simply ends
    # the process (nothing runs yet), where a SIGINT could be ignored and lost.
    consumer = tasks.huey.create_consumer(
        workers=threads, periodic=True, flush_locks=True, graceful_signal="TERM"
    )
    try:
        consumer.run()
    finally:
        tasks.close()


def watch_parent(parent: int) -> None:
    """Stop gracefully once the process that started us is gone, even if it was killed without
    the chance to stop us. Its pid comes from the command line: read here, after our slow
    start, it could already be that of whoever adopted us."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@app.command()
def run(host: HostOption = None, port: PortOption = None) -> None:
    """Migrate, seed the demo, then serve the API and run the worker until Ctrl-C."""
    settings = load_settings()
    host, port = host or settings.host, port or settings.port
    ensure_can_listen(host, port)
    with open_container(settings) as container:
        upgrade(container)
        seeded = seed_demo(container)
        people = seed_all_people(container)
        console.print(demo_table(container, seeded))
        console.print(people_table(people))
    background = start_worker()
    console.print(f"walletbridge listening on http://{host}:{port}  (OpenAPI: /api/schema)")
    console.print(f"web app: http://{host}:{port}/ (choose a bank), or each bank at its own")
    console.print(f"  address: http://lotus.localhost:{port}/  http://harbour.localhost:{port}/")
    console.print(f"development mailbox: http://{host}:{port}/dev/mailbox")
    console.print(f"demo ledger: http://{host}:{port}/api/v1/demo/ledger")
    console.print(f"worker pid {background.pid}; press Ctrl-C to stop")
    serve_until_stopped(settings, host, port, background)


def ensure_can_listen(host: str, port: int) -> None:
    """Fail before starting anything, rather than start a worker only to stop it at once."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise fail(f"cannot listen on {host}:{port}: {reason}", EXIT_FINDINGS) from None


def start_worker() -> subprocess.Popen[bytes]:
    """The worker in a process of its own, in its own session: the terminal's Ctrl-C reaches
    only us, and we stop the worker ourselves, once, in order."""
    command = [sys.executable, "-m", "walletbridge.entrypoints.cli", "worker"]
    command += ["--parent-pid", str(os.getpid())]
    return subprocess.Popen(command, start_new_session=True)  # noqa: S603 - our own argv


class StopRequested(Exception):
    """SIGTERM or SIGHUP: stop like Ctrl-C."""


def _request_stop(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def serve_until_stopped(
    settings: Settings, host: str, port: int, background: subprocess.Popen[bytes]
) -> None:
    # uvicorn handles SIGINT/SIGTERM while it runs, then raises the signal again once it has
    # shut down; without these handlers a SIGTERM would then kill us before the worker stops.
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        run_uvicorn(settings, host, port, workers=1)
    except (KeyboardInterrupt, StopRequested):
        pass
    finally:
        stop_worker(background)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("walletbridge stopped")


def stop_worker(background: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets running jobs finish; SIGINT interrupts them; SIGKILL if even that fails."""
    steps = ((signal.SIGTERM, WORKER_STOP_SECONDS), (signal.SIGINT, 5.0), (signal.SIGKILL, 5.0))
    for sig, wait_seconds in steps:
        if background.poll() is not None:
            return
        background.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            background.wait(timeout=wait_seconds)
