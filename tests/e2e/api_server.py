"""A real walletbridge API server for end-to-end tests: uvicorn with several worker processes on a
fresh PostgreSQL database, and a small client that signs users up, funds them and calls the API.

The server runs in a subprocess (``walletbridge serve --workers N``) started with ``WALLETBRIDGE_*``
variables; its stdout and stderr go to a log file the tests can scan. A ``Container`` built in the
test process against the same database and the same secret key lets a test do what only an
operator or the bank could (create a tenant, fund a wallet, read the audit table, read the
development mailbox) while every customer action goes over HTTP.

Rate limits are raised far above anything a test does unless a test passes its own, so that only
the rate-limit tests meet them.

``connections_on_every_worker`` opens kept-alive connections and keeps only those held by each
worker process in equal numbers (the kernel says which process holds which socket, via /proc),
so a concurrency test can prove its point across processes rather than hope the accept loop
spread its connections.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_pg_database, drop_pg_database
from tests.e2e.processes import answers, free_port, stop, wait_for
from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings

API = "/api/v1"
START_SECONDS = 60.0
TEST_SECRET = "walletbridge-e2e-secret-" + "k" * 24
PASSWORD = "Correct-Horse-Battery-42"
"""Long and uncommon enough for the password policy; every test user shares it unless told."""

GENEROUS_LIMITS = {
    "WALLETBRIDGE_RATE_LOGIN_PER_5_MINUTES": "1000000",
    "WALLETBRIDGE_RATE_OTP_SENDS_PER_10_MINUTES": "1000000",
    "WALLETBRIDGE_RATE_TRANSFERS_PER_MINUTE": "1000000",
    "WALLETBRIDGE_RATE_PAYEES_PER_HOUR": "1000000",
}


def server_environment(
    database_url: str, var_dir: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``WALLETBRIDGE_*`` variables of a test server (inherited ones removed first, so a
    developer's shell cannot point the test at another database)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WALLETBRIDGE_")}
    return (
        base
        | {
            "WALLETBRIDGE_ENVIRONMENT": "test",
            "WALLETBRIDGE_DATABASE_URL": database_url,
            "WALLETBRIDGE_VAR_DIR": str(var_dir),
            "WALLETBRIDGE_SECRET_KEY": TEST_SECRET,
            "WALLETBRIDGE_DATABASE_POOL_SIZE": "20",
        }
        | GENEROUS_LIMITS
        | dict(extra or {})
    )


def settings_from(env: Mapping[str, str]) -> Settings:
    """The same settings the server reads from ``env``, for the test process's own container."""
    fields: dict[str, Any] = {
        key.removeprefix("WALLETBRIDGE_").lower(): value
        for key, value in env.items()
        if key.startswith("WALLETBRIDGE_")
    }
    settings = Settings(**fields | {"database_pool_size": 10})
    assert settings.environment is Environment.TEST
    return settings


def migrate(env: Mapping[str, str], log: Path) -> None:
    """``walletbridge migrate`` as an operator would run it before starting servers."""
    command = [sys.executable, "-m", "walletbridge.entrypoints.cli", "migrate"]
    done = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        pytest.fail(f"walletbridge migrate failed:\n{done.stdout}{done.stderr}")


@dataclass
class ApiServer:
    """A running server and a container on its database."""

    url: str
    database_url: str
    var_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    container: Container
    env: dict[str, str]
    clients: list[ApiClient] = field(default_factory=list)
    """Every client handed out, kept open (and referenced) until the server stops."""

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def new_tenant(self, currency: str = "EUR", *, fees: bool = True) -> str:
        """A fresh tenant with the default tiers and fee schedule (``fees=False``: P2P is
        free); one per test keeps each test's users apart inside the one database."""
        tenant_id = f"t-{secrets.token_hex(6)}"
        self.container.tenants.create(tenant_id, "Test bank", currency)
        configure(self, tenant_id, currency, fees=fees)
        return tenant_id

    def client(self, tenant_id: str, token: str | None = None, **kwargs: Any) -> ApiClient:
        client = ApiClient(self.url, tenant_id, token, **kwargs)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()


