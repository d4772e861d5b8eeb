"""Races on PostgreSQL with real threads: one execution per idempotency key, one payment per
request to pay, and no overdraft however many payments race out of one wallet (QUALITY R-01,
R-04)."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from threading import Barrier

import pytest
from sqlalchemy import text

from tests.integration.wallet_people import People, configuration, eur, people_for
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.errors import DomainError
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.payments import RecipientRef
from walletbridge.services.payment_plans import TransferOrder
from walletbridge.services.wallets import WalletService


@pytest.fixture
def people(pg_app: Container) -> People:
    tenant = pg_app.tenants.create(f"t-{secrets.token_hex(6)}", "Race bank", "EUR").id
    settings = replace(pg_app.service_settings, transfers_per_minute=100_000)
    wallets = WalletService(pg_app.runner, pg_app.clock, pg_app.ids, settings)
    return people_for(pg_app, TenantId(tenant), wallets, configuration(basis_points=0))


def race(n: int, fn: Callable[[int], object]) -> list[object]:
    """Run ``fn(i)`` for i < n on n threads released together; return results or errors."""
    barrier = Barrier(min(n, 50))

    def run(i: int) -> object:
        if i < 50:
            barrier.wait(timeout=30)
        try:
            return fn(i)
        except DomainError as error:
            return error

    with ThreadPoolExecutor(max_workers=min(n, 50)) as pool:
        return list(pool.map(run, range(n)))


def entries_of(app: Container, tenant: TenantId) -> int:
    with app.engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM entries WHERE tenant_id = :t "
                    "AND idempotency_key LIKE 'p2p:%'"
                ),
                {"t": tenant},
            ).scalar_one()
        )


def test_fifty_concurrent_requests_with_one_key_post_once(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "100.00")
    order = TransferOrder(RecipientRef(RecipientKind.HANDLE, bob.handle), eur("5.00"), eur("0.00"))
    results = race(
        50, lambda _: people.wallets.payments.transfer(people.actor(alice), order, "one-key")
    )
    answers = [r for r in results if not isinstance(r, DomainError)]
    refusals = [r.code for r in results if isinstance(r, DomainError)]
    assert set(refusals) <= {"idempotency-request-in-flight"}
    assert len({str(a.body) for a in answers}) == 1  # type: ignore[attr-defined]
    assert entries_of(people.app, people.tenant) == 1
    assert people.posted(alice) == 95_00


def test_two_concurrent_accepts_of_one_request_pay_once(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(bob, "50.00")
    for _ in range(5):
        asked = people.wallets.requests.create(
            people.actor(alice), RecipientRef(RecipientKind.HANDLE, bob.handle), eur("10.00"), None
        )
        results = race(
            2,
            lambda i, asked=asked: people.wallets.requests.accept(
                people.actor(bob), asked.id, eur("0.00"), f"accept-{asked.id}-{i}"
            ),
        )
        codes = sorted(r.code if isinstance(r, DomainError) else "paid" for r in results)
        assert codes == ["paid", "payment-request-not-pending"]
    assert people.posted(alice) == 50_00
    assert people.posted(bob) == 0


@pytest.mark.parametrize("payee_count", [1, 20])
def test_two_hundred_payments_out_of_ten_euros_let_exactly_ten_through(
    people: People, payee_count: int
) -> None:
    alice = people.customer()
    payees = [people.customer() for _ in range(payee_count)]
    people.fund(alice, "10.00")
    for payee in payees:  # open their accounts outside the race
        people.wallets.ensure_wallet(people.tenant, payee.user_id)

    def pay(i: int) -> object:
        payee = payees[i % payee_count]
        order = TransferOrder(
            RecipientRef(RecipientKind.HANDLE, payee.handle), eur("1.00"), eur("0.00")
        )
        return people.wallets.payments.transfer(people.actor(alice), order, f"r01-{i}")

    results = race(200, pay)
    outcome = Counter(r.code if isinstance(r, DomainError) else "paid" for r in results)
    assert outcome == {"paid": 10, "insufficient-funds": 190}
    assert people.posted(alice) == 0
    assert sum(people.posted(p) for p in payees) == 10_00
