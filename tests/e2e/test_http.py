"""The HTTP API over a real socket: uvicorn in a subprocess on a migrated, seeded SQLite file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import answers, free_port, stop, wait_for
from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import build
from walletbridge.config import Environment, Settings
from walletbridge.entrypoints.api import APP_FACTORY
from walletbridge.services.demo import seed_demo

DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
PROBLEM_JSON = "application/problem+json"
NOBODY = uuid.UUID("00000000-0000-4000-8000-000000000000")
START_SECONDS = 30.0


def seeded_database(var_dir: Path) -> str:
    url = f"sqlite:///{var_dir / 'walletbridge.sqlite3'}"
    container = build(Settings(environment=Environment.TEST, database_url=url, var_dir=var_dir))
    try:
        upgrade(container.engine)
        seed_demo(container)
    finally:
        container.close()
    return url


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp("http")
    env = os.environ | {
        "WALLETBRIDGE_DATABASE_URL": seeded_database(var_dir),
        "WALLETBRIDGE_VAR_DIR": str(var_dir),
        "WALLETBRIDGE_ENVIRONMENT": "test",
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = var_dir / "server.log"
    command = [sys.executable, "-m", "uvicorn", "--factory", APP_FACTORY]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(f"{url}/health"), server, log, START_SECONDS)
        yield url
    finally:
        stop(server)


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        yield client


def floats_in(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for item in value.values() for f in floats_in(item)]
    if isinstance(value, list):
        return [f for item in value for f in floats_in(item)]
    return []


def amounts_in(value: Any) -> list[dict[str, str]]:
    """Every {"amount": ..., "currency": ...} object in a JSON document."""
    if isinstance(value, dict):
        own = [value] if set(value) == {"amount", "currency"} else []
        return own + [a for item in value.values() for a in amounts_in(item)]
    if isinstance(value, list):
        return [a for item in value for a in amounts_in(item)]
    return []


def account(http: httpx.Client, tenant_id: str, code: str) -> str:
    tenants = {t["id"]: t for t in http.get("/api/v1/demo/ledger").json()["tenants"]}
    return next(a["id"] for a in tenants[tenant_id]["accounts"] if a["code"] == code)


def history_path(http: httpx.Client, tenant_id: str, code: str) -> str:
    return f"/api/v1/demo/ledger/{tenant_id}/accounts/{account(http, tenant_id, code)}/history"


def test_health_and_ready(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    ready = http.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_every_response_has_a_request_id(http: httpx.Client) -> None:
    for path in ("/health", "/api/v1/demo/ledger", "/no/such/path"):
        assert uuid.UUID(http.get(path).headers["X-Request-ID"]).version == 4
    assert http.get("/health", headers={"X-Request-ID": "trace-42"}).headers["X-Request-ID"] == (
        "trace-42"
    )
    odd = http.get("/health", headers={"X-Request-ID": "x" * 500}).headers["X-Request-ID"]
    assert uuid.UUID(odd).version == 4


def test_metrics_count_requests_by_route(http: httpx.Client) -> None:
    http.get("/health")

    text = http.get("/metrics").text

    assert 'walletbridge_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "walletbridge_http_request_duration_seconds_bucket" in text


def test_demo_ledger_amounts_are_decimal_strings(http: httpx.Client) -> None:
    response = http.get("/api/v1/demo/ledger")

    assert response.status_code == 200
    body = response.json()
    assert [t["id"] for t in body["tenants"]] == ["cny-bank", "eur-bank"]
    assert floats_in(body) == []
    amounts = amounts_in(body)
    assert len(amounts) == 2 * 5 * 3
    assert all(DECIMAL.match(a["amount"]) for a in amounts)
    carol = next(a for a in body["tenants"][1]["accounts"] if a["code"] == "wallet:carol:EUR")
    assert carol["balances"]["pending"] == {"amount": "15.00", "currency": "EUR"}
    assert body["latest_seal"]["number"] >= 1
    assert re.fullmatch(r"[0-9a-f]{64}", body["latest_seal"]["hash"])


def test_history_pages_follow_the_cursor(http: httpx.Client) -> None:
    path = history_path(http, "eur-bank", "wallet:alice:EUR")
    whole = http.get(path).json()
    seen: list[str] = []
    cursor: str | None = None

    for _ in range(10):
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = http.get(path, params=params).json()
        seen += [p["entry_id"] for p in page["postings"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 4
    assert seen == [p["entry_id"] for p in whole["postings"]]
    assert whole["next_cursor"] is None
    assert all(DECIMAL.match(p["amount"]["amount"]) for p in whole["postings"])


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (f"/api/v1/demo/ledger/eur-bank/accounts/{NOBODY}/history", "account-not-found"),
        (f"/api/v1/demo/ledger/no-bank/accounts/{NOBODY}/history", "tenant-not-found"),
    ],
)
def test_unknown_ids_are_404_problems(http: httpx.Client, path: str, code: str) -> None:
    response = http.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == 404
    assert {"type", "title", "detail"} <= problem.keys()


def test_an_account_of_another_tenant_is_not_found(http: httpx.Client) -> None:
    cny_wallet = account(http, "cny-bank", "wallet:alice:CNY")

    response = http.get(f"/api/v1/demo/ledger/eur-bank/accounts/{cny_wallet}/history")

    assert response.status_code == 404
    assert response.json()["code"] == "account-not-found"


def test_bad_parameters_are_problems(http: httpx.Client) -> None:
    path = history_path(http, "eur-bank", "fees:EUR")

    too_big = http.get(path, params={"limit": 10_000})
    bad_cursor = http.get(path, params={"cursor": "not-a-cursor"})

    assert too_big.status_code == 400
    assert too_big.json()["code"] == "request-invalid"
    assert bad_cursor.status_code == 422
    assert bad_cursor.headers["content-type"].startswith(PROBLEM_JSON)
    assert bad_cursor.json()["code"] == "entry-invalid"


def test_openapi_schema(http: httpx.Client) -> None:
    assert http.get("/api/schema").status_code == 200

    schema = http.get("/api/schema/openapi.json").json()

    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/demo/ledger" in schema["paths"]
