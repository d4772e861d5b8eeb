"""S-12: the security log, through a real server (uvicorn, 2 workers, PostgreSQL) whose output is
captured to a file.

One customer's story runs over HTTP: sign-up with an emailed code, a wrong password, a login, TOTP
enrolment, a login that needs the second factor (a wrong code, then a recovery code), a payment,
a payment refused by a limit, a call without a token and a customer calling an operator route.
Every one of those requests must have left an audit record tied to it by its request id, saying
who (the user, or anonymous), what (action and outcome), when (UTC microseconds within the test)
and from where (the client's address). Then the server's whole log and every audit row of the
tenant are searched for the secrets and personal data the story used: passwords, codes, the TOTP
secret, recovery codes, bearer tokens, the email address, phone number and display name. None
may appear.

A payment refused for insufficient funds is not in the list: it moves nothing and the payments
service deliberately does not store (or audit) conflicts, so a retry with the same key can pass.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.api_server import (
    ApiServer,
    TestUser,
    api_server,
    expect,
    fund,
    new_key,
    quote_fee,
    register,
    sign_up,
    token_of,
    transfer_body,
)

WRONG_PASSWORD = "Not-My-Password-987"


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    del postgres_url  # asked for so that CI fails (and elsewhere skips) without PostgreSQL
    with api_server(tmp_path_factory.mktemp("security-log")) as running:
        yield running


@dataclass(frozen=True)
class Step:
    """One request of the story and the audit record it must leave."""

    name: str
    response: httpx.Response
    action: str
    """A regular expression the record's action must match."""
    outcomes: frozenset[str]
    actor_id: str | None

    @property
    def request_id(self) -> str:
        return self.response.headers["X-Request-ID"]


@dataclass
class Story:
    tenant: str
    user: TestUser
    started_us: int
    ended_us: int
    steps: list[Step]
    secrets: dict[str, str]
    """What must never be logged, by what it is."""


def step(
    name: str,
    response: httpx.Response,
    status: int,
    action: str,
    outcomes: set[str],
    actor_id: str | None,
) -> Step:
    expect(response, status)
    return Step(name, response, action, frozenset(outcomes), actor_id)


def now_us() -> int:
    return time.time_ns() // 1_000


@pytest.fixture(scope="module")
def story(server: ApiServer) -> Story:
    tenant = server.new_tenant()
    started_us = now_us()
    steps: list[Step] = []
    user = sign_up(server, tenant)
    a = user.client
    anonymous = server.client(tenant)
    ok, failed, denied = {"success"}, {"failure", "denied"}, {"denied", "failure"}

    bad = anonymous.post("/auth/login", {"login": user.email, "password": WRONG_PASSWORD})
    steps.append(step("wrong password", bad, 401, r"^auth\.login", failed, None))
    good = anonymous.post("/auth/login", {"login": user.email, "password": user.password})
    steps.append(step("login", good, 200, r"^auth\.login", ok, user.user_id))
    a.token = token_of(good.json())

    enrolled = a.post("/me/totp")
    expect(enrolled, 201)  # enrolment changes nothing until confirmed, so only that is audited
    secret = enrolled.json()["secret"]
    code = pyotp.TOTP(secret).now()
    confirmed = a.post("/me/totp/confirm", {"code": code})
    steps.append(step("totp confirm", confirmed, 200, r"totp", ok, user.user_id))
    recovery = confirmed.json()["recovery_codes"]

    challenge = anonymous.post("/auth/login", {"login": user.handle, "password": user.password})
    expect(challenge, 200)
    challenge_id = challenge.json()["challenge_id"]
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = anonymous.post(
        "/auth/second-factor", {"challenge_id": challenge_id, "code": wrong_code}
    )
    steps.append(step("wrong second factor", refused, 401, r"second-factor|totp|mfa", failed, None))
    passed = anonymous.post(
        "/auth/second-factor", {"challenge_id": challenge_id, "recovery_code": recovery[0]}
    )
    steps.append(
        step("second factor", passed, 200, r"second-factor|recovery|login", ok, user.user_id)
    )
    a.token = token_of(passed.json())

    payee = register(server, tenant)
    fund(server, user, 5_000)
    fee = quote_fee(user, payee.to(), "10.00")
    paid = a.post("/transfers", transfer_body(payee.to(), "10.00", fee), key=new_key())
    steps.append(step("payment", paid, 201, r"^payment|transfer", ok, user.user_id))
    # Over tier 1's per-transaction limit (1,000.00): a business rule refuses it.
    over = "1500.00"
    too_much = a.post(
        "/transfers",
        transfer_body(payee.to(), over, quote_fee(user, payee.to(), over)),
        key=new_key(),
    )
    assert too_much.status_code == 422, too_much.text
    steps.append(Step("refused payment", too_much, r"^payment", frozenset(failed), user.user_id))

    no_token = anonymous.get("/wallet")
    steps.append(step("no token", no_token, 401, r"refused|denied|auth", denied, None))
    operator_only = a.get("/admin/audit-events")
    assert operator_only.status_code in (403, 404), operator_only.text
    steps.append(
        Step(
            "operator route",
            operator_only,
            r"refused|denied|operator",
            frozenset(denied),
            user.user_id,
        )
    )
    time.sleep(0.5)  # audit writes of refusals may run after the response is sent

    secrets = {
        "password": user.password,
        "wrong password": WRONG_PASSWORD,
        "totp secret": secret,
        "totp code": code,
        "wrong totp code": wrong_code,
        "email": user.email,
        "phone": user.phone,
        "display name": f"User {user.handle}",
        **{f"token {i}": t for i, t in enumerate([*user.secrets_seen, a.token or ""]) if t},
        **{f"recovery code {i}": c for i, c in enumerate(recovery)},
    }
    return Story(tenant, user, started_us, now_us(), steps, {k: v for k, v in secrets.items() if v})