@contextlib.contextmanager
def api_server(
    folder: Path,
    *,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
) -> Iterator[ApiServer]:
    """Create and migrate a PostgreSQL database, serve it with ``workers`` uvicorn processes until
    the block ends, then stop the server and drop the database.

    Callers must have asked for the ``postgres_url`` fixture first: it fails in CI (and skips
    elsewhere) when there is no server, where this would fail with a connection error.
    """
    database_url = create_pg_database("wb_e2e_api")
    var_dir = folder
    var_dir.mkdir(parents=True, exist_ok=True)
    full_env = server_environment(database_url, var_dir, env)
    container: Container | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        migrate(full_env, var_dir / "migrate.log")
        container = build(settings_from(full_env))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = var_dir / "server.log"
        command = [sys.executable, "-m", "walletbridge.entrypoints.cli", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        with log.open("wb") as out:
            server = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)

        # /ready answers as soon as one worker is up; wait for every worker's start-up too.
        def all_up() -> bool:
            started = log.read_text(errors="replace").count("Application startup complete")
            return started >= workers and answers(f"{url}/ready")

        wait_for(all_up, server, log, START_SECONDS)
        running = ApiServer(url, database_url, var_dir, log, server, container, full_env)
        try:
            yield running
        finally:
            running.close_clients()
    finally:
        if server is not None:
            stop(server)
        if container is not None:
            container.close()
        drop_pg_database(database_url)


# -- the client ----------------------------------------------------------------------------------


def new_key() -> str:
    return str(uuid.uuid4())


class ApiClient:
    """An httpx client bound to one tenant and (optionally) one bearer token.

    Paths are relative to ``/api/v1``. Money-moving calls take ``key=`` for ``Idempotency-Key``.
    """

    def __init__(
        self,
        base_url: str,
        tenant_id: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.token = token
        self.http = httpx.Client(
            base_url=base_url + API,
            timeout=timeout,
            headers={"X-Tenant-ID": tenant_id, **(headers or {})},
            limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=100),
        )
        self.responses: list[httpx.Response] = []
        """Every response this client received, for the suite-wide secret scans."""

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def headers(self, key: str | None = None, token: str | None = None) -> dict[str, str]:
        out: dict[str, str] = {}
        bearer = token if token is not None else self.token
        if bearer:
            out["Authorization"] = f"Bearer {bearer}"
        if key is not None:
            out["Idempotency-Key"] = key
        return out

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        key: str | None = None,
        token: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        all_headers = self.headers(key, token) | dict(headers or {})
        response = self.http.request(
            method,
            path,
            json=json,
            params=params,
            headers=all_headers,
            content=content,
        )
        self.responses.append(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


def money(amount: str, currency: str = "EUR") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body of a response that must have ``status``; a clear failure otherwise."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path} → {response.status_code}, "
        f"expected {status}: {response.text[:2000]}"
    )
    if not response.content:
        return None
    return response.json()


# -- users ---------------------------------------------------------------------------------------


