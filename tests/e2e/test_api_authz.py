"""S-01, S-02 and S-03 through a real server (uvicorn, 2 workers, PostgreSQL).

S-01, object-level authorization: users A and B of one tenant each have a wallet, transfers,
requests to pay, payees and sessions. For every route of the OpenAPI document that takes an object
id, B asks for (or acts on) A's object and gets exactly what a missing object gets: 404 with the
same code and the same detail. A's objects are unchanged afterwards, and every id is a UUID.

S-02, function-level authorization: every route of the app is classified below as public,
customer or operator; an unclassified route fails the test, so a new route cannot ship without a
decision. Every non-public route refuses a request without a token (401); every operator route
refuses a customer (403 or 404).

S-03, mass assignment: writable bodies carrying balance, role, KYC tier, status, owner or limits
are refused (400/422) or ignored, with no change of state; no response anywhere in these flows
carries a password hash, a TOTP secret outside its enrolment answer, or another session's token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.api_server import (
    API,
    ApiServer,
    TestUser,
    api_server,
    entry_count,
    expect,
    fund,
    login,
    money,
    new_key,
    quote_fee,
    register,
    schema_of,
    transfer_body,
)
from walletbridge.entrypoints.api.app import create_app


class Access(StrEnum):
    PUBLIC = "public"
    CUSTOMER = "customer"
    OPERATOR = "operator"


P, C, OP = Access.PUBLIC, Access.CUSTOMER, Access.OPERATOR
ROUTES: dict[str, Access] = {
    # operations and documentation
    "GET /health": P,
    "GET /ready": P,
    "GET /metrics": P,
    "GET /api/schema": P,
    "GET /api/schema/swagger": P,
    "GET /api/schema/openapi.json": P,
    "GET /api/schema/oauth2-redirect.html": P,
    "GET /api/schema/{path}": P,
    "GET /api/schema/assets/{file_path}": P,
    "HEAD /api/schema/assets/{file_path}": P,
    # the read-only ledger showcase (development and test only)
    "GET /api/v1/demo/ledger": P,
    "GET /api/v1/tenant": P,
    "GET /api/v1/demo/ledger/{tenant_id}/accounts/{account_id}/history": P,
    # identity: sign-up, sign-in and recovery are what an anonymous caller may do
    "POST /api/v1/signup/verifications": P,
    "POST /api/v1/signup": P,
    "POST /api/v1/auth/login": P,
    "POST /api/v1/auth/second-factor": P,
    "POST /api/v1/password-resets": P,
    "POST /api/v1/password-resets/complete": P,
    "POST /api/v1/auth/reauthenticate": C,
    "POST /api/v1/auth/logout": C,
    "GET /api/v1/auth/sessions": C,
    "DELETE /api/v1/auth/sessions/{session_id}": C,
    "POST /api/v1/auth/tokens": C,
    "GET /api/v1/me": C,
    "PATCH /api/v1/me": C,
    "POST /api/v1/me/password": C,
    "POST /api/v1/me/totp": C,
    "POST /api/v1/me/totp/confirm": C,
    "POST /api/v1/me/totp/disable": C,
    "POST /api/v1/me/recovery-codes": C,
    "GET /api/v1/admin/users/{user_id}": OP,
    "POST /api/v1/admin/users/{user_id}/disable": OP,
    "POST /api/v1/admin/users/{user_id}/enable": OP,
    "PUT /api/v1/admin/users/{user_id}/kyc-tier": OP,
    # wallets and payments
    "GET /api/v1/wallet": C,
    "POST /api/v1/wallet/accounts": C,
    "GET /api/v1/limits": C,
    "PUT /api/v1/limits/daily": C,
    "POST /api/v1/transfers/quotes": C,
    "POST /api/v1/transfers": C,
    "POST /api/v1/transfers/batch": C,
    "GET /api/v1/transfers/{transfer_id}": C,
    "POST /api/v1/payment-requests": C,
    "GET /api/v1/payment-requests": C,
    "GET /api/v1/payment-requests/{request_id}": C,
    "POST /api/v1/payment-requests/{request_id}/accept": C,
    "POST /api/v1/payment-requests/{request_id}/decline": C,
    "POST /api/v1/payment-requests/{request_id}/cancel": C,
    "GET /api/v1/payees": C,
    "POST /api/v1/payees": C,
    "GET /api/v1/payees/{payee_id}": C,
    "PATCH /api/v1/payees/{payee_id}": C,
    "DELETE /api/v1/payees/{payee_id}": C,
    "GET /api/v1/transactions": C,
    "GET /api/v1/transactions/export.csv": C,
    "GET /api/v1/transactions/{transaction_id}": C,
    # platform
    "GET /api/v1/me/security-events": C,
    "GET /api/v1/activity": C,
    "GET /api/v1/admin/audit-events": OP,
}
IGNORED_METHODS = {"OPTIONS"}
OBJECT_ROUTES = {
    route
    for route, access in ROUTES.items()
    if access is not Access.PUBLIC and "{" in route and "/schema/" not in route
}
"""Every non-public route that takes an object id: the S-01 matrix must try each one."""
_TYPED_PARAM = re.compile(r"\{(\w+):[^}]+\}")
_PARAM = re.compile(r"\{(\w+)\}")


def plain(path: str) -> str:
    """``/x/{id:uuid}`` as the OpenAPI document writes it: ``/x/{id}``."""
    return _TYPED_PARAM.sub(r"{\1}", path)


def app_routes(server: ApiServer) -> list[str]:
    """Every "METHOD /path" the API serves, documented or not: everything under /api and the
    probes. The web pages (sessions and CSRF, not tokens) are walked in test_web_routes.py."""
    app = create_app(server.container)
    found = set()
    for route in app.routes:
        if not route.path.startswith(("/api", "/health", "/ready", "/metrics")):
            continue
        for method in getattr(route, "methods", ()):
            if method not in IGNORED_METHODS:
                found.add(f"{method} {plain(route.path)}")
    return sorted(found)


def bodies_for(route: str, world: World) -> Any:
    """A valid body where a route needs one, so a refusal is about who asks, not what."""
    c_to = world.c.to()
    known: dict[str, Any] = {
        "POST /api/v1/payment-requests/{request_id}/accept": {"fee": money("0.00")},
        "PATCH /api/v1/payees/{payee_id}": {"nickname": "renamed by someone else"},
        "PUT /api/v1/admin/users/{user_id}/kyc-tier": {"tier": 3},
        "POST /api/v1/transfers": transfer_body(c_to, "1.00"),
        "POST /api/v1/transfers/quotes": {"to": c_to, "amount": money("1.00")},
        "POST /api/v1/transfers/batch": {"items": [transfer_body(c_to, "1.00")]},
        "POST /api/v1/payment-requests": {"from": c_to, "amount": money("1.00")},
        "POST /api/v1/payees": {"to": c_to, "nickname": "c"},
        "POST /api/v1/wallet/accounts": {"currency": "EUR"},
        "PUT /api/v1/limits/daily": {"amount": money("100.00")},
        "PATCH /api/v1/me": {"display_name": "Someone"},
        "POST /api/v1/auth/tokens": {"name": "t", "scopes": ["wallet:read"]},
        "POST /api/v1/me/password": {
            "current_password": "Wrong-Password-123",
            "new_password": "Another-Password-456",
        },
        "POST /api/v1/me/totp/confirm": {"code": "000000"},
        "POST /api/v1/me/totp/disable": {"code": "000000"},
        "POST /api/v1/me/recovery-codes": {"code": "000000"},
        "POST /api/v1/auth/reauthenticate": {"password": "Wrong-Password-123"},
    }
    method = route.split(" ", 1)[0]
    return known.get(route, {} if method in ("POST", "PUT", "PATCH") else None)


# -- the two users and their objects ---------------------------------------------------------------


@dataclass
class World:
    tenant: str
    a: TestUser
    b: TestUser
    c: TestUser
    objects_of_a: dict[str, str]
    clients: list[Any] = field(default_factory=list)


def first_id(listing: Any) -> str:
    assert listing["items"], f"expected at least one item in {listing}"
    return str(listing["items"][0]["id"])


def give_objects(server: ApiServer, owner: TestUser, other: TestUser) -> dict[str, str]:
    """A transfer, a transaction, a request to pay, a payee and a second session for ``owner``,
    every one of them involving only ``owner`` and ``other``."""
    fee = quote_fee(owner, other.to(), "1.00")
    sent = expect(
        owner.client.post("/transfers", transfer_body(other.to(), "1.00", fee), key=new_key()), 201
    )
    asked = expect(
        owner.client.post("/payment-requests", {"from": other.to(), "amount": money("2.00")}), 201
    )
    payee = expect(owner.client.post("/payees", {"to": other.to(), "nickname": "other"}), 201)
    transactions = expect(owner.client.get("/transactions"), 200)
    # A second session (another device): B must not be able to see or revoke it.
    login(server, owner.tenant_id, owner.handle, owner.password)
    sessions = expect(owner.client.get("/auth/sessions"), 200)["items"]
    session_id = next(str(s["id"]) for s in sessions if not s["current"])
    return {
        "transfer_id": str(sent["id"]),
        "transaction_id": first_id(transactions),
        "request_id": str(asked["id"]),
        "payee_id": str(payee["id"]),
        "session_id": session_id,
        "user_id": owner.user_id,
    }


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    del postgres_url  # asked for so that CI fails (and elsewhere skips) without PostgreSQL
    with api_server(tmp_path_factory.mktemp("authz")) as running:
        yield running


@pytest.fixture(scope="module")
def world(server: ApiServer) -> World:
    tenant = server.new_tenant()
    a, b, c = (register(server, tenant) for _ in range(3))
    for user in (a, b, c):
        fund(server, user, 50_000)
    objects_of_a = give_objects(server, a, c)
    give_objects(server, b, c)  # B is a full customer too, with objects of their own
    return World(tenant, a, b, c, objects_of_a, [a.client, b.client, c.client])


# -- S-01 ------------------------------------------------------------------------------------------


def documented_routes_with_ids(server: ApiServer) -> list[tuple[str, str, list[str]]]:
    found = []
    for path, item in schema_of(server)["paths"].items():
        params = _PARAM.findall(path)
        for method in item:
            if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE") and params:
                found.append((method.upper(), path, params))
    return found


def fill(path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values[m.group(1)], path).removeprefix(API)


def comparable(problem: Any, ids: list[str]) -> Any:
    """A problem body with the ids it names blanked, so A's id and a random id compare equal."""
    text = httpx.Response(200, json=problem).text
    for value in ids:
        text = text.replace(value, "<id>")
    return text


