"""``walletbridge run``: one command starts the API and the worker, and one signal stops both."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.processes import free_port, start_run, stop

START_SECONDS = 60.0


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by its adopter) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize(
    ("stop_signal", "exit_code"),
    [(signal.SIGINT, 0), (signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
def test_run_serves_and_stops_with_its_worker(
    tmp_path: Path, stop_signal: signal.Signals, exit_code: int
) -> None:
    port = free_port()
    env = os.environ | {"WALLETBRIDGE_VAR_DIR": str(tmp_path), "WALLETBRIDGE_ENVIRONMENT": "test"}
    env.pop("WALLETBRIDGE_DATABASE_URL", None)
    log = tmp_path / "run.log"
    server = start_run(port, env, log, START_SECONDS)
    try:
        output = log.read_text()
        assert f"listening on http://127.0.0.1:{port}" in output
        assert "cny-bank" in output
        assert "eur-bank" in output
        match = re.search(r"worker pid (\d+)", output)
        assert match is not None
        worker = int(match.group(1))
        assert alive(worker)

        server.send_signal(stop_signal)

        assert server.wait(timeout=30) == exit_code
        # Killed outright, run cannot stop its worker: the worker notices and stops itself.
        assert gone_within(worker, 15)
        if stop_signal is not signal.SIGKILL:
            assert "walletbridge stopped" in log.read_text()
    finally:
        stop(server)