@dataclass
class TestUser:
    """A signed-up customer with a bearer token and a client that sends it."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    tenant_id: str
    user_id: str
    handle: str
    email: str
    phone: str
    password: str
    token: str
    client: ApiClient
    secrets_seen: list[str] = field(default_factory=list)
    """Codes and tokens this user was given: none may appear in any log or other response."""

    def to(self) -> dict[str, str]:
        return {"handle": self.handle}


def unique_identity() -> tuple[str, str, str]:
    tag = secrets.token_hex(5)
    phone = "+4930" + str(secrets.randbelow(10**8)).zfill(8)
    return f"u{tag}", f"user-{tag}@example.test", phone


def login(server: ApiServer, tenant_id: str, login_name: str, password: str) -> str:
    with server.client(tenant_id) as anonymous:
        body = expect(
            anonymous.post("/auth/login", {"login": login_name, "password": password}), 200
        )
    assert body["status"] == "authenticated", body
    return token_of(body)


def token_of(body: Mapping[str, Any]) -> str:
    """The bearer token of a sign-up or login answer (a token object or a bare string)."""
    token = body["token"]
    return str(token["access_token"] if isinstance(token, dict) else token)


MAILBOX_WAIT_SECONDS = 20.0
_CODE = re.compile(r"\b(\d{6})\b")


def delivered_texts(server: ApiServer, address: str) -> list[str]:
    """What the development mailbox (or SMS outbox) holds for ``address``, newest first, once
    the test process's relay has delivered what was pending in the outbox (it plays the worker)."""
    notifications = server.container.notifications
    notifications.deliver_pending()
    if address.startswith("+"):
        return [sms.text for sms in notifications.sms_outbox(address)]
    return [f"{mail.subject}\n{mail.body}" for mail in notifications.mailbox(address)]


def code_sent_to(server: ApiServer, address: str) -> str:
    """The newest verification code delivered to ``address`` (mail or SMS)."""
    deadline = time.monotonic() + MAILBOX_WAIT_SECONDS
    while time.monotonic() < deadline:
        for text in delivered_texts(server, address):
            found = _CODE.findall(text)
            if found:
                return str(found[0])
        time.sleep(0.2)
    pytest.fail(f"no code was delivered to {address} within {MAILBOX_WAIT_SECONDS} s")


def sign_up(
    server: ApiServer, tenant_id: str, *, channel: str = "email", password: str = PASSWORD
) -> TestUser:
    """Sign up through the API as a customer would: ask for a code, read it, create the user."""
    handle, email, phone = unique_identity()
    address = email if channel == "email" else phone
    anonymous = server.client(tenant_id)
    started = expect(
        anonymous.post("/signup/verifications", {"channel": channel, "address": address}), 202
    )
    code = code_sent_to(server, address)
    body = {
        "verification_id": started["verification_id"],
        "code": code,
        "password": password,
        "handle": handle,
        "display_name": f"User {handle}",
    }
    created = expect(anonymous.post("/signup", body), 201)
    anonymous.close()
    token = token_of(created)
    user = TestUser(
        tenant_id=tenant_id,
        user_id=str(created["user"]["id"]),
        handle=handle,
        email=email if channel == "email" else "",
        phone=phone if channel == "phone" else "",
        password=password,
        token=token,
        client=server.client(tenant_id, token),
    )
    user.secrets_seen += [code, token]
    return user


def register(
    server: ApiServer,
    tenant_id: str,
    *,
    password: str = PASSWORD,
    log_in: bool = True,
    over_http: bool = True,
    role: str = "customer",
    kyc_tier: int = 1,
) -> TestUser:
    """A verified user created directly through the identity service (no mail round trip), then
    logged in: over HTTP by default, or in-process (``over_http=False``) where a test must keep
    the server's login counters untouched. Much faster than ``sign_up`` for many users."""
    from walletbridge.domain.actors import RequestContext, Role
    from walletbridge.domain.ledger import TenantId

    handle, email, phone = unique_identity()
    created = server.container.identity.register_verified(
        TenantId(tenant_id),
        handle=handle,
        display_name=f"User {handle}",
        password=password,
        email=email,
        phone=phone,
        role=Role(role),
        kyc_tier=kyc_tier,
    )
    token = ""
    if log_in and over_http:
        token = login(server, tenant_id, handle, password)
    elif log_in:
        result = server.container.identity.login(
            TenantId(tenant_id), handle, password, RequestContext(ip="127.0.0.1")
        )
        assert result.token is not None
        token = result.token.access_token
    return TestUser(
        tenant_id=tenant_id,
        user_id=str(created.user_id),
        handle=handle,
        email=email,
        phone=phone,
        password=password,
        token=token,
        client=server.client(tenant_id, token or None),
        secrets_seen=[token] if token else [],
    )


