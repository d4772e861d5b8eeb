"""Sending money through the web pages, on both engines: the form, the recipient look-up and the
fee quote (htmx fragments), the confirm page with its idempotency key, the payment and where it
lands, refusals next to their fields with nothing paid, a double click and two concurrent
submissions paying once, and the step-up of an idle session keeping the payment. The look-up and
the quote answer htmx only: a plain GET (a cross-site navigation) spends no look-up."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.web_kit import (
    Browser,
    Browsers,
    WebBank,
    actor,
    csrf_of,
    field_error,
    form_error,
    form_key_of,
    hidden_fields,
    posted,
    text_of,
)
from tests.integration.identity_kit import PASSWORD, Person, enrol_totp
from tests.integration.wallet_people import EUR, configuration
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.limits import LimitExceeded, PayeeLimitExceeded
from walletbridge.domain.money import Money
from walletbridge.domain.payments import RecipientRef
from walletbridge.entrypoints.web.context import Msg
from walletbridge.entrypoints.web.money_forms import LOOKUP_LIMIT
from walletbridge.entrypoints.web.refusals import (
    error_classes,
    field_for,
    outcome_refusal,
    refusal_message,
)
from walletbridge.services.history import HistoryFilter
from walletbridge.services.idempotency import Outcome, ReplayedRefusal, replayed_refusal
from walletbridge.services.payment_plans import TransferOrder

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IDLE_SECONDS = 301


def payments_out(bank: WebBank, who: Person) -> list[dict[str, object]]:
    page = bank.app.wallets.history.page(actor(bank, who), HistoryFilter(), limit=100)
    return [item for item in page.items if item["direction"] == "out"]


def eur(minor: int) -> Money:
    return Money(minor, EUR)


def service_fee(bank: WebBank, payer: Person, payee: Person, minor: int) -> Money:
    to = RecipientRef(RecipientKind.HANDLE, payee.handle)
    return bank.app.wallets.payments.quote(actor(bank, payer), to, eur(minor)).fee


def confirm(browser: Browser, to: str, amount: str, note: str = "") -> httpx.Response:
    form = {"to": to, "amount": amount, "currency": "EUR", "note": note}
    return browser.post("/send/confirm", form, page="/send")


def confirm_form(html: str) -> dict[str, str]:
    """The values the confirm page's "Confirm and send" form carries."""
    return hidden_fields(html, "/send/execute")


def htmx_get(browser: Browser, path: str, **params: str) -> httpx.Response:
    """A GET as htmx sends it from the send form."""
    return browser.get(path, params=params, headers={"HX-Request": "true"})


