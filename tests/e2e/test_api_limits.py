"""S-10: rate limits on login, OTP sends, transfers and payee creation, through a real server with
2 worker processes whose counters live in PostgreSQL.

The server runs with the documented limits (docs/api.md): 10 logins per 5 minutes per login
identifier, 5 code sends per 10 minutes per address, 60 transfers per minute per user, 20 new
payees per hour per user. Each test sends more than the limit at once over many connections,
half of them on connections held by each of the 2 worker processes (read from /proc), and
expects exactly the limit to pass and the rest to get 429 ``rate-limited`` with a Retry-After no
longer than the window. Windows are fixed and aligned to the epoch: a test that would straddle a
window's end waits for the next window first, so an honest limiter cannot look broken.

Users are created and logged in inside the test process, so the server's login counters see only
what the login test sends.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.api_server import (
    ApiServer,
    RawAnswer,
    api_server,
    connections_on_every_worker,
    entry_count,
    expect,
    fund,
    new_key,
    quote_fee,
    register,
    register_many,
    released_together,
    transfer_body,
    unique_identity,
    worker_of,
)

DOCUMENTED = {
    "WALLETBRIDGE_RATE_LOGIN_PER_5_MINUTES": "10",
    "WALLETBRIDGE_RATE_OTP_SENDS_PER_10_MINUTES": "5",
    "WALLETBRIDGE_RATE_TRANSFERS_PER_MINUTE": "60",
    "WALLETBRIDGE_RATE_PAYEES_PER_HOUR": "20",
}
EXTRA = 6
"""How many requests beyond the limit each test sends."""


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    del postgres_url  # asked for so that CI fails (and elsewhere skips) without PostgreSQL
    with api_server(tmp_path_factory.mktemp("limits"), env=DOCUMENTED) as running:
        yield running


def with_room_in_window(window_seconds: int, needed_seconds: float = 20.0) -> None:
    """Wait for the next window if the current one ends within ``needed_seconds``."""
    into = time.time() % window_seconds
    if window_seconds - into < needed_seconds:
        time.sleep(window_seconds - into + 0.5)


def all_at_once(
    server: ApiServer, requests: list[tuple[str, str, Any, dict[str, str]]]
) -> list[RawAnswer]:
    """Every request at once, half of them on connections held by one worker process and half
    on the other's, so the limit is shown to hold across processes, not within one."""
    connections = connections_on_every_worker(server, per_worker=-(-len(requests) // 2))
    workers = worker_of(server, connections)
    try:
        answers = released_together(connections, requests)
    finally:
        for connection in connections:
            connection.close()
    assert len({workers[i] for i in range(len(requests))}) == 2, "one worker served everything"
    return answers


def assert_limited(
    answers: list[RawAnswer], limit: int, window_seconds: int, passed: set[int], name: str
) -> None:
    statuses = Counter(a.status_code for a in answers)
    refused = [a for a in answers if a.status_code == 429]
    summary = f"{dict(statuses)}: {[a.text[:160] for a in answers if a.status_code >= 500][:3]}"
    assert sum(statuses[s] for s in passed) == limit, summary
    assert len(refused) == len(answers) - limit, summary
    for answer in refused:
        problem = answer.json()
        assert problem["code"] == "rate-limited"
        assert problem.get("limit") == name
        retry_after = int(answer.headers["retry-after"])
        assert 1 <= retry_after <= window_seconds
        assert problem.get("retry_after_seconds") == retry_after


def test_logins_above_the_limit_are_refused_across_workers(server: ApiServer) -> None:
    tenant = server.new_tenant()
    user = register(server, tenant, log_in=False)
    with_room_in_window(300)
    headers = {"X-Tenant-ID": tenant}
    wrong = {"login": user.handle, "password": "Wrong-Pass-1234"}

    answers = all_at_once(server, [("POST", "/auth/login", wrong, headers)] * (10 + EXTRA))

    assert_limited(answers, 10, 300, {401}, "login")
    assert {a.json()["code"] for a in answers if a.status_code == 401} == {"credentials-invalid"}
    with httpx.Client(base_url=server.url + "/api/v1", headers=headers) as http:
        right = http.post("/auth/login", json={"login": user.handle, "password": user.password})
    assert right.status_code == 429, "the right password is no way around the limit"


def test_code_sends_above_the_limit_are_refused_and_send_nothing(server: ApiServer) -> None:
    tenant = server.new_tenant()
    _, address, _ = unique_identity()
    with_room_in_window(600)

    ask = ("POST", "/signup/verifications", {"channel": "email", "address": address})

    answers = all_at_once(server, [(*ask, {"X-Tenant-ID": tenant})] * (5 + EXTRA))

    assert_limited(answers, 5, 600, {202}, "otp-send")
    server.container.notifications.deliver_pending()
    assert len(server.container.notifications.mailbox(address)) == 5


def test_transfers_above_sixty_a_minute_are_refused_and_post_nothing(server: ApiServer) -> None:
    tenant = server.new_tenant()
    payer = register(server, tenant, over_http=False)
    payee = register(server, tenant, log_in=False)
    other = register(server, tenant, over_http=False)
    for user in (payer, other):
        fund(server, user, 100_000)
    fee = quote_fee(payer, payee.to(), "0.01")
    with_room_in_window(60, needed_seconds=25)
    before = entry_count(server, tenant)
    body = transfer_body(payee.to(), "0.01", fee)
    headers = {"X-Tenant-ID": tenant, "Authorization": f"Bearer {payer.token}"}
    payments = [
        ("POST", "/transfers", body, headers | {"Idempotency-Key": new_key()})
        for _ in range(60 + EXTRA)
    ]

    answers = all_at_once(server, payments)

    assert_limited(answers, 60, 60, {201}, "transfers")
    assert entry_count(server, tenant) == before + 60
    someone_else = other.client.post("/transfers", body, key=new_key())
    assert someone_else.status_code == 201, "the limit is per user"


def test_payee_creation_above_twenty_an_hour_is_refused(server: ApiServer) -> None:
    tenant = server.new_tenant()
    owner = register(server, tenant, over_http=False)
    candidates = register_many(server, tenant, 20 + EXTRA, log_in=False)
    with_room_in_window(3600)
    headers = {"X-Tenant-ID": tenant, "Authorization": f"Bearer {owner.token}"}
    additions = [
        ("POST", "/payees", {"to": person.to(), "nickname": f"p{index}"}, headers)
        for index, person in enumerate(candidates)
    ]

    answers = all_at_once(server, additions)

    assert_limited(answers, 20, 3600, {201}, "payees")
    listed: Any = expect(owner.client.get("/payees", params={"limit": 100}), 200)
    assert len(listed["items"]) == 20
