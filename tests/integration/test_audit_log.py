"""The audit log: records are appended in their own transaction or with a use case's, read back
newest first by cursor, filtered for operators, and never changed: the database refuses UPDATE and
DELETE on both engines."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, Role, Scope, SessionId, UserId
from walletbridge.domain.audit import (
    ActorKind,
    AuditCursorInvalid,
    AuditRecord,
    OperatorOnly,
    Outcome,
)
from walletbridge.domain.ledger import TenantId
from walletbridge.ports import UnitOfWork
from walletbridge.services.audit import AuditFilter


def customer(tenant: TenantId) -> Actor:
    return Actor(tenant, UserId(f"user-{secrets.token_hex(4)}"), SessionId("s1"))


def operator(tenant: TenantId) -> Actor:
    return Actor(
        tenant,
        UserId("operator-1"),
        SessionId("s2"),
        role=Role.OPERATOR,
        scopes=frozenset({Scope.OPERATOR}),
    )


def record_of(actor: Actor, action: str = "auth.login.succeeded") -> AuditRecord:
    return AuditRecord(
        tenant_id=actor.tenant_id,
        action=action,
        outcome=Outcome.SUCCESS,
        actor_kind=ActorKind.CUSTOMER,
        actor_id=actor.user_id,
        ip="127.0.0.1",
        details={"method": "password"},
    )


def test_a_user_reads_their_own_events_newest_first_page_by_page(
    app: Container, tenant: TenantId
) -> None:
    alice, bob = customer(tenant), customer(tenant)
    for number in range(5):
        app.audit.record(record_of(alice, f"test.step{number}.done"))
    app.audit.record(record_of(bob))

    first = app.audit.security_events_for(alice, limit=3)
    second = app.audit.security_events_for(alice, cursor=first.next_cursor, limit=3)

    actions = [event.record.action for event in first.items + second.items]
    assert actions == [f"test.step{number}.done" for number in (4, 3, 2, 1, 0)]
    assert second.next_cursor is None
    assert all(event.record.actor_id == alice.user_id for event in first.items + second.items)


def test_a_record_written_in_a_use_case_commits_with_it(app: Container, tenant: TenantId) -> None:
    alice = customer(tenant)

    def rolled_back(uow: UnitOfWork) -> None:
        uow.audit.append(record_of(alice, "test.rolled.back"), app.clock.now_us())

    def committed(uow: UnitOfWork) -> None:
        uow.audit.append(record_of(alice, "test.committed"), app.clock.now_us())
        uow.commit()

    app.runner.write(rolled_back)
    app.runner.write(committed)

    actions = [e.record.action for e in app.audit.security_events_for(alice).items]
    assert actions == ["test.committed"]


def test_an_operator_filters_the_tenants_log(app: Container, tenant: TenantId) -> None:
    alice, bob = customer(tenant), customer(tenant)
    app.audit.record(record_of(alice, "auth.login.failed"))
    app.audit.record(record_of(bob, "auth.login.failed"))
    app.audit.record(record_of(bob, "auth.logout.succeeded"))

    by_action = app.audit.audit_events(operator(tenant), AuditFilter(action="auth.login.failed"))
    by_user = app.audit.audit_events(operator(tenant), AuditFilter(user_id=bob.user_id))

    assert {e.record.actor_id for e in by_action.items} == {alice.user_id, bob.user_id}
    assert [e.record.action for e in by_user.items] == [
        "auth.logout.succeeded",
        "auth.login.failed",
    ]


def test_a_time_window_filters_the_log(app: Container, tenant: TenantId) -> None:
    alice = customer(tenant)
    app.audit.record(record_of(alice))
    everything = app.audit.audit_events(operator(tenant)).items
    moment = everything[0].at_us

    later = app.audit.audit_events(operator(tenant), AuditFilter(since_us=moment + 1))
    until = app.audit.audit_events(operator(tenant), AuditFilter(until_us=moment + 1))

    assert later.items == []
    assert until.items[0].id == everything[0].id


def test_a_customer_cannot_read_the_tenants_log(app: Container, tenant: TenantId) -> None:
    with pytest.raises(OperatorOnly):
        app.audit.audit_events(customer(tenant))


def test_an_operator_without_the_operator_scope_cannot_either(
    app: Container, tenant: TenantId
) -> None:
    scoped_down = Actor(tenant, UserId("op"), SessionId("s"), role=Role.OPERATOR)

    with pytest.raises(OperatorOnly):
        app.audit.audit_events(scoped_down)


def test_a_forged_cursor_is_refused(app: Container, tenant: TenantId) -> None:
    with pytest.raises(AuditCursorInvalid):
        app.audit.security_events_for(customer(tenant), cursor="not-a-cursor")


def test_another_tenants_records_are_not_visible(app: Container, tenant: TenantId) -> None:
    other = app.tenants.create(f"t-{secrets.token_hex(6)}", "Other bank", "EUR").id
    app.audit.record(record_of(customer(other)))

    assert app.audit.audit_events(operator(tenant)).items == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'tampered'",
        "DELETE FROM audit_events",
    ],
)
def test_the_database_refuses_to_change_or_remove_records(
    app: Container, tenant: TenantId, statement: str
) -> None:
    app.audit.record(record_of(customer(tenant)))

    with app.engine.connect() as connection, pytest.raises(DBAPIError, match="audit-append-only"):
        connection.execute(text(statement))
