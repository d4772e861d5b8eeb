"""Shared fixtures: a migrated SQLite file and a PostgreSQL database per test session.

PostgreSQL comes from ``WALLETBRIDGE_TEST_POSTGRES_URL`` (default: the local server). Each session
creates its own database and drops it at the end. When the server cannot be reached the
PostgreSQL tests are skipped, unless ``WALLETBRIDGE_REQUIRE_POSTGRES=1`` (CI), where that fails.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from walletbridge.adapters.db.engine import make_engine
from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings
from walletbridge.domain.ledger import AccountKind, NewAccount, TenantId

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENGINES = ["sqlite", "postgres"]


BROWSER_TESTS = Path(__file__).parent / "e2e" / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests are marked and run last in each process: Playwright's session keeps an
    event loop on the main thread, which ``asyncio.run`` in a later test would trip over."""
    browser, others = [], []
    for item in items:
        if Path(str(item.path)).is_relative_to(BROWSER_TESTS):
            item.add_marker(pytest.mark.browser)
            browser.append(item)
        else:
            others.append(item)
    items[:] = others + browser


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback only: anything else is a bug in the test or the code."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise ConnectionRefusedError(f"network blocked in tests: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _admin_url() -> str:
    return os.environ.get("WALLETBRIDGE_TEST_POSTGRES_URL", DEFAULT_PG)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_pg_database(prefix: str = "wb_test") -> str:
    admin = _admin_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(_libpq(admin), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_libpq(_admin_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_available() -> bool:
    try:
        with psycopg.connect(_libpq(_admin_url()), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not _postgres_available():
        if os.environ.get("WALLETBRIDGE_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (WALLETBRIDGE_REQUIRE_POSTGRES=1) but unreachable")
        pytest.skip("PostgreSQL is not reachable")
    url = create_pg_database()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "walletbridge.sqlite3"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    name = "postgres_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.TEST, database_url=url, var_dir=tmp_path, database_pool_size=20
    )


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Container]:
    container = build(settings_for(database_url, tmp_path))
    yield container
    container.close()


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Iterator[Container]:
    container = build(settings_for(postgres_url, tmp_path))
    yield container
    container.close()


@pytest.fixture
def tenant(app: Container) -> TenantId:
    """A fresh tenant per test keeps tests apart inside one database."""
    return app.tenants.create(f"t-{secrets.token_hex(6)}", "Test bank", "EUR").id


class Book:
    """A tiny chart of accounts for accounting stories: a bank (asset, no floor) that funds
    customer wallets (liabilities, floor 0)."""

    def __init__(self, app: Container, tenant: TenantId, currency: str = "EUR") -> None:
        self.app = app
        self.tenant = tenant
        self.currency = currency
        self.bank = app.ledger.open_account(
            NewAccount(tenant, currency, AccountKind.ASSET, floor_minor=None)
        )
        self._keys = 0

    def key(self) -> str:
        self._keys += 1
        return f"key-{self._keys}-{secrets.token_hex(4)}"

    def wallet(self, funded_minor: int = 0, **kwargs: Any) -> Any:
        account = self.app.ledger.open_account(
            NewAccount(self.tenant, self.currency, AccountKind.LIABILITY, **kwargs)
        )
        if funded_minor:
            self.app.ledger.transfer(
                self.tenant,
                debit_account_id=self.bank.id,
                credit_account_id=account.id,
                amount_minor=funded_minor,
                idempotency_key=self.key(),
            )
        return account

    def send(self, payer: Any, payee: Any, amount_minor: int, key: str | None = None) -> Any:
        return self.app.ledger.transfer(
            self.tenant,
            debit_account_id=payer.id,
            credit_account_id=payee.id,
            amount_minor=amount_minor,
            idempotency_key=self.key() if key is None else key,
        )

    def posted(self, account: Any) -> int:
        return int(self.app.ledger.balance(self.tenant, account.id).posted_minor)


@pytest.fixture
def book(app: Container, tenant: TenantId) -> Book:
    return Book(app, tenant)


START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, start_us: int = START_US) -> None:
        self._now_us = start_us

    def now_us(self) -> int:
        return self._now_us

    def advance(self, seconds: int = 0, *, microseconds: int = 0) -> None:
        self._now_us += seconds * 1_000_000 + microseconds


@contextmanager
def own_database(
    request: pytest.FixtureRequest, engine_name: str, folder: Path, prefix: str
) -> Iterator[str]:
    """A freshly migrated database for one module or test alone, dropped afterwards.

    For tests whose subject spans a whole database (``verify()``, the expiry job), where the
    suite's shared database would mix other tests' rows in.
    """
    if engine_name == "sqlite":
        url = f"sqlite:///{folder / f'{prefix}.sqlite3'}"
    else:
        request.getfixturevalue("postgres_url")  # skips (or fails in CI) without a server
        url = create_pg_database(prefix)
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    try:
        yield url
    finally:
        if engine_name == "postgres":
            drop_pg_database(url)
