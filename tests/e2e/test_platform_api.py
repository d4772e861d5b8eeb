"""The platform's HTTP routes through a real Litestar app: the caller's security events, the
operator's audit log, the activity feed, and refusals written to the audit log.

The app here mounts the platform routes with a stand-in ``actor`` dependency (the caller named by
test headers), so these tests exercise this module's contract independently of sign-in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Request
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.testing import TestClient

from walletbridge.adapters.db.kv_store import SqlKeyValueStore
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import CUSTOMER_SCOPES, Actor, Role, Scope, SessionId, UserId
from walletbridge.domain.audit import ActorKind, AuditRecord, Outcome
from walletbridge.domain.identity import AuthenticationRequired
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import OutboxMessage
from walletbridge.entrypoints.api.platform import (
    litestar_stores,
    platform_routes,
    refusal_auditor,
    remember_caller,
)
from walletbridge.entrypoints.api.problems import EXCEPTION_HANDLERS
from walletbridge.ports import UnitOfWork


def make_app(container: Container, tenant: TenantId) -> Litestar:
    def actor(request: Request[Any, Any, Any]) -> Actor:
        remember_caller(request, tenant_id=tenant)
        user = request.headers.get("x-test-user")
        if not user:
            raise AuthenticationRequired()
        operator = request.headers.get("x-test-role") == "operator"
        caller = Actor(
            tenant,
            UserId(user),
            SessionId("session-1"),
            role=Role.OPERATOR if operator else Role.CUSTOMER,
            scopes=frozenset({Scope.OPERATOR}) if operator else CUSTOMER_SCOPES,
        )
        remember_caller(request, actor=caller)
        return caller

    app = Litestar(
        route_handlers=platform_routes(container),
        dependencies={"actor": Provide(actor, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(title="t", version="1", path="/api/schema"),
        stores=litestar_stores(container),
    )
    app.state["on_refusal"] = refusal_auditor(container)
    return app


@pytest.fixture
def client(app: Container, tenant: TenantId) -> Iterator[TestClient[Litestar]]:
    with TestClient(make_app(app, tenant)) as test_client:
        yield test_client


def user() -> str:
    return f"user-{secrets.token_hex(4)}"


def as_user(user_id: str, role: str = "customer") -> dict[str, str]:
    return {"x-test-user": user_id, "x-test-role": role}


def login_record(tenant: TenantId, user_id: str, action: str) -> AuditRecord:
    return AuditRecord(
        tenant, action, Outcome.SUCCESS, ActorKind.CUSTOMER, actor_id=user_id, ip="127.0.0.1"
    )


def test_a_user_pages_through_their_own_security_events(
    client: TestClient[Litestar], app: Container, tenant: TenantId
) -> None:
    alice, bob = user(), user()
    for step in range(3):
        app.audit.record(login_record(tenant, alice, f"auth.step{step}.done"))
    app.audit.record(login_record(tenant, bob, "auth.login.succeeded"))

    first = client.get("/api/v1/me/security-events?limit=2", headers=as_user(alice)).json()
    second = client.get(
        f"/api/v1/me/security-events?limit=2&cursor={first['next_cursor']}",
        headers=as_user(alice),
    ).json()

    actions = [item["action"] for item in first["items"] + second["items"]]
    assert actions == ["auth.step2.done", "auth.step1.done", "auth.step0.done"]
    assert second["next_cursor"] is None
    assert first["items"][0]["at"].endswith("Z")


def test_a_customer_is_refused_the_audit_log_and_the_refusal_is_audited(
    client: TestClient[Litestar], app: Container, tenant: TenantId
) -> None:
    mallory = user()

    response = client.get("/api/v1/admin/audit-events", headers=as_user(mallory))

    assert response.status_code == 403
    assert response.json()["code"] == "operator-only"
    own = client.get("/api/v1/me/security-events", headers=as_user(mallory)).json()
    assert own["items"][0]["action"] == "request.refused"
    assert own["items"][0]["details"]["error"] == "operator-only"
    assert own["items"][0]["outcome"] == "denied"


def test_an_unauthenticated_request_is_refused_and_audited_anonymously(
    client: TestClient[Litestar],
) -> None:
    response = client.get("/api/v1/activity", headers={"user-agent": "probe/1.0"})

    assert response.status_code == 401
    log = client.get(
        "/api/v1/admin/audit-events?action=request.refused",
        headers=as_user(user(), "operator"),
    ).json()
    refusal = log["items"][0]
    assert refusal["actor_kind"] == "anonymous"
    assert refusal["actor_id"] is None
    assert refusal["user_agent"] == "probe/1.0"
    assert refusal["details"] == {
        "error": "authentication-required",
        "method": "GET",
        "route": "/api/v1/activity",
    }


def test_an_operator_filters_the_audit_log(
    client: TestClient[Litestar], app: Container, tenant: TenantId
) -> None:
    alice, bob = user(), user()
    app.audit.record(login_record(tenant, alice, "auth.login.failed"))
    app.audit.record(login_record(tenant, bob, "auth.login.failed"))
    app.audit.record(login_record(tenant, bob, "auth.logout.succeeded"))
    operator = as_user(user(), "operator")

    by_user = client.get(f"/api/v1/admin/audit-events?user_id={bob}", headers=operator).json()
    by_action = client.get(
        "/api/v1/admin/audit-events?action=auth.login.failed&since=2020-01-01T00:00:00Z",
        headers=operator,
    ).json()
    none_yet = client.get(
        "/api/v1/admin/audit-events?until=2020-01-01T00:00:00Z", headers=operator
    ).json()

    assert [i["action"] for i in by_user["items"]] == ["auth.logout.succeeded", "auth.login.failed"]
    assert {i["actor_id"] for i in by_action["items"]} == {alice, bob}
    assert none_yet["items"] == []


def test_a_forged_cursor_is_a_bad_request(client: TestClient[Litestar]) -> None:
    response = client.get("/api/v1/me/security-events?cursor=zzz", headers=as_user(user()))

    assert response.status_code == 400
    assert response.json()["code"] == "cursor-invalid"


def test_the_activity_feed_shows_delivered_events_after_a_cursor(
    client: TestClient[Litestar], app: Container, tenant: TenantId
) -> None:
    alice = user()
    messages = [
        OutboxMessage.activity(app.ids.new_id(), tenant, user_id=alice, kind=f"step.{n}", n=n)
        for n in range(3)
    ]

    def enqueue(uow: UnitOfWork) -> None:
        for offset, message in enumerate(messages):
            uow.outbox.add(message, app.clock.now_us() + offset)
        uow.commit()

    app.runner.write(enqueue)
    while app.notifications.deliver_pending():
        pass

    latest = client.get("/api/v1/activity", headers=as_user(alice)).json()
    after_first = client.get(
        f"/api/v1/activity?after={messages[0].id}", headers=as_user(alice)
    ).json()
    not_mine = client.get(f"/api/v1/activity?after={messages[0].id}", headers=as_user(user()))

    assert [item["kind"] for item in latest["items"]] == ["step.0", "step.1", "step.2"]
    assert latest["items"][1]["data"] == {"n": 1}
    assert [item["kind"] for item in after_first["items"]] == ["step.1", "step.2"]
    assert after_first["next_cursor"] == messages[2].id
    assert not_mine.status_code == 400


def test_every_platform_operation_is_documented(client: TestClient[Litestar]) -> None:
    document = client.get("/api/schema/openapi.json").json()

    for path in ("/api/v1/me/security-events", "/api/v1/admin/audit-events", "/api/v1/activity"):
        operation = document["paths"][path]["get"]
        assert operation["summary"] and operation["description"] and operation["tags"]
        assert operation["security"] == [{"BearerToken": []}]
        assert {"200", "401"} <= set(operation["responses"])


def test_sessions_and_rate_limits_are_kept_in_the_database(client: TestClient[Litestar]) -> None:
    stores = client.app.stores

    assert isinstance(stores.get("sessions"), SqlKeyValueStore)
    assert isinstance(stores.get("rate_limit"), SqlKeyValueStore)
