"""The fast path of a single transfer on both engines: its writes (history, activity, audit,
stored response) commit with the money or not at all, refusals keep their order, cached tenant
terms follow this process's own changes at once, and writes a payment defers never outlive its
transaction."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.integration.wallet_people import People, configuration, people_for
from walletbridge.adapters.db.tables_platform import audit_events, outbox
from walletbridge.adapters.db.tables_wallets import wallet_history
from walletbridge.bootstrap import Container
from walletbridge.domain.audit import ActorKind, AuditRecord, Outcome
from walletbridge.domain.errors import DomainError, InsufficientFunds
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.payments import FeeChanged
from walletbridge.domain.throttle import RateLimited
from walletbridge.ports import UnitOfWork
from walletbridge.services.idempotency import Outcome as Answer
from walletbridge.services.wallets import WalletService


@pytest.fixture
def people(app: Container, tenant: TenantId) -> People:
    return people_for(app, tenant)


def _count(app: Container, statement: object) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())  # type: ignore[call-overload]


def _history_rows(app: Container, tenant: TenantId) -> int:
    return _count(
        app,
        select(func.count())
        .select_from(wallet_history)
        .where(wallet_history.c.tenant_id == tenant),
    )


def _activity(app: Container, tenant: TenantId) -> int:
    return _count(app, select(func.count()).select_from(outbox).where(outbox.c.tenant_id == tenant))


def _audited(app: Container, tenant: TenantId, action: str) -> int:
    t = audit_events.c
    return _count(
        app,
        select(func.count())
        .select_from(audit_events)
        .where(t.tenant_id == tenant, t.action == action),
    )


def test_a_transfer_commits_its_history_activity_audit_and_answer_with_the_money(
    app: Container, tenant: TenantId, people: People
) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "50.00")
    rows, before = _history_rows(app, tenant), _activity(app, tenant)
    key = secrets.token_hex(8)
    first = people.pay(alice, bob, "10.00", key=key)
    assert isinstance(first, Answer) and first.status_code == 201
    assert people.posted(bob) == 10_00
    assert _history_rows(app, tenant) == rows + 2
    assert _activity(app, tenant) == before + 1
    assert _audited(app, tenant, "payment.p2p.sent") == 1
    again = people.pay(alice, bob, "10.00", key=key)
    assert isinstance(again, Answer) and again.replayed and again.body == first.body
    assert people.posted(bob) == 10_00


def test_a_refused_transfer_leaves_no_history_activity_or_success_record(
    app: Container, tenant: TenantId, people: People
) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "5.00")
    rows, before = _history_rows(app, tenant), _activity(app, tenant)
    key = secrets.token_hex(8)
    with pytest.raises(InsufficientFunds):
        people.pay(alice, bob, "5.00", key=key)
    assert _history_rows(app, tenant) == rows
    assert _activity(app, tenant) == before
    assert _audited(app, tenant, "payment.p2p.sent") == 0
    assert _audited(app, tenant, "payment.p2p.refused") == 1
    with pytest.raises(DomainError) as replayed:
        people.pay(alice, bob, "5.00", key=key)  # the stored refusal, replayed
    assert replayed.value.code == InsufficientFunds.code
    assert _audited(app, tenant, "payment.p2p.refused") == 1


def test_a_new_fee_is_charged_from_the_next_payment_on(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "100.00")
    people.pay(alice, bob, "10.00")  # the 0.5 % fee is cached now
    people.wallets.configure_tenant(people.tenant, configuration(basis_points=100))
    with pytest.raises(FeeChanged) as refused:
        people.pay(alice, bob, "10.00", fee="0.05")
    assert refused.value.extensions == {"fee": "0.10", "currency": "EUR"}
    people.pay(alice, bob, "10.00", fee="0.10")
    assert people.fee_revenue() == 5 + 10


def test_writes_deferred_by_a_failed_transaction_never_reach_the_next_one(
    app: Container, tenant: TenantId
) -> None:
    def record(action: str) -> AuditRecord:
        return AuditRecord(tenant, action, Outcome.SUCCESS, ActorKind.SYSTEM)

    def failing(uow: UnitOfWork) -> None:
        uow.wallets.defer_writes()
        uow.audit.append(record("test.deferred.lost"), 1)
        raise RuntimeError("the use case fails before its commit")

    def succeeding(uow: UnitOfWork) -> None:
        uow.audit.append(record("test.written.now"), 2)
        uow.commit()

    with pytest.raises(RuntimeError):
        app.runner.write(failing)
    app.runner.write(succeeding)
    assert _audited(app, tenant, "test.deferred.lost") == 0
    assert _audited(app, tenant, "test.written.now") == 1


def test_a_rate_limited_transfer_is_refused_first_and_stores_nothing_against_its_key(
    app: Container, tenant: TenantId
) -> None:
    clock = FakeClock()
    settings = replace(app.service_settings, transfers_per_minute=1)
    wallets = WalletService(app.runner, clock, app.ids, settings)
    people = people_for(
        app, tenant, wallets, configuration(basis_points=0, per_transaction_minor=5_00)
    )
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "50.00")
    people.pay(alice, bob, "1.00")
    rows = _history_rows(app, tenant)
    with pytest.raises(RateLimited):
        people.pay(alice, bob, "6.00", key="over-both")  # over the per-transaction limit too
    with pytest.raises(RateLimited):
        people.pay(alice, bob, "2.00", key="later")
    assert _history_rows(app, tenant) == rows
    clock.advance(60)
    people.pay(alice, bob, "2.00", key="later")  # a new window: the same key pays now
    assert people.posted(bob) == 3_00


def test_deferred_writes_go_out_with_the_next_statement_that_runs(
    app: Container, tenant: TenantId
) -> None:
    def use_case(uow: UnitOfWork) -> int:
        uow.wallets.defer_writes()
        record = AuditRecord(tenant, "test.deferred.sent", Outcome.SUCCESS, ActorKind.SYSTEM)
        uow.audit.append(record, 1)
        count = uow.throttle.hit(f"test:{tenant}", 0, 60_000_000, 5)
        uow.commit()  # a plain commit: the record went out with the throttle's statement
        return count

    assert app.runner.write(use_case) == 1
    assert _audited(app, tenant, "test.deferred.sent") == 1
