"""Helpers for tests that start walletbridge as a real process and talk to it over loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(
    check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, seconds: float
) -> None:
    """Poll ``check`` until it holds; fail with the process's log if it exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the process exited with {process.returncode}:\n{log.read_text()}")
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"no answer within {seconds} s:\n{log.read_text()}")


def start_run(
    port: int, env: Mapping[str, str], log: Path, seconds: float
) -> subprocess.Popen[bytes]:
    """``walletbridge run`` on ``port`` with ``env``, its output in ``log``, once ``/ready``
    answers; stopped again (and the test failed with the log) if it exits or does not answer
    within ``seconds``."""
    command = [sys.executable, "-m", "walletbridge.entrypoints.cli", "run", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/ready"), process, log, seconds)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