@dataclass
class Matrix:
    checked: list[str]
    leaks: list[str]


@pytest.fixture(scope="module")
def b_tries_a(server: ApiServer, world: World) -> Matrix:
    """B asks for (or acts on) each of A's objects through every documented route with an id,
    and, for comparison, for an id that exists nowhere."""
    matrix = Matrix([], [])
    for method, path, params in documented_routes_with_ids(server):
        route = f"{method} {path}"
        access = ROUTES.get(route)
        if access is Access.PUBLIC:
            continue
        assert set(params) <= set(world.objects_of_a), f"{route}: no object of A for {params}"
        theirs = {name: world.objects_of_a[name] for name in params}
        missing = {name: str(uuid.uuid4()) for name in params}
        answers = []
        for values in (theirs, missing):
            headers = {"Idempotency-Key": new_key()} if method == "POST" else {}
            body = bodies_for(route, world)
            answers.append(
                world.b.client.request(method, fill(path, values), json=body, headers=headers)
            )
        on_theirs, on_missing = answers
        matrix.checked.append(route)
        expected = (403, 404) if access is Access.OPERATOR else (404,)
        if on_theirs.status_code not in expected or on_theirs.status_code != on_missing.status_code:
            matrix.leaks.append(
                f"{route}: A's object → {on_theirs.status_code} {on_theirs.text[:200]}; "
                f"a missing one → {on_missing.status_code} {on_missing.text[:200]}"
            )
            continue
        ids = [*theirs.values(), *missing.values()]
        if comparable(on_theirs.json(), ids) != comparable(on_missing.json(), ids):
            matrix.leaks.append(f"{route}: answers differ: {on_theirs.text} vs {on_missing.text}")
    return matrix


