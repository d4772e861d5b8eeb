"""``walletbridge run``: one command starts the API and the worker, and one signal stops both."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.processes import answers, free_port, stop, wait_for

START_SECONDS = 60.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_run_serves_and_stops_with_its_worker(tmp_path: Path, stop_signal: signal.Signals) -> None:
    port = free_port()
    env = os.environ | {"WALLETBRIDGE_VAR_DIR": str(tmp_path), "WALLETBRIDGE_ENVIRONMENT": "test"}
    env.pop("WALLETBRIDGE_DATABASE_URL", None)
    log = tmp_path / "run.log"
    command = [sys.executable, "-m", "walletbridge.entrypoints.cli", "run", "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/ready"), server, log, START_SECONDS)
        output = log.read_text()
        assert f"listening on http://127.0.0.1:{port}" in output
        assert "cny-bank" in output
        assert "eur-bank" in output
        match = re.search(r"worker pid (\d+)", output)
        assert match is not None
        worker = int(match.group(1))
        assert alive(worker)

        server.send_signal(stop_signal)

        assert server.wait(timeout=30) == 0
        assert not alive(worker)
        assert "walletbridge stopped" in log.read_text()
    finally:
        stop(server)