def test_a_payment_goes_form_confirm_execute_and_moves_the_money_once(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    form = browser.get("/send")
    assert form.status_code == 200 and 'hx-get="/send/lookup"' in form.text
    assert "Available: €100.00" in form.text

    page = confirm(browser, bob.email, "12.34", note="Pizza")
    fee = service_fee(bank, alice, bob, 1234)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert text_of(page.text, "confirm-fee") == f"€{fee.to_decimal_string()}"
    assert text_of(page.text, "confirm-total") == f"€{(eur(1234) + fee).to_decimal_string()}"
    assert text_of(page.text, "confirm-name") == "User " + bob.handle[0] + "."
    values = confirm_form(page.text)
    assert values["fee"] == fee.to_decimal_string() and values["idempotency_key"]
    assert posted(bank, alice) == 10_000, "confirming pays nothing"

    done = browser.post("/send/execute", values, page="/send")
    assert done.status_code == 303
    sent = payments_out(bank, alice)
    assert len(sent) == 1 and sent[0]["note"] == "Pizza"
    assert done.headers["location"] == f"/history/transfer/{sent[0]['transfer_id']}"
    line = browser.get(done.headers["location"], follow_redirects=False)
    assert line.headers["location"] == f"/history/{sent[0]['id']}"
    assert posted(bank, alice) == 10_000 - 1234 - fee.amount_minor
    assert posted(bank, bob) == 1234
    flashed = re.search(r"Sent €12\.34 to User [^<]*", browser.get("/send").text)
    assert flashed and flashed.group(0).endswith(".") and not flashed.group(0).endswith("..")


def test_the_same_confirm_form_sent_twice_pays_once_and_lands_on_the_same_page(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    values = confirm_form(confirm(browser, bob.handle, "20.00").text)
    first = browser.post("/send/execute", values, page="/send")
    second = browser.post("/send/execute", values, page="/send")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(payments_out(bank, alice)) == 1
    assert posted(bank, bob) == 2000


def test_two_concurrent_submissions_with_one_key_pay_once(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    first = opened.signed_in(alice)
    values = confirm_form(confirm(first, bob.handle, "30.00").text)
    token = csrf_of(first.get("/send").text)
    # A second tab of the same browser: the same cookies, its own connection.
    second = Browser(bank)
    opened.append(second)
    for cookie in first.client.cookies.jar:
        second.client.cookies.set(cookie.name, cookie.value or "", domain=bank.host)
    start = threading.Barrier(2)

    def submit(browser: Browser) -> httpx.Response:
        start.wait()
        return browser.client.post(
            "/send/execute", data={**values, "_csrf_token": token}, follow_redirects=False
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(submit, [first, second]))
    assert [a.status_code for a in answers] == [303, 303], [a.text[-500:] for a in answers]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert len(payments_out(bank, alice)) == 1
    assert posted(bank, bob) == 3000


@pytest.mark.parametrize("amount", ["0", "-1", "1.001", "abc"])
def test_a_bad_amount_is_refused_next_to_the_field_keeping_the_values(
    bank: WebBank, opened: Browsers, amount: str
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    page = confirm(browser, bob.handle, amount, note="Rent")
    assert page.status_code == 422
    message = field_error(page.text, "amount")
    assert message and ("amount" in message or "decimal" in message), message
    assert f'value="{amount}"' in page.text and f'value="{bob.handle}"' in page.text
    assert 'value="Rent"' in page.text
    # A confirm form altered to carry the bad amount pays nothing either.
    forged = {"to": bob.handle, "amount": amount, "currency": "EUR", "fee": "0.00"}
    refused = browser.post("/send/execute", {**forged, "idempotency_key": "k-1"}, page="/send")
    assert refused.status_code == 422 and field_error(refused.text, "amount")
    assert posted(bank, alice) == 10_000 and payments_out(bank, alice) == []


def test_not_enough_money_is_said_next_to_the_amount_and_nothing_is_paid(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob, carol = (
        bank.customer(funded_minor=1_000),
        bank.customer(),
        bank.customer(),
    )
    browser = opened.signed_in(alice)
    early = confirm(browser, bob.handle, "50.00")
    assert early.status_code == 422
    assert field_error(early.text, "amount") == (
        "Your balance is not enough for this amount and its fee."
    )
    # Enough when confirmed, spent elsewhere before "Confirm and send".
    values = confirm_form(confirm(browser, bob.handle, "8.00").text)
    to = RecipientRef(RecipientKind.HANDLE, carol.handle)
    spend = bank.app.wallets.payments.quote(actor(bank, alice), to, eur(900))
    order = TransferOrder(to=to, amount=eur(900), fee=spend.fee)
    bank.app.wallets.payments.transfer(actor(bank, alice), order, "elsewhere")
    late = browser.post("/send/execute", values, page="/send")
    assert late.status_code == 422
    assert field_error(late.text, "amount") == (
        "Your balance is not enough for this amount and its fee."
    )
    assert 'value="8.00"' in late.text and f'value="{bob.handle}"' in late.text
    assert posted(bank, bob) == 0


def test_an_unknown_recipient_or_oneself_is_named_next_to_the_recipient_field(
    bank: WebBank, opened: Browsers
) -> None:
    alice = bank.customer(funded_minor=10_000)
    browser = opened.signed_in(alice)
    unknown = confirm(browser, "nobody_here", "5.00")
    assert unknown.status_code == 422
    assert field_error(unknown.text, "to") == "No active customer here goes by that handle."
    assert 'value="5.00"' in unknown.text
    myself = confirm(browser, alice.phone, "5.00")
    assert field_error(myself.text, "to") == "You cannot pay yourself."
    malformed = confirm(browser, "bob@", "5.00")
    assert (field_error(malformed.text, "to") or "").startswith("Enter a handle, an email address")
    assert payments_out(bank, alice) == []


def test_the_quote_fragment_shows_the_fee_the_service_charges(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    answer = htmx_get(browser, "/send/quote", to=bob.email, amount="250.00", currency="EUR")
    fee = service_fee(bank, alice, bob, 25_000)
    assert fee.amount_minor == 125  # 50 basis points
    assert answer.status_code == 200 and "<html" not in answer.text
    assert text_of(answer.text, "quote-fee") == "€1.25"
    assert text_of(answer.text, "quote-total") == "€251.25"
    bad = htmx_get(browser, "/send/quote", to=bob.email, amount="1.001", currency="EUR")
    assert "EUR amounts have at most 2 decimal places." in bad.text
    chinese = Browser(bank, language="zh-CN")
    opened.append(chinese)
    chinese.sign_in(alice)
    answer = htmx_get(chinese, "/send/quote", to=bob.email, amount="1234.50", currency="EUR")
    total = 123_450 + service_fee(bank, alice, bob, 123_450).amount_minor
    assert text_of(answer.text, "quote-total") == f"€{total // 100:,}.{total % 100:02d}"


def test_the_lookup_fragment_names_the_recipient_masked_and_is_limited(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    found = htmx_get(browser, "/send/lookup", to=bob.phone)
    assert 'data-state="found"' in found.text
    assert f"Wallet found: User {bob.handle[0]}." in found.text
    assert bob.handle not in found.text, "the full name and handle stay hidden"
    missing = htmx_get(browser, "/send/lookup", to="nobody@example.com")
    assert "No wallet found for this recipient." in missing.text
    assert "You cannot pay yourself." in htmx_get(browser, "/send/lookup", to=alice.email).text
    # New recipients count against the limit; asking again about a known one does not.
    for n in range(LOOKUP_LIMIT - 3):
        htmx_get(browser, "/send/lookup", to=f"probe{n}@example.com")
    assert 'data-state="found"' in htmx_get(browser, "/send/lookup", to=bob.phone).text
    limited = htmx_get(browser, "/send/lookup", to="one-more@example.com")
    assert 'data-state="limited"' in limited.text and "Too many attempts" in limited.text
    refused = confirm(browser, "another@example.com", "1.00")
    assert refused.status_code == 429 and "Too many attempts" in (form_error(refused.text) or "")


def test_a_plain_get_of_the_lookup_or_the_quote_spends_no_lookup_and_goes_to_the_form(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    # What a cross-site page could make the browser do: top-level GETs, cookie included.
    for n in range(LOOKUP_LIMIT + 1):
        looked = browser.get(
            "/send/lookup", params={"to": f"x{n}@example.com"}, follow_redirects=False
        )
        quoted = browser.get(
            "/send/quote",
            params={"to": f"y{n}@example.com", "amount": "1.00", "currency": "EUR"},
            follow_redirects=False,
        )
        for answer in (looked, quoted):
            assert answer.status_code == 303 and answer.headers["location"] == "/send"
    # The allowance is whole: htmx asks about new recipients and gets answers, not "too many".
    found = htmx_get(browser, "/send/lookup", to=bob.handle)
    assert 'data-state="found"' in found.text
    quote = htmx_get(browser, "/send/quote", to=bob.email, amount="2.00", currency="EUR")
    total = eur(200) + service_fee(bank, alice, bob, 200)
    assert text_of(quote.text, "quote-total") == f"€{total.to_decimal_string()}"
    assert 'data-state="missing"' in htmx_get(browser, "/send/lookup", to="z@example.com").text


def test_the_amount_field_is_described_by_what_is_available(
    bank: WebBank, opened: Browsers
) -> None:
    alice = bank.customer(funded_minor=10_000)
    browser = opened.signed_in(alice)
    html = browser.get("/send").text
    amount = re.search(r'<input[^>]*id="f-amount"[^>]*>', html)
    assert amount, "the send form has an amount field"
    described = re.search(r'aria-describedby="([^"]*)"', amount.group(0))
    assert described and described.group(1).split() == ["f-amount-help", "available-balances"]
    assert re.search(r'id="available-balances"[^>]*>\s*Available: €100.00', html)
    refused = confirm(browser, "nobody_here", "abc").text
    amount = re.search(r'<input[^>]*id="f-amount"[^>]*>', refused)
    assert amount and 'aria-describedby="f-amount-help available-balances f-amount-error"' in (
        amount.group(0)
    )
    # The request form shows no balances, so its amount field points at none.
    asking = browser.get("/requests/new").text
    assert "available-balances" not in asking


def test_an_idle_session_steps_up_with_the_password_and_pays_once(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    values = confirm_form(confirm(browser, bob.handle, "15.00", note="Books").text)
    bank.clock.advance(IDLE_SECONDS)

    stepup = browser.post("/send/execute", values, page="/send")
    assert stepup.status_code == 200 and 'action="/send/stepup"' in stepup.text
    assert (
        'type="password"' in stepup.text and form_key_of(stepup.text) == values["idempotency_key"]
    )
    assert posted(bank, bob) == 0
    kept = hidden_fields(stepup.text, "/send/stepup")
    assert kept["note"] == "Books" and kept["amount"] == "15.00"

    wrong = browser.post("/send/stepup", {**kept, "password": "not-it"}, page="/send")
    assert wrong.status_code == 401 and field_error(wrong.text, "password")
    assert "not-it" not in wrong.text and posted(bank, bob) == 0

    done = browser.post("/send/stepup", {**kept, "password": PASSWORD}, page="/send")
    assert done.status_code == 303 and done.headers["location"].startswith("/history/")
    again = browser.post("/send/execute", values, page="/send")
    assert again.headers["location"] == done.headers["location"]
    assert len(payments_out(bank, alice)) == 1 and posted(bank, bob) == 1500


def test_with_an_authenticator_the_step_up_asks_for_a_code(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    device, _ = enrol_totp(bank.app, actor(bank, alice), bank.clock)
    values = confirm_form(confirm(browser, bob.handle, "5.00").text)
    bank.clock.advance(IDLE_SECONDS)
    stepup = browser.post("/send/execute", values, page="/send")
    assert 'name="code"' in stepup.text and 'type="password"' not in stepup.text
    done = browser.post("/send/stepup", {**values, "code": device.code()}, page="/send")
    assert done.status_code == 303
    assert posted(bank, bob) == 500


def test_a_changed_fee_brings_the_confirm_page_back_with_the_new_fee(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    values = confirm_form(confirm(browser, bob.handle, "40.00").text)
    assert values["fee"] == "0.20"
    bank.app.wallets.configure_tenant(TenantId(bank.tenant), configuration(basis_points=100))
    again = browser.post("/send/execute", values, page="/send")
    assert again.status_code == 409
    assert "The fee is now €0.40" in (form_error(again.text) or "")
    fresh = confirm_form(again.text)
    assert fresh["fee"] == "0.40" and fresh["idempotency_key"] != values["idempotency_key"]
    assert posted(bank, bob) == 0
    assert browser.post("/send/execute", fresh, page="/send").status_code == 303
    assert posted(bank, bob) == 4000


def test_sending_needs_a_signed_in_person(bank: WebBank, opened: Browsers) -> None:
    guest = Browser(bank)
    opened.append(guest)
    answer = guest.get("/send", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=/send"
    fragment = guest.get("/send/lookup", params={"to": "bob"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 204 and fragment.headers["hx-redirect"].startswith("/signin")


def test_change_on_the_confirm_page_brings_the_form_back_filled_in(
    bank: WebBank, opened: Browsers
) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    values = confirm_form(confirm(browser, bob.email, "3.50", note="Coffee").text)
    change = {k: values[k] for k in ("to", "amount", "currency", "note")}
    form = browser.post("/send", change, page="/send")
    assert form.status_code == 200 and 'action="/send/confirm"' in form.text
    for value in (bob.email, "3.50", "Coffee"):
        assert f'value="{value}"' in form.text
    assert "idempotency_key" not in form.text and posted(bank, bob) == 0
    assert browser.get("/send/execute", follow_redirects=False).headers["location"] == "/send"


def test_the_send_pages_speak_chinese(bank: WebBank, opened: Browsers) -> None:
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    chinese = Browser(bank, language="zh-CN")
    opened.append(chinese)
    chinese.sign_in(alice)
    form = chinese.get("/send")
    assert "收款人" in form.text and "可用余额：€100.00" in form.text
    refused = chinese.post(
        "/send/confirm", {"to": bob.handle, "amount": "abc", "currency": "EUR"}, page="/send"
    )
    message = field_error(refused.text, "amount") or ""
    assert message and message.isascii() is False, message
    page = confirm(chinese, bob.handle, "10.00")
    assert "确认转账" in page.text and "手续费" in page.text
    done = chinese.post("/send/execute", confirm_form(page.text), page="/send")
    assert done.status_code == 303
    assert "已向 User " in chinese.get("/send").text


def test_a_payment_over_a_limit_says_what_remains_also_when_sent_again(
    bank: WebBank, opened: Browsers
) -> None:
    tenant = TenantId(bank.tenant)
    bank.app.wallets.configure_tenant(tenant, configuration(per_transaction_minor=10_00))
    alice, bob = bank.customer(funded_minor=10_000), bank.customer()
    browser = opened.signed_in(alice)
    values = confirm_form(confirm(browser, bob.handle, "20.00").text)
    expected = "The payment is over the per-transaction limit; €10.00 remains."
    first = browser.post("/send/execute", values, page="/send")
    assert first.status_code == 422 and field_error(first.text, "amount") == expected
    # The refusal is stored against the key: the same form again gets the same answer.
    again = browser.post("/send/execute", values, page="/send")
    assert again.status_code == 422 and field_error(again.text, "amount") == expected
    assert 'value="20.00"' in again.text and payments_out(bank, alice) == []


def test_replayed_refusals_are_shown_with_their_own_classes_message() -> None:
    over = replayed_refusal(
        {
            "code": "limit-exceeded",
            "kind": "invalid",
            "message": "The payment is over the daily limit; 5.00 EUR remains.",
            "extensions": {"limit": "daily", "remaining": "5.00", "currency": "EUR"},
        }
    )
    assert refusal_message(over) == Msg(
        LimitExceeded.template, {"limit": "daily", "remaining": "5.00", "currency": "EUR"}
    )
    capped = replayed_refusal(
        {
            "code": "limit-exceeded",
            "kind": "invalid",
            "message": "The recipient cannot receive this amount now (their balance limit).",
            "extensions": {"limit": "balance_cap", "currency": "EUR"},
        }
    )
    assert refusal_message(capped).msgid == PayeeLimitExceeded.template
    funds = replayed_refusal(
        {
            "code": "insufficient-funds",
            "kind": "invalid",
            "message": "Account 1 ...",
            "extensions": {},
        }
    )
    assert refusal_message(funds).msgid.startswith("Your balance is not enough")
    assert field_for(funds) == "amount"
    unknown = outcome_refusal(Outcome(422, {"code": "something-new", "detail": "No."}))
    assert refusal_message(unknown).msgid == "That was refused."
    assert all(not issubclass(c, ReplayedRefusal) for cs in error_classes().values() for c in cs)
