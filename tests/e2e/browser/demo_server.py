"""The demo as a person meets it, for the browser tests and ``make screenshots``: ``walletbridge
run`` (migrate, seed the two demo banks, serve web and API, run the worker) on a fresh SQLite
file and a free port, plus a container on the same database for what only the bank could do in
a test (fund a wallet, as a top-up would).

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright never
downloads a browser. Chromium resolves every ``*.localhost`` name to loopback by itself, so the
demo banks' own addresses (``lotus.localhost``, ``harbour.localhost``) work with no DNS set-up.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.processes import free_port, start_run, stop
from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings

CHROMIUM = os.environ.get("WALLETBRIDGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
START_SECONDS = 90.0
GENEROUS_LIMITS = {
    "WALLETBRIDGE_RATE_LOGIN_PER_5_MINUTES": "100000",
    "WALLETBRIDGE_RATE_OTP_SENDS_PER_10_MINUTES": "100000",
    "WALLETBRIDGE_RATE_TRANSFERS_PER_MINUTE": "100000",
    "WALLETBRIDGE_RATE_PAYEES_PER_HOUR": "100000",
}


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


@dataclass
class DemoServer:
    port: int
    var_dir: Path
    log_path: Path
    container: Container

    def url(self, bank: str | None = None, path: str = "/") -> str:
        host = f"{bank}.localhost" if bank else "127.0.0.1"
        return f"http://{host}:{self.port}{path}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def demo_server(var_dir: Path, *, environment: str = "development") -> Iterator[DemoServer]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETBRIDGE_")}
    env |= GENEROUS_LIMITS | {
        "WALLETBRIDGE_VAR_DIR": str(var_dir),
        "WALLETBRIDGE_ENVIRONMENT": environment,
        "WALLETBRIDGE_OUTBOX_INTERVAL_SECONDS": "1",
    }
    log = var_dir / "run.log"
    process = start_run(port, env, log, START_SECONDS)
    try:
        settings = Settings(environment=Environment(environment), var_dir=var_dir)
        container = build(settings)
        try:
            yield DemoServer(port, var_dir, log, container)
        finally:
            container.close()
    finally:
        stop(process)
