"""The demo's people: seeded once, found again on every later run, and able to sign in with the
passwords the README lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ENGINES, own_database, settings_for
from walletbridge.bootstrap import Container, build
from walletbridge.domain.actors import Actor, RecipientKind, RequestContext, SessionId
from walletbridge.domain.identity import CredentialsInvalid
from walletbridge.domain.money import Money
from walletbridge.domain.payments import RecipientRef
from walletbridge.services.demo import seed_demo
from walletbridge.services.demo_people import (
    PAYMENTS,
    PEOPLE,
    PeopleServices,
    SeededPerson,
    seed_people,
)


@pytest.fixture(params=ENGINES)
def demo_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    folder = tmp_path_factory.mktemp("demo-people")
    with own_database(request, request.param, folder, "wb_demo_people") as url:
        container = build(settings_for(url, Path(folder)))
        try:
            yield container
        finally:
            container.close()


def seed(app: Container) -> list[SeededPerson]:
    seed_demo(app)
    return seed_people(PeopleServices(app.runner, app.identity, app.wallets, app.currencies))


def balances_of(app: Container, people: list[SeededPerson]) -> dict[str, int]:
    found = {}
    for person in people:
        actor = Actor(person.tenant_id, person.user.user_id, SessionId("test"))
        _, balances = app.wallets.balances(actor)
        found[person.person.handle] = sum(b.posted_minor for b in balances)
    return found


def test_seeding_twice_creates_the_people_once_and_moves_no_money_again(
    demo_app: Container,
) -> None:
    first = seed(demo_app)
    before = balances_of(demo_app, first)
    second = seed(demo_app)

    assert [p.user.user_id for p in second] == [p.user.user_id for p in first]
    assert balances_of(demo_app, second) == before
    assert len(first) == sum(len(people) for people in PEOPLE.values())


def test_the_demo_payments_moved_money_between_the_customers(demo_app: Container) -> None:
    people = seed(demo_app)
    by_handle = {p.person.handle: p for p in people}
    expected = {p.person.handle: p.person.opening_minor for p in people}
    for tenant_id, payments in PAYMENTS.items():
        currency = demo_app.currencies.get(demo_app.tenants.get(tenant_id).home_currency)
        for payer, payee, amount_minor, _ in payments:
            actor = Actor(by_handle[payer].tenant_id, by_handle[payer].user.user_id, SessionId("t"))
            to = RecipientRef(RecipientKind.HANDLE, payee)
            fee = demo_app.wallets.payments.quote(actor, to, Money(amount_minor, currency)).fee
            assert fee.amount_minor > 0, "the demo shows a fee on every payment"
            expected[payer] -= amount_minor + fee.amount_minor
            expected[payee] += amount_minor

    assert balances_of(demo_app, people) == expected


@pytest.mark.parametrize("tenant_id", sorted(PEOPLE))
def test_every_demo_person_signs_in_with_the_listed_password(
    demo_app: Container, tenant_id: str
) -> None:
    people = [p for p in seed(demo_app) if p.tenant_id == tenant_id]
    for person in people:
        result = demo_app.identity.login(
            person.tenant_id, person.person.handle, person.password, context_for_test()
        )
        assert result.token is not None
        with pytest.raises(CredentialsInvalid):
            demo_app.identity.login(
                person.tenant_id, person.person.handle, person.password + "x", context_for_test()
            )


def context_for_test() -> RequestContext:
    return RequestContext(ip="127.0.0.1", user_agent="pytest", request_id="demo-people")