def test_every_route_with_an_id_answers_another_users_object_like_a_missing_one(
    b_tries_a: Matrix,
) -> None:
    assert len(b_tries_a.checked) >= len(OBJECT_ROUTES), b_tries_a.checked
    assert b_tries_a.leaks == [], "\n".join(b_tries_a.leaks)


def test_every_route_with_an_id_was_tried(b_tries_a: Matrix) -> None:
    assert sorted(OBJECT_ROUTES - set(b_tries_a.checked)) == []


def test_the_owner_still_sees_every_object_unchanged(b_tries_a: Matrix, world: World) -> None:
    ids = world.objects_of_a
    a = world.a.client

    assert expect(a.get(f"/transfers/{ids['transfer_id']}"), 200)["id"] == ids["transfer_id"]
    expect(a.get(f"/transactions/{ids['transaction_id']}"), 200)
    request = expect(a.get(f"/payment-requests/{ids['request_id']}"), 200)
    assert request["status"] == "pending"
    payee = expect(a.get(f"/payees/{ids['payee_id']}"), 200)
    assert payee["nickname"] == "other"
    sessions = expect(a.get("/auth/sessions"), 200)["items"]
    assert ids["session_id"] in {str(s["id"]) for s in sessions}
    assert expect(a.get("/me"), 200)["status"] == "active"


