"""Routes for the caller's own security events, the operator's audit log and the in-app activity
feed; the refusal auditor the problem handler calls; and the database-backed Litestar stores.

Every route here requires authentication (it takes ``actor``). The audit routes page newest first
with an opaque ``cursor``; the activity feed pages forward with ``after`` (the last item id seen),
which is what a live feed polls with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import SecurityRequirement
from litestar.params import QueryParameter
from litestar.stores.base import Store

from walletbridge.adapters.db.kv_store import SqlKeyValueStore
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.audit import ActorKind, AuditEvent, AuditRecord, Outcome
from walletbridge.domain.errors import DomainError
from walletbridge.domain.instants import iso_utc as iso
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import ActivityItem
from walletbridge.entrypoints.api.observability import request_id_of
from walletbridge.entrypoints.api.problems import example_response as ok_spec
from walletbridge.entrypoints.api.problems import problem_spec
from walletbridge.services.audit import MAX_PAGE, AuditFilter, AuditPage, AuditService
from walletbridge.services.notifications import NotificationService

log = structlog.get_logger("walletbridge.api")
SECURITY: list[SecurityRequirement] = [{"BearerToken": []}]
US_PER_SECOND = 1_000_000
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Items per page (1-100).")]
Cursor = Annotated[
    str | None, QueryParameter(description="`next_cursor` of the previous page.", max_length=40)
]


@dataclass(frozen=True, slots=True)
class AuditEventView:
    id: str
    at: str
    """When, ISO 8601 UTC."""
    action: str
    outcome: str
    actor_kind: str
    actor_id: str | None
    object_type: str | None
    object_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEventPage:
    items: list[AuditEventView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ActivityView:
    id: str
    kind: str
    created_at: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActivityPage:
    items: list[ActivityView]
    next_cursor: str | None
    """The last item's id: pass it as ``after`` to get what comes next (null: nothing yet)."""


def micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * US_PER_SECOND)


def event_view(event: AuditEvent) -> AuditEventView:
    record = event.record
    return AuditEventView(
        id=event.id,
        at=iso(event.at_us),
        action=record.action,
        outcome=record.outcome.value,
        actor_kind=record.actor_kind.value,
        actor_id=record.actor_id,
        object_type=record.object_type,
        object_id=record.object_id,
        ip=record.ip,
        user_agent=record.user_agent,
        request_id=record.request_id,
        details=dict(record.details),
    )


def page_view(page: AuditPage) -> AuditEventPage:
    return AuditEventPage([event_view(e) for e in page.items], page.next_cursor)


def activity_view(item: ActivityItem) -> ActivityView:
    return ActivityView(item.id, item.kind, iso(item.created_at_us), dict(item.payload))


EXAMPLE_EVENT = {
    "id": "01936f8e-4c1a-7b2e-9d3f-2a6b8c0e1f47",
    "at": "2026-01-05T09:30:12.345Z",
    "action": "auth.login.succeeded",
    "outcome": "success",
    "actor_kind": "customer",
    "actor_id": "01936f8e-0000-7000-8000-000000000001",
    "object_type": "session",
    "object_id": "01936f8e-4c1a-7b2e-9d3f-2a6b8c0e1f40",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
    "request_id": "6f1c2a9e0b7d4c3a",
    "details": {"method": "password"},
}
EXAMPLE_ACTIVITY = {
    "id": "01936f8e-5d2b-7c3f-8e4a-3b7c9d1f2a58",
    "kind": "transfer.received",
    "created_at": "2026-01-05T09:31:00.000Z",
    "data": {"transfer_id": "01936f8e-5d2b-7000-8000-00000000abcd", "amount": "12.34"},
}


UNAUTHENTICATED = problem_spec(401, "authentication-required", "Sign in first.")
BAD_CURSOR = problem_spec(400, "cursor-invalid", "The cursor is not one this list handed out.")


def platform_routes(container: Container) -> list[HTTPRouteHandler]:
    return [
        security_events_route(container.audit),
        audit_events_route(container.audit),
        activity_route(container.notifications),
    ]


def security_events_route(audit: AuditService) -> HTTPRouteHandler:
    @get(
        "/api/v1/me/security-events",
        sync_to_thread=True,
        tags=["security"],
        summary="List my security events",
        description=(
            "The caller's own audit records, newest first: sign-ins, refusals, security "
            "changes and payments. Never contains passwords, codes or tokens."
        ),
        security=SECURITY,
        responses={
            200: ok_spec(
                AuditEventPage,
                {"items": [EXAMPLE_EVENT], "next_cursor": "a1f"},
                "One page of events.",
            ),
            400: BAD_CURSOR,
            401: UNAUTHENTICATED,
        },
    )
    def security_events(
        actor: NamedDependency[Actor], cursor: Cursor = None, limit: Limit = 50
    ) -> AuditEventPage:
        return page_view(audit.security_events_for(actor, cursor=cursor, limit=limit))

    return security_events


