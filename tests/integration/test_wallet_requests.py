"""Requests to pay, batches, payees and history on both engines."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tests.integration.wallet_people import People, configuration, eur, people_for
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.errors import DomainError
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.limits import DailyLimitRaise
from walletbridge.domain.payments import (
    BatchItemRefused,
    HistoryId,
    PayeeExists,
    PayeeNotFound,
    PaymentRequestNotFound,
    RecipientRef,
    RequestNotPending,
    RequestStatus,
)
from walletbridge.services.history import HistoryFilter
from walletbridge.services.payment_plans import TransferOrder


@pytest.fixture
def people(app: Container, tenant: TenantId) -> People:
    return people_for(app, tenant, config=configuration(basis_points=0))


def handle(user: object) -> RecipientRef:
    return RecipientRef(RecipientKind.HANDLE, user.handle)  # type: ignore[attr-defined]


# -- requests to pay -----------------------------------------------------------------------------


def test_an_accepted_request_pays_the_requester_once(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(bob, "50.00")
    asked = people.wallets.requests.create(
        people.actor(alice), handle(bob), eur("20.00"), "tickets"
    )
    incoming = people.wallets.requests.page(people.actor(bob), incoming=True).items
    assert [r.id for r in incoming] == [asked.id]
    paid = people.wallets.requests.accept(people.actor(bob), asked.id, eur("0.00"), "acc-1")
    assert paid.status_code == 201
    assert people.posted(alice) == 20_00
    assert people.posted(bob) == 30_00
    with pytest.raises(RequestNotPending):
        people.wallets.requests.accept(people.actor(bob), asked.id, eur("0.00"), "acc-2")
    again = people.wallets.requests.accept(people.actor(bob), asked.id, eur("0.00"), "acc-1")
    assert again.body == paid.body
    assert people.wallets.requests.get(people.actor(alice), asked.id).status is RequestStatus.PAID


def test_only_the_payer_declines_and_only_the_requester_cancels(people: People) -> None:
    alice, bob, mallory = people.customer(), people.customer(), people.customer()
    asked = people.wallets.requests.create(people.actor(alice), handle(bob), eur("5.00"), None)
    for wrong in (
        lambda: people.wallets.requests.decline(people.actor(alice), asked.id),
        lambda: people.wallets.requests.cancel(people.actor(bob), asked.id),
        lambda: people.wallets.requests.cancel(people.actor(mallory), asked.id),
        lambda: people.wallets.requests.get(people.actor(mallory), asked.id),
        lambda: people.wallets.requests.accept(people.actor(mallory), asked.id, eur("0.00"), "m-1"),
    ):
        with pytest.raises(PaymentRequestNotFound):
            wrong()
    declined = people.wallets.requests.decline(people.actor(bob), asked.id)
    assert declined.status is RequestStatus.DECLINED
    with pytest.raises(RequestNotPending):
        people.wallets.requests.cancel(people.actor(alice), asked.id)
    other = people.wallets.requests.create(people.actor(alice), handle(bob), eur("5.00"), None)
    assert people.wallets.requests.cancel(people.actor(alice), other.id).status is (
        RequestStatus.CANCELLED
    )
    pending = people.wallets.requests.page(
        people.actor(alice), incoming=False, status=RequestStatus.PENDING
    )
    assert pending.items == ()


def test_request_lists_page_with_a_cursor(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    made = [
        people.wallets.requests.create(people.actor(alice), handle(bob), eur(f"{n}.00"), None).id
        for n in range(1, 6)
    ]
    seen = []
    cursor = None
    while True:
        page = people.wallets.requests.page(
            people.actor(alice), incoming=False, cursor=cursor, limit=2
        )
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == 5


# -- batches -------------------------------------------------------------------------------------


def test_a_batch_pays_every_item_in_one_go(people: People) -> None:
    alice = people.customer()
    payees = [people.customer() for _ in range(5)]
    people.fund(alice, "100.00")
    orders = [TransferOrder(handle(p), eur("2.00"), eur("0.00"), None) for p in payees]
    done = people.wallets.payments.transfer_batch(people.actor(alice), orders, "batch-1")
    assert done.status_code == 201
    assert len(done.body["items"]) == 5  # type: ignore[arg-type]
    assert people.posted(alice) == 90_00
    assert all(people.posted(p) == 2_00 for p in payees)


def test_a_batch_with_one_unaffordable_item_pays_nothing_and_names_the_item(
    people: People,
) -> None:
    alice = people.customer()
    payees = [people.customer() for _ in range(3)]
    people.fund(alice, "5.00")
    orders = [TransferOrder(handle(p), eur("2.00"), eur("0.00"), None) for p in payees]
    with pytest.raises(BatchItemRefused) as refused:
        people.wallets.payments.transfer_batch(people.actor(alice), orders, "batch-2")
    assert refused.value.extensions == {"index": 2, "item_code": "insufficient-funds"}
    assert people.posted(alice) == 5_00
    assert all(people.posted(p) == 0 for p in payees)


def test_a_batch_over_the_daily_limit_names_the_first_item_past_it(
    app: Container, tenant: TenantId
) -> None:
    people = people_for(
        app,
        tenant,
        config=configuration(basis_points=0, per_transaction_minor=10_00, daily_minor=25_00),
    )
    alice = people.customer()
    payees = [people.customer() for _ in range(4)]
    people.fund(alice, "100.00")
    orders = [TransferOrder(handle(p), eur("10.00"), eur("0.00"), None) for p in payees]
    with pytest.raises(BatchItemRefused) as refused:
        people.wallets.payments.transfer_batch(people.actor(alice), orders, "batch-3")
    assert refused.value.extensions == {"index": 2, "item_code": "limit-exceeded"}
    assert people.posted(alice) == 100_00


# -- payees --------------------------------------------------------------------------------------


def test_payees_are_kept_renamed_and_removed_by_their_owner_only(people: People) -> None:
    alice, bob, mallory = people.customer(), people.customer(), people.customer()
    made = people.wallets.payees.create(people.actor(alice), handle(bob), "Landlord")
    with pytest.raises(PayeeExists):
        people.wallets.payees.create(people.actor(alice), handle(bob), "Again")
    assert [v.payee.nickname for v in people.wallets.payees.list(people.actor(alice))] == [
        "Landlord"
    ]
    for wrong in (
        lambda: people.wallets.payees.get(people.actor(mallory), made.payee.id),
        lambda: people.wallets.payees.rename(people.actor(mallory), made.payee.id, "Mine"),
        lambda: people.wallets.payees.delete(people.actor(mallory), made.payee.id),
    ):
        with pytest.raises(PayeeNotFound):
            wrong()
    renamed = people.wallets.payees.rename(people.actor(alice), made.payee.id, "Old landlord")
    assert renamed.payee.nickname == "Old landlord"
    people.wallets.payees.delete(people.actor(alice), made.payee.id)
    assert people.wallets.payees.list(people.actor(alice)) == []


# -- limits --------------------------------------------------------------------------------------


def test_limits_show_what_remains_and_a_daily_limit_can_only_be_lowered(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "100.00")
    people.pay(alice, bob, "30.00")
    view = people.wallets.limits_json(people.actor(alice))
    item = view["items"][0]  # type: ignore[index]
    assert item["daily"]["remaining"] == {"amount": "1970.00", "currency": "EUR"}
    assert item["balance_cap"]["balance"] == {"amount": "70.00", "currency": "EUR"}
    people.wallets.lower_daily_limit(people.actor(alice), eur("50.00"))
    with pytest.raises(DailyLimitRaise):
        people.wallets.lower_daily_limit(people.actor(alice), eur("60.00"))
    with pytest.raises(DomainError) as refused:
        people.pay(alice, bob, "25.00")
    assert refused.value.extensions == {"limit": "daily", "remaining": "20.00", "currency": "EUR"}


# -- history -------------------------------------------------------------------------------------


def test_history_filters_and_pages(people: People) -> None:
    alice, bob, carol = people.customer(), people.customer(), people.customer()
    people.fund(alice, "100.00")
    people.pay(alice, bob, "1.00", note="coffee")
    people.pay(alice, carol, "20.00", note="Concert tickets")
    people.pay(alice, bob, "5.00", note="cake")
    me = people.actor(alice)
    page = people.wallets.history.page
    assert len(page(me, HistoryFilter(kind="p2p")).items) == 3
    assert len(page(me, HistoryFilter(kind="top-up")).items) == 1
    assert [i["note"] for i in page(me, HistoryFilter(counterparty_handle=bob.handle)).items] == [
        "cake",
        "coffee",
    ]
    assert [i["note"] for i in page(me, HistoryFilter(text="CONCERT")).items] == ["Concert tickets"]
    ranged = page(me, HistoryFilter(min_amount_minor=2_00, max_amount_minor=10_00)).items
    assert [i["note"] for i in ranged] == ["cake"]
    first = page(me, HistoryFilter(), limit=3)
    rest = page(me, HistoryFilter(), limit=3, cursor=first.next_cursor)
    assert len(first.items) == 3 and len(rest.items) == 1 and rest.next_cursor is None
    detail = people.wallets.history.detail(me, HistoryId(uuid.UUID(str(first.items[0]["id"]))))
    assert detail == first.items[0]


def test_the_csv_export_neutralises_formulas_and_starts_with_a_bom(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "10.00")
    hostile = '=HYPERLINK("http://evil.example","click")'
    people.pay(alice, bob, "1.00", note=hostile)
    people.pay(alice, bob, "1.00", note="@SUM(A1)")
    text = "".join(people.wallets.history.export_csv(people.actor(alice), HistoryFilter()))
    assert text.startswith("\ufeffid,created_at,type")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    notes = [row[8] for row in rows[1:]]
    assert "'" + hostile in notes
    assert "'@SUM(A1)" in notes
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