def test_object_ids_are_uuids_not_sequence_numbers(world: World) -> None:
    for name, value in world.objects_of_a.items():
        parsed = uuid.UUID(value)
        assert parsed.version in (4, 7), f"{name} {value} is not a random or time-ordered UUID"
        assert not value.isdigit()


# -- S-02 ------------------------------------------------------------------------------------------


def test_every_route_is_classified(server: ApiServer) -> None:
    routes = app_routes(server)
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema_of(server)["paths"].items()
        for method in item
        if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
    }

    unclassified = [r for r in sorted(set(routes) | documented) if r not in ROUTES]
    gone = [r for r in ROUTES if r not in routes]

    assert unclassified == [], "classify these routes in ROUTES:\n" + "\n".join(unclassified)
    assert gone == [], "these classified routes no longer exist:\n" + "\n".join(gone)


def request_for(route: str, world: World, client: Any, token: str | None = None) -> httpx.Response:
    method, path = route.split(" ", 1)
    values = {name: str(uuid.uuid4()) for name in _PARAM.findall(path)}
    values |= {k: v for k, v in world.objects_of_a.items() if k in values}
    headers = {"Idempotency-Key": new_key()} if method == "POST" else {}
    url = fill(path, values)
    return client.request(method, url, json=bodies_for(route, world), headers=headers, token=token)


def test_every_non_public_route_refuses_a_caller_without_a_token(
    server: ApiServer, world: World
) -> None:
    anonymous = server.client(world.tenant)
    world.clients.append(anonymous)
    let_through = []

    for route, access in sorted(ROUTES.items()):
        if access is Access.PUBLIC or route not in app_routes_cache(server):
            continue
        response = request_for(route, world, anonymous)
        if response.status_code != 401 or response.json().get("code") != "authentication-required":
            let_through.append(f"{route} → {response.status_code} {response.text[:200]}")

    assert let_through == [], "\n".join(let_through)


def test_every_operator_route_refuses_a_customer(server: ApiServer, world: World) -> None:
    before = expect(world.a.client.get("/me"), 200)
    reached = []

    for route, access in sorted(ROUTES.items()):
        if access is not Access.OPERATOR or route not in app_routes_cache(server):
            continue
        response = request_for(route, world, world.b.client)
        if response.status_code not in (403, 404):
            reached.append(f"{route} → {response.status_code} {response.text[:200]}")

    assert reached == [], "\n".join(reached)
    assert expect(world.a.client.get("/me"), 200) == before


def test_an_operator_reaches_the_operator_routes_a_customer_cannot(
    server: ApiServer, world: World
) -> None:
    operator = register(server, world.tenant, role="operator")
    a_id = world.objects_of_a["user_id"]

    shown = operator.client.get(f"/admin/users/{a_id}")
    audit = operator.client.get("/admin/audit-events")

    assert expect(shown, 200)["id"] == a_id
    assert expect(audit, 200)["items"]
    assert world.b.client.get(f"/admin/users/{a_id}").status_code in (403, 404)


_ROUTES_CACHE: dict[str, list[str]] = {}


def app_routes_cache(server: ApiServer) -> list[str]:
    if server.url not in _ROUTES_CACHE:
        _ROUTES_CACHE[server.url] = app_routes(server)
    return _ROUTES_CACHE[server.url]


# -- S-03 ------------------------------------------------------------------------------------------

SMUGGLED = {
    "balance": money("1000000.00"),
    "role": "operator",
    "kyc_tier": 3,
    "status": "active",
    "owner": "someone-else",
    "owner_id": str(uuid.uuid4()),
    "user_id": str(uuid.uuid4()),
    "limits": {"daily": money("1000000.00")},
    "scopes": ["operator"],
    "email_verified": True,
}


def state_of(server: ApiServer, user: TestUser) -> dict[str, Any]:
    me = expect(user.client.get("/me"), 200)
    return {
        "me": me,
        "limits": expect(user.client.get("/limits"), 200),
        "wallet": expect(user.client.get("/wallet"), 200),
        "payees": expect(user.client.get("/payees"), 200),
        "entries": entry_count(server, user.tenant_id),
    }