def audit_rows(server: ApiServer, tenant: str) -> list[dict[str, Any]]:
    from sqlalchemy import text

    with server.container.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT * FROM audit_events WHERE tenant_id = :t OR tenant_id IS NULL"),
            {"t": tenant},
        ).mappings()
        return [dict(row) for row in rows]


def test_every_security_event_and_money_movement_is_in_the_audit_log(
    server: ApiServer, story: Story
) -> None:
    rows = audit_rows(server, story.tenant)
    by_request: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_request.setdefault(str(row["request_id"]), []).append(row)
    missing = []

    for s in story.steps:
        candidates = by_request.get(s.request_id, [])
        matching = [
            row
            for row in candidates
            if re.search(s.action, row["action"]) and row["outcome"] in s.outcomes
        ]
        if not matching:
            found = [(r["action"], r["outcome"]) for r in candidates]
            elsewhere = [
                (r["action"], r["outcome"], r["request_id"], r["actor_id"])
                for r in rows
                if re.search(s.action, r["action"]) and r["outcome"] in s.outcomes
            ]
            missing.append(
                f"{s.name} ({s.response.status_code}, request {s.request_id}): no record; "
                f"for this request {found}; like it elsewhere {elsewhere}"
            )
            continue
        row = matching[0]
        problems = []
        if s.actor_id is not None and row["actor_id"] != s.actor_id:
            problems.append(f"actor {row['actor_id']} is not {s.actor_id}")
        if not story.started_us <= row["at_us"] <= story.ended_us:
            problems.append(f"time {row['at_us']} outside the story")
        if row["ip"] != "127.0.0.1":
            problems.append(f"ip {row['ip']!r}")
        if row["tenant_id"] != story.tenant:
            problems.append(f"tenant {row['tenant_id']!r}")
        if problems:
            missing.append(f"{s.name}: {row['action']}: " + ", ".join(problems))

    assert missing == [], "\n".join(missing)


def test_the_payment_record_names_the_transfer(server: ApiServer, story: Story) -> None:
    payment = next(s for s in story.steps if s.name == "payment")
    transfer_id = payment.response.json()["id"]

    rows = [r for r in audit_rows(server, story.tenant) if r["request_id"] == payment.request_id]

    assert any(transfer_id in (str(r["object_id"]), r["details"]) for r in rows), rows


def occurrences(haystack: str, secrets: dict[str, str]) -> list[str]:
    found = []
    for what, value in secrets.items():
        pattern = rf"\b{re.escape(value)}\b" if value.isdigit() else re.escape(value)
        if re.search(pattern, haystack, re.IGNORECASE):
            found.append(what)
    return found


def test_the_server_log_holds_no_secret_and_no_personal_data(
    server: ApiServer, story: Story
) -> None:
    log = server.log_text()

    assert "http.request" in log, "the server's log was not captured"
    assert occurrences(log, story.secrets) == []


def test_the_audit_log_holds_no_secret_and_no_personal_data(
    server: ApiServer, story: Story
) -> None:
    rows = audit_rows(server, story.tenant)
    dump = json.dumps(rows, default=str)

    assert len(rows) >= len(story.steps)
    assert occurrences(dump, story.secrets) == []