def register_many(server: ApiServer, tenant_id: str, count: int, **kwargs: Any) -> list[TestUser]:
    """``count`` users registered by a few threads at once (password hashing is most of the
    cost, and it runs outside the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda _: register(server, tenant_id, **kwargs), range(count)))


def fund(server: ApiServer, user: TestUser, amount_minor: int, currency: str = "EUR") -> None:
    """Credit the user's wallet from the tenant's settlement account, as a top-up would."""
    from walletbridge.domain.actors import UserId
    from walletbridge.domain.ledger import TenantId
    from walletbridge.domain.money import Money

    amount = Money(amount_minor, server.container.currencies.get(currency))
    server.container.wallets.fund_wallet(
        TenantId(user.tenant_id), UserId(user.user_id), amount, new_key()
    )


def available(user: TestUser, currency: str = "EUR") -> str:
    """The wallet's available balance in ``currency`` as the API shows it."""
    wallet = expect(user.client.get("/wallet"), 200)
    for account in wallet["accounts"]:
        if account["currency"] == currency:
            return str(account["available"]["amount"])
    return "0.00"


def transfer_body(
    to: Mapping[str, str], amount: str, fee: str = "0.00", currency: str = "EUR"
) -> dict[str, Any]:
    return {"to": dict(to), "amount": money(amount, currency), "fee": money(fee, currency)}


def quote_fee(user: TestUser, to: Mapping[str, str], amount: str, currency: str = "EUR") -> str:
    body = {"to": dict(to), "amount": money(amount, currency)}
    quote = expect(user.client.post("/transfers/quotes", body), 200)
    return str(quote["fee"]["amount"])


def schema_of(server: ApiServer) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, timeout=30.0) as http:
        response = http.get("/api/schema/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


# -- the books, read straight from the database --------------------------------------------------


def scalar(server: ApiServer, sql: str, **params: Any) -> Any:
    from sqlalchemy import text

    with server.container.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def entry_count(server: ApiServer, tenant_id: str) -> int:
    """Ledger entries of one tenant: each posted payment (or funding) is one entry."""
    return int(scalar(server, "SELECT count(*) FROM entries WHERE tenant_id = :t", t=tenant_id))


def tenant_balance_sums(server: ApiServer, tenant_id: str) -> dict[str, int]:
    """Posted balances of every account of the tenant summed per currency: always zero in a
    double-entry ledger, whatever moved."""
    from sqlalchemy import text

    with server.container.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT currency, sum(posted_minor) FROM account_balances"
                " WHERE tenant_id = :t GROUP BY currency ORDER BY currency"
            ),
            {"t": tenant_id},
        ).all()
    return {str(currency): int(total) for currency, total in rows}


def wallet_balances_minor(server: ApiServer, tenant_id: str, user_id: str) -> int:
    """The posted balance of a user's wallet accounts, all currencies together (minor units)."""
    return int(
        scalar(
            server,
            "SELECT coalesce(sum(b.posted_minor), 0) FROM wallets w"
            " JOIN accounts a ON a.tenant_id = w.tenant_id"
            "  AND a.code = 'wallet:' || w.id::text || ':' || a.currency"
            " JOIN account_balances b ON b.account_id = a.id"
            " WHERE w.tenant_id = :t AND w.user_id = :u",
            t=tenant_id,
            u=user_id,
        )
    )


def configure(server: ApiServer, tenant_id: str, currency: str, *, fees: bool) -> None:
    """The default tiers 0-3, and the default P2P fee or a zero one."""
    from walletbridge.domain.fees import P2P, FeeSchedule
    from walletbridge.domain.ledger import TenantId
    from walletbridge.domain.wallets import TenantConfiguration, default_configuration

    configuration = default_configuration(server.container.currencies.get(currency))
    if not fees:
        free = FeeSchedule(product=P2P, currency=currency)
        configuration = TenantConfiguration(configuration.currencies, configuration.tiers, (free,))
    server.container.wallets.configure_tenant(TenantId(tenant_id), configuration)


