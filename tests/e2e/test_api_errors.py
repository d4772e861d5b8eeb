"""Failures of the API in-process (Litestar's test client): what a client sees when the server
breaks or is not ready."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings
from walletbridge.entrypoints.api.app import create_app
from walletbridge.services.demo import seed_demo


def container_on(tmp_path: Path) -> Container:
    url = f"sqlite:///{tmp_path / 'walletbridge.sqlite3'}"
    return build(Settings(environment=Environment.TEST, database_url=url, var_dir=tmp_path))


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Container]:
    container = container_on(tmp_path)
    upgrade(container.engine)
    seed_demo(container)
    yield container
    container.close()


def test_a_server_error_reveals_nothing(seeded: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("password=hunter2 in /srv/secret.py")

    monkeypatch.setattr(seeded.ledger, "balances", broken)
    with TestClient(create_app(seeded)) as client:
        response = client.get("/api/v1/demo/ledger")

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["X-Request-ID"]
    assert response.json()["code"] == "internal-error"
    assert "hunter2" not in response.text
    assert "secret" not in response.text


def test_not_ready_until_migrated(tmp_path: Path) -> None:
    container = container_on(tmp_path)
    with TestClient(create_app(container)) as client:
        before = client.get("/ready")
        upgrade(container.engine)
        after = client.get("/ready")

    assert before.status_code == 503
    assert before.json()["code"] == "not-ready"
    assert "walletbridge migrate" in before.json()["detail"]
    assert after.status_code == 200


def test_demo_ledger_before_seeding_is_a_404_problem(tmp_path: Path) -> None:
    container = container_on(tmp_path)
    upgrade(container.engine)
    with TestClient(create_app(container)) as client:
        response = client.get("/api/v1/demo/ledger")

    assert response.status_code == 404
    assert response.json()["code"] == "demo-not-found"
