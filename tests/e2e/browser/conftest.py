"""Browser tests: pytest-playwright driving Debian's Chromium against the running demo.

One demo server per test process (pytest-xdist worker). The launch arguments point Playwright at
the system Chromium; a test context records every Content-Security-Policy violation and console
error so a test can assert there were none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser.demo_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DemoServer,
    chromium_available,
    demo_server,
)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not chromium_available():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (.ci/run installs Debian's)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "locale": "en-GB", "timezone_id": "UTC"}