def audit_events_route(audit: AuditService) -> HTTPRouteHandler:
    @get(
        "/api/v1/admin/audit-events",
        sync_to_thread=True,
        tags=["operator"],
        summary="Search the audit log",
        description=(
            "The tenant's audit log, newest first, filtered by action, user and time "
            "(`since` inclusive, `until` exclusive, ISO 8601). Operators only."
        ),
        security=SECURITY,
        responses={
            200: ok_spec(
                AuditEventPage,
                {"items": [EXAMPLE_EVENT], "next_cursor": None},
                "One page of events.",
            ),
            400: BAD_CURSOR,
            401: UNAUTHENTICATED,
            403: problem_spec(403, "operator-only", "Only an operator may do this."),
        },
    )
    def audit_events(
        actor: NamedDependency[Actor],
        cursor: Cursor = None,
        limit: Limit = 50,
        action: Annotated[str | None, QueryParameter(max_length=100)] = None,
        user_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="ISO 8601, inclusive.")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="ISO 8601, exclusive.")
        ] = None,
    ) -> AuditEventPage:
        filters = AuditFilter(
            action=action, user_id=user_id, since_us=micros(since), until_us=micros(until)
        )
        return page_view(audit.audit_events(actor, filters, cursor=cursor, limit=limit))

    return audit_events


def activity_route(notifications: NotificationService) -> HTTPRouteHandler:
    @get(
        "/api/v1/activity",
        sync_to_thread=True,
        tags=["activity"],
        summary="Read my activity feed",
        description=(
            "The caller's in-app activity (money in and out, requests, security notices) in "
            "the order it happened. Without `after`: the latest items. With `after` (the last "
            "id seen): the items since; poll with `next_cursor` for a live feed."
        ),
        security=SECURITY,
        responses={
            200: ok_spec(
                ActivityPage,
                {"items": [EXAMPLE_ACTIVITY], "next_cursor": EXAMPLE_ACTIVITY["id"]},
                "Feed items, oldest first.",
            ),
            400: BAD_CURSOR,
            401: UNAUTHENTICATED,
        },
    )
    def activity(
        actor: NamedDependency[Actor],
        after: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Limit = 50,
    ) -> ActivityPage:
        items = notifications.activity_for(actor.tenant_id, actor.user_id, after, limit)
        last = items[-1].id if items else after
        return ActivityPage([activity_view(item) for item in items], last)

    return activity


ACTOR_STATE_KEY = "walletbridge.actor"
TENANT_STATE_KEY = "walletbridge.tenant_id"


def remember_caller(
    request: Request[Any, Any, Any], *, tenant_id: str | None = None, actor: Actor | None = None
) -> None:
    """Note who is calling on the request, for the refusal auditor: the auth dependencies call
    this once they know the tenant and (after authentication) the actor, so a later 403 is
    recorded against the right user and tenant."""
    state: dict[str, Any] = request.scope.setdefault("state", {})
    if tenant_id is not None:
        state[TENANT_STATE_KEY] = tenant_id
    if actor is not None:
        state[ACTOR_STATE_KEY] = actor
        state[TENANT_STATE_KEY] = actor.tenant_id


def refusal_auditor(container: Container) -> Callable[[Request[Any, Any, Any], DomainError], None]:
    """The ``app.state["on_refusal"]`` hook: append an audit record for a 401/403 refusal, in a
    transaction of its own, naming the caller noted by ``remember_caller`` (anonymous without).
    It never fails the response: a failure to audit is logged."""

    def audit_refusal(request: Request[Any, Any, Any], error: DomainError) -> None:
        state = request.scope.get("state", {})
        actor = state.get(ACTOR_STATE_KEY)
        known = actor if isinstance(actor, Actor) else None
        tenant = state.get(TENANT_STATE_KEY)
        record = AuditRecord(
            tenant_id=known.tenant_id
            if known
            else (TenantId(tenant) if isinstance(tenant, str) else None),
            action="request.refused",
            outcome=Outcome.DENIED,
            actor_kind=ActorKind(known.role.value) if known else ActorKind.ANONYMOUS,
            actor_id=known.user_id if known else None,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            request_id=request_id_of(request.scope),
            details={
                "error": error.code,
                "method": request.method,
                "route": str(request.scope.get("path_template") or request.url.path)[:200],
            },
        )
        try:
            container.audit.record(record)
        except Exception:
            log.exception("refusal not audited", error=error.code)

    return audit_refusal


def litestar_stores(container: Container) -> dict[str, Store]:
    """Litestar's named stores, in the database so every process shares them: ``sessions`` for
    server-side browser sessions, ``rate_limit`` for ``RateLimitConfig``."""
    root = SqlKeyValueStore(container.engine, clock=container.clock)
    return {"sessions": root.with_namespace("sessions"), "rate_limit": root.with_namespace("rl")}
