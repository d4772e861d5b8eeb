"""Fixtures for the stateful tests: each module gets a migrated database of its own, because
``verify()`` and the expiry job see every tenant of a database, and a clock that tests move."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import FakeClock, own_database


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def own_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with own_database(request, request.param, tmp_path_factory.mktemp(name), f"wb_{name}") as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
