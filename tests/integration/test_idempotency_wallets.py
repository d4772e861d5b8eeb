"""QUALITY R-04 at the service level: one execution per key and caller, identical replays,
refusals stored against the key, other bodies refused, keys reusable after their retention."""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock
from tests.integration.wallet_people import People, configuration, eur, people_for
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.audit import AuditQuery
from walletbridge.domain.errors import DomainError, InsufficientFunds
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.payments import (
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    RecipientRef,
)
from walletbridge.ports import UnitOfWork
from walletbridge.services.payment_plans import TransferOrder
from walletbridge.services.wallets import WalletService


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def people(app: Container, tenant: TenantId, clock: FakeClock) -> People:
    wallets = WalletService(app.runner, clock, app.ids, app.service_settings)
    return people_for(app, tenant, wallets, configuration(basis_points=0))


def test_the_same_key_and_body_replays_the_identical_answer_and_pays_once(
    people: People,
) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "10.00")
    first = people.pay(alice, bob, "3.00", key="same-key", note="lunch")
    replays = [people.pay(alice, bob, "3.00", key="same-key", note="lunch") for _ in range(100)]
    assert all(r.status_code == first.status_code for r in replays)  # type: ignore[attr-defined]
    assert all(r.body == first.body for r in replays)  # type: ignore[attr-defined]
    assert all(r.replayed for r in replays)  # type: ignore[attr-defined]
    assert people.posted(alice) == 7_00
    assert people.posted(bob) == 3_00


def test_the_same_key_with_another_body_is_refused_and_pays_nothing(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "10.00")
    people.pay(alice, bob, "3.00", key="k1")
    with pytest.raises(IdempotencyKeyReused):
        people.pay(alice, bob, "4.00", key="k1")
    assert people.posted(alice) == 7_00


def test_a_business_refusal_is_stored_and_replayed_even_once_funds_arrive(
    people: People,
) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "1.00")
    with pytest.raises(InsufficientFunds) as first:
        people.pay(alice, bob, "3.00", key="poor")
    people.fund(alice, "10.00")
    with pytest.raises(DomainError) as again:
        people.pay(alice, bob, "3.00", key="poor")
    assert again.value.code == first.value.code == "insufficient-funds"
    assert again.value.message == first.value.message
    assert people.posted(alice) == 11_00


def test_a_key_past_its_retention_is_a_new_request(people: People, clock: FakeClock) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "10.00")
    people.pay(alice, bob, "3.00", key="old")
    clock.advance(people.app.service_settings.idempotency_retention_seconds + 1)
    again = people.pay(alice, bob, "4.00", key="old")
    assert not again.replayed  # type: ignore[attr-defined]
    assert people.posted(alice) == 3_00


def test_purging_removes_only_expired_keys(people: People, clock: FakeClock) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "10.00")
    people.pay(alice, bob, "1.00", key="purged")
    clock.advance(people.app.service_settings.idempotency_retention_seconds + 1)
    people.pay(alice, bob, "1.00", key="kept")
    assert people.wallets.purge_idempotency_keys() >= 1
    replay = people.pay(alice, bob, "1.00", key="kept")
    assert replay.replayed  # type: ignore[attr-defined]
    assert people.posted(alice) == 8_00


def test_keys_are_scoped_per_caller(people: People) -> None:
    alice, bob, carol = people.customer(), people.customer(), people.customer()
    people.fund(alice, "10.00")
    people.fund(bob, "10.00")
    people.pay(alice, carol, "1.00", key="shared")
    second = people.pay(bob, carol, "1.00", key="shared")
    assert not second.replayed  # type: ignore[attr-defined]
    assert people.posted(carol) == 2_00


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (None, IdempotencyKeyMissing),
        ("", IdempotencyKeyInvalid),
        ("k" * 256, IdempotencyKeyInvalid),
    ],
)
def test_a_missing_or_malformed_key_is_refused_before_anything_moves(
    people: People, key: str | None, error: type[DomainError]
) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "10.00")
    order = TransferOrder(
        RecipientRef(RecipientKind.HANDLE, bob.handle), eur("1.00"), eur("0.00"), None
    )
    with pytest.raises(error):
        people.wallets.payments.transfer(people.actor(alice), order, key)
    assert people.posted(alice) == 10_00


def test_money_movements_and_refusals_are_audited(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "2.00")
    people.pay(alice, bob, "1.00", key="ok")
    with pytest.raises(InsufficientFunds):
        people.pay(alice, bob, "5.00", key="too-much")

    def actions(uow: UnitOfWork) -> list[str]:
        query = AuditQuery(tenant_id=people.tenant, actor_id=alice.user_id)
        return [event.record.action for event in uow.audit.events(query)]

    assert people.app.runner.read(actions) == ["payment.p2p.refused", "payment.p2p.sent"]