@pytest.mark.parametrize("field_name", sorted(SMUGGLED))
def test_a_profile_update_cannot_smuggle_privileged_fields(
    server: ApiServer, world: World, field_name: str
) -> None:
    before = state_of(server, world.a)

    response = world.a.client.patch(
        "/me", {"display_name": "Still Me", field_name: SMUGGLED[field_name]}
    )

    assert response.status_code in (200, 400, 422), response.text
    after = state_of(server, world.a)
    if response.status_code == 200:
        after["me"]["display_name"] = before["me"]["display_name"]  # the one allowed change
        world.a.client.patch("/me", {"display_name": before["me"]["display_name"]})
    assert after == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/wallet/accounts", {"currency": "EUR"}),
        ("/payees", {"nickname": "c2"}),
        ("/payment-requests", {"amount": money("1.00")}),
    ],
)
def test_creating_objects_cannot_smuggle_privileged_fields(
    server: ApiServer, world: World, path: str, body: dict[str, Any]
) -> None:
    before = state_of(server, world.b)
    if path != "/wallet/accounts":
        body = body | ({"to": world.c.to()} if path == "/payees" else {"from": world.c.to()})

    refused = [
        f"{name} → {r.status_code}"
        for name, value in SMUGGLED.items()
        if (r := world.b.client.post(path, body | {name: value})).status_code not in (400, 422)
    ]

    assert refused == []
    assert state_of(server, world.b) == before


def test_a_transfer_cannot_smuggle_privileged_fields(server: ApiServer, world: World) -> None:
    before = state_of(server, world.b)
    body = transfer_body(world.c.to(), "1.00", quote_fee(world.b, world.c.to(), "1.00"))
    extras = SMUGGLED | {"fee_waived": True, "from": world.a.to(), "status": "completed"}

    answers = {
        name: world.b.client.post("/transfers", body | {name: value}, key=new_key()).status_code
        for name, value in extras.items()
    }

    assert set(answers.values()) <= {400, 422}, answers
    assert state_of(server, world.b) == before


def test_sign_up_cannot_smuggle_a_role_or_tier(server: ApiServer, world: World) -> None:
    anonymous = server.client(world.tenant)
    world.clients.append(anonymous)
    body = {
        "verification_id": str(uuid.uuid4()),
        "code": "000000",
        "password": "Correct-Horse-Battery-42",
        "handle": "smuggler",
        "display_name": "Smuggler",
    }

    answers = {
        name: anonymous.post("/signup", body | {name: value}).status_code
        for name, value in SMUGGLED.items()
    }

    assert set(answers.values()) <= {400, 422}, answers


def test_after_every_smuggling_attempt_the_customer_keeps_tier_one_and_no_operator_role(
    world: World,
) -> None:
    limits = expect(world.b.client.get("/limits"), 200)
    me = expect(world.b.client.get("/me"), 200)

    assert (limits["tier"], me["kyc_tier"], me["role"]) == (1, 1, "customer")
    assert (expect(world.a.client.get("/me"), 200)["kyc_tier"]) == 1


# -- secrets in responses --------------------------------------------------------------------------


def test_no_response_carries_hashes_secrets_or_other_sessions_tokens(
    server: ApiServer, world: World
) -> None:
    d = register(server, world.tenant)
    world.clients.append(d.client)
    enrolled = expect(d.client.post("/me/totp"), 201)
    secret = enrolled["secret"]
    confirmed = expect(d.client.post("/me/totp/confirm", {"code": pyotp.TOTP(secret).now()}), 200)
    recovery = confirmed["recovery_codes"]
    expect(d.client.get("/me"), 200)
    expect(d.client.get("/auth/sessions"), 200)
    expect(world.a.client.get("/auth/sessions"), 200)

    tokens = {world.a.token, world.b.token, world.c.token, d.token}
    findings = []
    for client in world.clients:
        for response in client.responses:
            text = response.text
            where = f"{response.request.method} {response.request.url.path}"
            if "$argon2" in text:
                findings.append(f"{where}: a password hash")
            if secret in text and not where.endswith("/me/totp"):
                findings.append(f"{where}: the TOTP secret")
            if any(code in text for code in recovery) and not where.endswith(
                ("/me/totp/confirm", "/me/recovery-codes")
            ):
                findings.append(f"{where}: a recovery code")
            if any(token and token in text for token in tokens):
                findings.append(f"{where}: a bearer token")
    assert findings == [], "\n".join(findings)