# -- connections pinned to worker processes ------------------------------------------------------


def worker_pids(server: ApiServer) -> list[int]:
    """The uvicorn worker processes: the children of the server's supervisor process."""
    pid = server.process.pid
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        pids = [int(p) for p in children.read().split()]
    # multiprocessing also starts its resource tracker as a child: it serves nothing.
    return [p for p in pids if b"resource_tracker" not in _cmdline(p)]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as command:
            return command.read()
    except OSError:
        return b"resource_tracker"  # gone: count it out


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def _server_side_inodes(server_port: int) -> dict[int, int]:
    """Client port → inode of the server's end of each loopback TCP connection to the server."""
    found = {}
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            remote_port = int(fields[2].split(":")[1], 16)
            if local_port == server_port and remote_port != 0:
                found[remote_port] = int(fields[9])
    return found


def worker_of(server: ApiServer, connections: list[Any]) -> dict[int, int]:
    """For each open ``http.client`` connection (by index), the pid of the worker holding its
    server end, read from /proc (the same machine, so the kernel can tell us exactly)."""
    port = int(server.url.rsplit(":", 1)[1])
    by_client_port = _server_side_inodes(port)
    owner = {inode: pid for pid in worker_pids(server) for inode in _socket_inodes(pid)}
    placed = {}
    for index, connection in enumerate(connections):
        inode = by_client_port.get(connection.sock.getsockname()[1])
        if inode in owner:
            placed[index] = owner[inode]
    return placed


def connections_on_every_worker(server: ApiServer, per_worker: int, waves: int = 20) -> list[Any]:
    """``per_worker`` kept-alive connections held by each worker process, interleaved.

    A worker that wakes up first accepts every connection waiting at that moment, so connections
    are opened in concurrent waves until each worker holds enough of them (the rest are closed).
    """
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    kept: dict[int, list[Any]] = {pid: [] for pid in worker_pids(server)}
    assert len(kept) >= 2, "the server runs fewer than 2 workers"

    def opened(_: int) -> Any:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        connection.request("GET", "/health")
        connection.getresponse().read()
        return connection

    for _ in range(waves):
        with ThreadPoolExecutor(max_workers=16) as pool:
            wave = list(pool.map(opened, range(16)))
        placed = worker_of(server, wave)
        for index, connection in enumerate(wave):
            pid = placed.get(index)
            if pid is not None and len(kept[pid]) < per_worker:
                kept[pid].append(connection)
            else:
                connection.close()
        if all(len(held) >= per_worker for held in kept.values()):
            break
    assert all(len(held) >= per_worker for held in kept.values()), (
        f"could not open {per_worker} connections on each worker: "
        f"{ {pid: len(held) for pid, held in kept.items()} }"
    )
    lanes = list(kept.values())
    return [lane[i] for i in range(per_worker) for lane in lanes]


@dataclass
class RawAnswer:
    """A response read from an ``http.client`` connection."""

    status_code: int
    headers: dict[str, str]
    text: str
    worker: int = 0

    def json(self) -> Any:
        import json

        return json.loads(self.text)


def released_together(
    connections: list[Any],
    requests: list[tuple[str, str, Any, dict[str, str]]],
) -> list[RawAnswer]:
    """Send request i on connection i, all threads released by one barrier."""
    import json
    import threading

    assert len(connections) >= len(requests)
    answers: list[RawAnswer | None] = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def one(index: int) -> None:
        method, path, body, headers = requests[index]
        connection = connections[index]
        payload = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **headers}
        barrier.wait()
        connection.request(method, API + path, payload, all_headers)
        response = connection.getresponse()
        text = response.read().decode()
        answers[index] = RawAnswer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, text
        )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]
