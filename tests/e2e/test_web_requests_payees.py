"""Requests to pay and payees through the web pages, on both engines: asking for money, the payer
seeing and paying it once (with the step-up when idle), declining and cancelling, payees added,
renamed, deleted and paid from; and nobody acting on another person's request or payee."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.web_kit import (
    Browser,
    Browsers,
    WebBank,
    actor,
    field_error,
    form_error,
    form_key_of,
    hidden_fields,
    posted,
    text_of,
)
from tests.integration.identity_kit import PASSWORD, Person
from tests.integration.wallet_people import EUR
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.money import Money
from walletbridge.domain.payments import PaymentRequest, RecipientRef, RequestStatus
from walletbridge.services.payees import PayeeView

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IDLE_SECONDS = 301
NOT_FOUND = "There is nothing at this address."


def requests_of(bank: WebBank, who: Person, *, incoming: bool) -> list[PaymentRequest]:
    return list(bank.app.wallets.requests.page(actor(bank, who), incoming=incoming).items)


def payees_of(bank: WebBank, who: Person) -> list[PayeeView]:
    return bank.app.wallets.payees.list(actor(bank, who))


def ask(browser: Browser, to: str, amount: str, note: str = "") -> httpx.Response:
    page = browser.get("/requests/new")
    form = {
        "to": to,
        "amount": amount,
        "currency": "EUR",
        "note": note,
        "idempotency_key": form_key_of(page.text),
    }
    return browser.post("/requests/new", form, page="/requests/new")


# Requests to pay.


def test_a_request_is_seen_by_the_payer_and_paid_once(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(), bank.customer(funded_minor=10_000)
    asking = opened.signed_in(alice)
    made = ask(asking, bob.email, "12.00", note="Lunch")
    assert made.status_code == 303 and made.headers["location"] == "/requests"
    mine = asking.get("/requests").text
    assert f"Asked @{bob.handle} for €12.00." in mine
    assert f"To @{bob.handle}" in mine and "Waiting" in mine and "Lunch" in mine

    paying = opened.signed_in(bob)
    asked = requests_of(bank, bob, incoming=True)
    assert len(asked) == 1
    inbox = paying.get("/requests").text
    assert f"From @{alice.handle}" in inbox and f'href="/requests/{asked[0].id}/accept"' in inbox
    page = paying.get(f"/requests/{asked[0].id}/accept")
    to = RecipientRef(RecipientKind.HANDLE, alice.handle)
    fee = bank.app.wallets.payments.quote(actor(bank, bob), to, Money(1200, EUR)).fee
    assert text_of(page.text, "confirm-fee") == f"€{fee.to_decimal_string()}"
    values = hidden_fields(page.text, f"/requests/{asked[0].id}/accept")
    assert values["fee"] == fee.to_decimal_string() and values["idempotency_key"]

    paid = paying.post(f"/requests/{asked[0].id}/accept", values, page="/requests")
    again = paying.post(f"/requests/{asked[0].id}/accept", values, page="/requests")
    assert paid.status_code == again.status_code == 303
    assert paid.headers["location"] == again.headers["location"]
    assert paid.headers["location"].startswith("/history/transfer/")
    assert posted(bank, alice) == 1200
    assert posted(bank, bob) == 10_000 - 1200 - fee.amount_minor
    assert requests_of(bank, bob, incoming=True)[0].status is RequestStatus.PAID
    assert "Paid €12.00 to User " in paying.get("/requests").text
    line = paying.get(paid.headers["location"])
    assert line.status_code == 200 and f"To @{alice.handle}" in line.text


def test_the_payer_declines_and_the_requester_cancels(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(), bank.customer(funded_minor=10_000)
    asking = opened.signed_in(alice)
    ask(asking, bob.handle, "5.00")
    ask(asking, bob.handle, "6.00")
    first, second = sorted(requests_of(bank, alice, incoming=False), key=lambda r: r.amount_minor)
    paying = opened.signed_in(bob)

    declined = paying.post(f"/requests/{first.id}/decline", {}, page="/requests")
    assert declined.status_code == 303
    assert "Request declined." in paying.get("/requests").text
    twice = paying.post(f"/requests/{first.id}/decline", {}, page="/requests")
    assert twice.status_code == 409
    assert form_error(twice.text) == "The payment request is already declined."

    cancelled = asking.post(f"/requests/{second.id}/cancel", {}, page="/requests")
    assert cancelled.status_code == 303
    statuses = {r.id: r.status for r in requests_of(bank, alice, incoming=False)}
    assert statuses == {first.id: RequestStatus.DECLINED, second.id: RequestStatus.CANCELLED}
    closed = paying.get(f"/requests/{second.id}/accept")
    assert "This request was cancelled." in closed.text and "Confirm and pay" not in closed.text
    assert posted(bank, bob) == 10_000 and posted(bank, alice) == 0


def test_the_request_pages_speak_chinese(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(), bank.customer(funded_minor=10_000)
    ask(opened.signed_in(alice), bob.handle, "4.00")
    chinese = Browser(bank, language="zh-CN")
    opened.append(chinese)
    chinese.sign_in(bob)
    inbox = chinese.get("/requests").text
    assert f"来自 @{alice.handle}" in inbox and "待处理" in inbox and "拒绝" in inbox
    asked = requests_of(bank, bob, incoming=True)[0]
    assert "确认付款" in chinese.get(f"/requests/{asked.id}/accept").text


def test_nobody_else_can_pay_decline_or_cancel_a_request(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(), bank.customer(funded_minor=10_000)
    mallory = bank.customer(funded_minor=10_000)
    ask(opened.signed_in(alice), bob.handle, "9.00")
    asked = requests_of(bank, alice, incoming=False)[0]
    intruder = opened.signed_in(mallory)
    looked = intruder.get(f"/requests/{asked.id}/accept")
    assert looked.status_code == 404 and NOT_FOUND in looked.text
    forged = {"fee": "0.05", "idempotency_key": "forged-1"}
    for action, data in (("accept", forged), ("decline", {}), ("cancel", {})):
        answer = intruder.post(f"/requests/{asked.id}/{action}", data, page="/requests")
        assert answer.status_code == 404 and NOT_FOUND in answer.text, action
    # Each party may only do their own part: the payer cannot cancel, the requester cannot pay.
    payer = opened.signed_in(bob)
    assert payer.post(f"/requests/{asked.id}/cancel", {}, page="/requests").status_code == 404
    requester = opened[0]
    assert requester.get(f"/requests/{asked.id}/accept").status_code == 404
    assert requester.post(f"/requests/{asked.id}/decline", {}, page="/requests").status_code == 404
    assert requests_of(bank, alice, incoming=False)[0].status is RequestStatus.PENDING
    assert posted(bank, mallory) == 10_000 and posted(bank, alice) == 0


def test_a_request_form_keeps_its_values_on_errors_and_a_double_click_asks_once(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(), bank.customer()
    asking = opened.signed_in(alice)
    bad = ask(asking, bob.handle, "1.001", note="Tickets")
    assert bad.status_code == 422 and field_error(bad.text, "amount")
    assert 'value="1.001"' in bad.text and 'value="Tickets"' in bad.text
    unknown = ask(asking, "nobody@example.com", "3.00")
    assert field_error(unknown.text, "to") == "No active customer here goes by that email."
    page = asking.get("/requests/new")
    form = {
        "to": bob.handle,
        "amount": "3.00",
        "currency": "EUR",
        "note": "",
        "idempotency_key": form_key_of(page.text),
    }
    first = asking.post("/requests/new", form, page="/requests/new")
    second = asking.post("/requests/new", form, page="/requests/new")
    assert first.status_code == second.status_code == 303
    assert len(requests_of(bank, alice, incoming=False)) == 1


def test_a_refused_request_comes_back_with_a_fresh_key_and_the_corrected_form_goes_through(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(), bank.customer()
    asking = opened.signed_in(alice)
    spent = form_key_of(asking.get("/requests/new").text)
    form = {"to": "nobody@example.com", "amount": "3.00", "currency": "EUR", "note": "Cinema"}
    refused = asking.post("/requests/new", {**form, "idempotency_key": spent}, page="/requests")
    assert refused.status_code == 422 and field_error(refused.text, "to")
    fresh = form_key_of(refused.text)
    assert fresh != spent  # the refused submission spent its key
    corrected = {**form, "to": bob.handle, "idempotency_key": fresh}
    made = asking.post("/requests/new", corrected, page="/requests")
    assert made.status_code == 303 and made.headers["location"] == "/requests"
    [asked] = requests_of(bank, alice, incoming=False)
    assert asked.payer_handle == bob.handle and asked.note == "Cinema"
    # The spent key stays spent: a repeat of the refused form makes nothing.
    repeat = asking.post("/requests/new", {**corrected, "idempotency_key": spent}, page="/requests")
    assert repeat.status_code == 303 and len(requests_of(bank, alice, incoming=False)) == 1


def test_paying_a_request_from_an_idle_session_steps_up_first(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(), bank.customer(funded_minor=10_000)
    ask(opened.signed_in(alice), bob.handle, "7.00")
    asked = requests_of(bank, alice, incoming=False)[0]
    paying = opened.signed_in(bob)
    accept = f"/requests/{asked.id}/accept"
    values = hidden_fields(paying.get(accept).text, accept)
    bank.clock.advance(IDLE_SECONDS)
    stepup = paying.post(accept, values, page="/requests")
    assert stepup.status_code == 200 and f'action="/requests/{asked.id}/stepup"' in stepup.text
    assert form_key_of(stepup.text) == values["idempotency_key"] and posted(bank, alice) == 0
    done = paying.post(
        f"/requests/{asked.id}/stepup", {**values, "password": PASSWORD}, page="/requests"
    )
    assert done.status_code == 303 and posted(bank, alice) == 700


# Payees.


def test_a_payee_is_added_renamed_paid_from_and_deleted(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    page = browser.get("/payees")
    added = browser.post(
        "/payees",
        {"to": bob.phone, "nickname": "Landlord", "idempotency_key": form_key_of(page.text)},
        page="/payees",
    )
    assert added.status_code == 303
    [saved] = payees_of(bank, alice)
    listing = browser.get("/payees").text
    assert "Payee saved." in listing and "Landlord" in listing
    assert f'href="/send?payee={saved.payee.id}"' in listing

    send = browser.get(f"/send?payee={saved.payee.id}")
    assert send.status_code == 200 and f'value="{bob.handle}"' in send.text
    assert 'data-state="found"' in send.text

    renamed = browser.post(
        f"/payees/{saved.payee.id}/edit", {"nickname": "Old landlord"}, page="/payees"
    )
    assert renamed.status_code == 303
    assert payees_of(bank, alice)[0].payee.nickname == "Old landlord"
    empty = browser.post(f"/payees/{saved.payee.id}/edit", {"nickname": "  "}, page="/payees")
    assert empty.status_code == 422 and field_error(empty.text, "nickname")

    question = browser.get(f"/payees/{saved.payee.id}/delete")
    assert "Delete Old landlord from your payees?" in question.text
    assert payees_of(bank, alice), "asking is not deleting"
    deleted = browser.post(f"/payees/{saved.payee.id}/delete", {}, page="/payees")
    assert deleted.status_code == 303 and payees_of(bank, alice) == []


def test_adding_a_payee_refuses_in_place_and_a_double_click_adds_once(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(), bank.customer()
    browser = opened.signed_in(alice)
    key = form_key_of(browser.get("/payees").text)
    form = {"to": bob.handle, "nickname": "Bob", "idempotency_key": key}
    first = browser.post("/payees", form, page="/payees")
    second = browser.post("/payees", form, page="/payees")
    assert first.status_code == second.status_code == 303
    assert len(payees_of(bank, alice)) == 1
    fresh = {**form, "idempotency_key": form_key_of(browser.get("/payees").text)}
    again = browser.post("/payees", fresh, page="/payees")
    assert again.status_code == 409
    assert field_error(again.text, "to") == "That person is already one of your payees."
    assert 'value="Bob"' in again.text
    nameless = browser.post("/payees", {"to": bob.email, "nickname": ""}, page="/payees")
    assert nameless.status_code == 422
    assert field_error(nameless.text, "nickname") == "This field is required."
    assert len(payees_of(bank, alice)) == 1


def test_a_refused_payee_comes_back_with_a_fresh_key_and_the_corrected_form_adds_it(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(), bank.customer()
    browser = opened.signed_in(alice)
    spent = form_key_of(browser.get("/payees").text)
    form = {"to": "nobody_here", "nickname": "Bob", "idempotency_key": spent}
    refused = browser.post("/payees", form, page="/payees")
    assert refused.status_code == 422 and field_error(refused.text, "to")
    assert 'value="Bob"' in refused.text
    fresh = form_key_of(refused.text)
    assert fresh != spent
    added = browser.post("/payees", {**form, "to": bob.handle, "idempotency_key": fresh})
    assert added.status_code == 303
    assert [p.payee.nickname for p in payees_of(bank, alice)] == ["Bob"]


def test_nobody_else_can_see_rename_delete_or_pay_a_payee(bank: WebBank, opened: Browsers) -> None:
    alice, bob, mallory = bank.customer(), bank.customer(), bank.customer()
    owner = opened.signed_in(alice)
    key = form_key_of(owner.get("/payees").text)
    owner.post(
        "/payees", {"to": bob.handle, "nickname": "Bob", "idempotency_key": key}, page="/payees"
    )
    payee_id = payees_of(bank, alice)[0].payee.id
    intruder = opened.signed_in(mallory)
    for path in (
        f"/payees/{payee_id}/edit",
        f"/payees/{payee_id}/delete",
        f"/send?payee={payee_id}",
    ):
        answer = intruder.get(path)
        assert answer.status_code == 404 and NOT_FOUND in answer.text, path
    assert intruder.get("/send?payee=not-a-payee").status_code == 404
    renamed = intruder.post(f"/payees/{payee_id}/edit", {"nickname": "Mine"}, page="/payees")
    deleted = intruder.post(f"/payees/{payee_id}/delete", {}, page="/payees")
    assert renamed.status_code == deleted.status_code == 404
    assert "Bob" not in intruder.get("/payees").text
    [kept] = payees_of(bank, alice)
    assert kept.payee.nickname == "Bob"
