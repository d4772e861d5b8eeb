"""The dashboard, the transaction history (filters, paging, CSV export, detail) and the live
activity feed of the web app, through the test client on both engines; the feed's server-sent
events through a real uvicorn server in this process, read as they arrive."""

from __future__ import annotations

import queue
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import uvicorn
from babel.numbers import format_currency

from tests.e2e.processes import free_port
from tests.e2e.web_kit import Browser, WebBank, field_error
from tests.integration.identity_kit import Person, actor_of
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.money import Money
from walletbridge.domain.outbox import ActivityItem
from walletbridge.domain.payments import RecipientRef
from walletbridge.entrypoints.api.app import create_app
from walletbridge.entrypoints.web import pages_feed, pages_history
from walletbridge.services.payment_plans import TransferOrder

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SESSION_COOKIE = "__Host-wb-session"
WAIT_SECONDS = 15.0


@contextmanager
def signed_in(bank: WebBank, who: Person, language: str = "en") -> Iterator[Browser]:
    opened = Browser(bank, language=language)
    try:
        opened.sign_in(who)
        yield opened
    finally:
        opened.close()


def pay(bank: WebBank, payer: Person, payee: Person, amount_minor: int, note: str = "") -> str:
    """``payer`` pays ``payee`` through the payment service; returns the transfer id."""
    actor = actor_of(bank.app, bank.tenant, payer.token)  # type: ignore[arg-type]
    payments = bank.app.wallets.payments
    to = RecipientRef(RecipientKind.HANDLE, payee.handle)
    amount = Money(amount_minor, bank.app.currencies.get("EUR"))
    fee = payments.quote(actor, to, amount).fee
    order = TransferOrder(to=to, amount=amount, fee=fee, note=note or None)
    outcome = payments.transfer(actor, order, secrets.token_hex(8))
    return str(outcome.body["id"])


def detail_links(html: str) -> list[str]:
    return re.findall(r'href="/history/([0-9a-f-]{36})"', html)


def rows(html: str) -> list[str]:
    """The body rows of the history table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


# -- the dashboard --------------------------------------------------------------------------------


def test_the_dashboard_shows_balances_remaining_limits_and_recent_transactions(
    bank: WebBank,
) -> None:
    payer, payee = bank.customer(funded_minor=100_000), bank.customer()
    pay(bank, payer, payee, 50_000, note="Rent for May")
    with signed_in(bank, payer) as browser:
        answer = browser.get("/")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    html = answer.text
    # €1,000.00 funded, €500.00 paid with a 0.5 % fee of €2.50.
    assert "€497.50" in html
    assert "Up to €1,000.00 per payment" in html
    assert "€500.00 of €2,000.00 used" in html
    assert "€1,500.00 left" in html
    assert "€500.00 of €10,000.00 used" in html
    assert "Balance €497.50 of €10,000.00" in html
    # The bars: 25 % of the day, 5 % of the month, 4.975 % of the cap, each labelled.
    assert 'aria-valuenow="25"' in html and "progress-bar wb-w-25" in html
    assert "progress-bar wb-w-5" in html
    assert 'aria-valuetext="€500.00 of €2,000.00 used"' in html
    assert 'style="' not in html
    assert f"To @{payee.handle}" in html and "-€502.50" in html and "Rent for May" in html
    assert len(detail_links(html)) == 2  # the payment and the funding
    assert 'href="/send"' in html and 'href="/requests"' in html
    assert 'sse-connect="/activity/stream?after=' in html and 'aria-live="polite"' in html


def test_the_dashboard_speaks_chinese_with_amounts_as_babel_formats_them_for_zh_cn(
    bank: WebBank,
) -> None:
    payer, payee = bank.customer(funded_minor=100_000), bank.customer()
    pay(bank, payer, payee, 2_500)
    with signed_in(bank, payee, language="zh-CN") as browser:
        html = browser.get("/").text
    euros = format_currency(Decimal("25.00"), "EUR", locale="zh_CN")
    assert '<html lang="zh-CN">' in html
    assert f'<p class="wb-balance wb-amount mb-0">{euros}</p>' in html
    assert "我的钱包" in html and "余额" in html and "限额" in html
    assert f"来自 @{payer.handle}" in html
    assert "+" + euros in html
    assert format_currency(Decimal("2000.00"), "EUR", locale="zh_CN") in html


def test_the_balance_fragment_is_the_card_alone_and_needs_a_person(bank: WebBank) -> None:
    someone = bank.customer(funded_minor=4_200)
    guest = Browser(bank)
    try:
        refused = guest.get("/fragments/balances", follow_redirects=False)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/signin")
    finally:
        guest.close()
    with signed_in(bank, someone) as browser:
        answer = browser.get("/fragments/balances")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "€42.00" in answer.text
    assert "<html" not in answer.text and "<nav" not in answer.text


# -- history ------------------------------------------------------------------------------------


@dataclass
class Story:
    """A payee who was funded (a top-up), then paid by two people, with these notes."""

    payee: Person
    anna: Person
    ben: Person
    transfers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def story(bank: WebBank) -> Story:
    anna, ben = bank.customer(funded_minor=100_000), bank.customer(funded_minor=100_000)
    payee = bank.customer(funded_minor=1_000)
    told = Story(payee, anna, ben)
    told.transfers["rent"] = pay(bank, anna, payee, 2_500, note="Rent share")
    bank.clock.advance(60)
    told.transfers["pizza"] = pay(bank, ben, payee, 1_234, note="=HYPERLINK(pizza)")
    return told


def test_the_history_lists_every_line_newest_first_with_sign_and_words(
    bank: WebBank, story: Story
) -> None:
    with signed_in(bank, story.payee) as browser:
        answer = browser.get("/history")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    lines = rows(answer.text)
    assert len(lines) == 3
    assert f"From @{story.ben.handle}" in lines[0] and "+€12.34" in lines[0]
    assert f"From @{story.anna.handle}" in lines[1] and "Rent share" in lines[1]
    assert "Top-up" in lines[2] and "+€10.00" in lines[2]
    # Not colour alone: each amount also says which way the money went.
    assert all("Money in" in line for line in lines)
    assert '<caption class="visually-hidden">' in answer.text


def test_filters_narrow_the_history(bank: WebBank, story: Story) -> None:
    with signed_in(bank, story.payee) as browser:
        top_ups = rows(browser.get("/history?type=top-up").text)
        payments = rows(browser.get("/history?type=p2p").text)
        searched = rows(browser.get("/history?q=rent").text)
        from_ben = rows(browser.get(f"/history?counterparty=@{story.ben.handle}").text)
        large = rows(browser.get("/history?currency=EUR&min_amount=20").text)
        small = rows(browser.get("/history?currency=EUR&max_amount=12.34").text)
        today = datetime.fromtimestamp(bank.clock.now_us() / 1e6, tz=UTC).date()
        later = (today + timedelta(days=2)).isoformat()
        future = rows(browser.get(f"/history?from={later}").text)
        until_later = rows(browser.get(f"/history?from=2020-01-01&to={later}").text)
    assert len(top_ups) == 1 and "Top-up" in top_ups[0]
    assert len(payments) == 2 and not any("Top-up" in line for line in payments)
    assert len(searched) == 1 and "Rent share" in searched[0]
    assert len(from_ben) == 1 and "+€12.34" in from_ben[0]
    assert len(large) == 1 and "+€25.00" in large[0]
    assert len(small) == 2 and not any("+€25.00" in line for line in small)
    assert future == []
    assert len(until_later) == 3


def test_the_direction_filter_keeps_money_in_or_money_out(bank: WebBank, story: Story) -> None:
    with signed_in(bank, story.anna) as browser:
        money_out = rows(browser.get("/history?direction=out").text)
        money_in = rows(browser.get("/history?direction=in").text)
        refused = browser.get("/history?direction=sideways")
    assert len(money_out) == 1 and "-€25.13" in money_out[0] and "Money out" in money_out[0]
    assert len(money_in) == 1 and "Top-up" in money_in[0]
    assert refused.status_code == 400
    assert 'id="f-direction-error"' in refused.text


def test_a_wrong_filter_is_explained_next_to_its_field_keeping_what_was_typed(
    bank: WebBank, story: Story
) -> None:
    with signed_in(bank, story.payee) as browser:
        bad_day = browser.get("/history?from=31.01.2026&q=rent")
        reversed_days = browser.get("/history?from=2026-02-01&to=2026-01-01")
        no_currency = browser.get("/history?min_amount=5")
        reversed_amounts = browser.get("/history?currency=EUR&min_amount=9&max_amount=2")
        bad_amount = browser.get("/history?currency=EUR&min_amount=1.234")
    assert bad_day.status_code == 400
    assert field_error(bad_day.text, "from") == "Enter a date such as 2026-01-31."
    assert 'value="rent"' in bad_day.text and rows(bad_day.text) == []
    assert field_error(reversed_days.text, "to") == "The end date is before the start date."
    assert field_error(no_currency.text, "currency") == "Choose a currency to filter by amount."
    assert field_error(reversed_amounts.text, "max_amount") == "The maximum is below the minimum."
    assert (
        field_error(bad_amount.text, "min_amount") == "EUR amounts have at most 2 decimal places."
    )


def test_the_history_pages_with_the_services_cursor_keeping_the_filters(
    bank: WebBank, story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages_history, "PAGE_SIZE", 1)
    with signed_in(bank, story.payee) as browser:
        first = browser.get("/history?type=p2p")
        older = re.search(r'href="(/history\?[^"]*cursor=[^"]+)"', first.text)
        assert older, "the first page links to older transactions"
        second = browser.get(older.group(1).replace("&amp;", "&"))
        assert "type=p2p" in older.group(1)
        last = re.search(r'href="(/history\?[^"]*cursor=[^"]+)"', second.text)
        broken = browser.get("/history?type=p2p&cursor=not-a-cursor")
    assert "+€12.34" in rows(first.text)[0]
    assert len(rows(second.text)) == 1 and "+€25.00" in rows(second.text)[0]
    assert last is None  # two payments, one per page: nothing older than the second
    assert broken.status_code == 200 and "That page link has expired" in broken.text


def test_the_csv_export_has_the_filtered_lines_as_an_attachment(
    bank: WebBank, story: Story
) -> None:
    with signed_in(bank, story.payee) as browser:
        answer = browser.get("/history/export.csv?type=p2p")
        everything = browser.get("/history/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="transactions.csv"'
    assert answer.headers["cache-control"] == "no-store"
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeffid,created_at,type,direction,counterparty,amount,fee,")
    lines = text.strip("\r\n").split("\r\n")
    assert len(lines) == 3  # the header and the two payments, not the top-up
    assert f"p2p,in,{story.ben.handle},12.34,0.00,EUR,'=HYPERLINK(pizza)" in lines[1]
    assert f"p2p,in,{story.anna.handle},25.00,0.00,EUR,Rent share" in lines[2]
    assert len(everything.content.decode("utf-8").strip("\r\n").split("\r\n")) == 4


def test_the_detail_page_shows_everything_about_one_transaction(
    bank: WebBank, story: Story
) -> None:
    with signed_in(bank, story.anna) as browser:
        listing = browser.get("/history?type=p2p")
        item_id = detail_links(listing.text)[0]
        answer = browser.get(f"/history/{item_id}")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    html = answer.text
    assert f"To @{story.payee.handle}" in html
    # The counterparty's name, masked as everywhere in the web app: the handle shows who it is.
    assert f"User {story.payee.handle[0]}." in html
    assert f"User {story.payee.handle}" not in html
    for shown in ("-€25.13", "€25.00", "€0.13", "Rent share", "Completed", "Ledger entry ID"):
        assert shown in html
    assert item_id in html and story.transfers["rent"] in html
    assert re.search(r"<dt[^>]*>Ledger entry ID</dt>\s*<dd[^>]*>[0-9a-f-]{36}</dd>", html)


def test_someone_elses_transaction_is_the_same_404_as_one_that_does_not_exist(
    bank: WebBank, story: Story
) -> None:
    with signed_in(bank, story.anna) as browser:
        theirs = detail_links(browser.get("/history").text)[0]
    with signed_in(bank, story.ben) as browser:
        foreign = browser.get(f"/history/{theirs}")
        missing = browser.get(f"/history/{uuid.uuid4()}")
        nonsense = browser.get("/history/not-an-id")
        foreign_transfer = browser.get(f"/history/transfer/{story.transfers['rent']}")
    assert foreign.status_code == missing.status_code == nonsense.status_code == 404
    assert foreign.text == missing.text
    assert foreign_transfer.status_code == 404 and foreign_transfer.text == missing.text
    assert "Rent share" not in foreign.text


def test_a_transfer_link_leads_to_the_persons_own_line_of_it(bank: WebBank, story: Story) -> None:
    with signed_in(bank, story.payee) as browser:
        answer = browser.get(f"/history/transfer/{story.transfers['rent']}", follow_redirects=False)
        assert answer.status_code == 303
        shown = browser.get(answer.headers["location"])
    assert f"From @{story.anna.handle}" in shown.text and "+€25.00" in shown.text


# -- the activity feed ---------------------------------------------------------------------------


def test_the_activity_page_says_what_happened_in_the_persons_language(bank: WebBank) -> None:
    payer, payee = bank.customer(funded_minor=10_000), bank.customer()
    transfer_id = pay(bank, payer, payee, 2_500)
    with signed_in(bank, payee) as browser:
        before = browser.get("/activity").text
        bank.app.notifications.deliver_pending()
        after = browser.get("/activity")
        dashboard = browser.get("/").text
    assert "Received €25.00" not in before  # the feed shows what the relay delivered
    assert after.status_code == 200 and after.headers["cache-control"] == "no-store"
    sentence = f"Received €25.00 from @{payer.handle}"
    assert sentence in after.text and sentence in dashboard
    assert f'href="/history/transfer/{transfer_id}"' in after.text
    assert 'aria-live="polite"' in after.text and 'sse-swap="activity,signed-out"' in after.text
    with signed_in(bank, payee, language="zh-CN") as browser:
        chinese = browser.get("/activity").text
    assert f"收到 @{payer.handle} 转来的 €25.00" in chinese


def test_every_feed_kind_reads_as_a_sentence_and_unknown_kinds_get_a_generic_line() -> None:
    def item(kind: str, **payload: str) -> ActivityItem:
        return ActivityItem("a1", "t", "u", kind, payload, 1_767_605_400_000_000)  # type: ignore[arg-type]

    money = {"amount": "25.00", "currency": "EUR", "from_handle": "anna"}
    request = pages_feed.feed_line(item("payment-request.received", **money), "en")
    assert request.text == "@anna asked you for €25.00" and request.href == "/requests"
    assert not request.moves_money
    paid = pages_feed.feed_line(item("payment.received", transfer_id="x", **money), "en")
    assert paid.text == "Received €25.00 from @anna" and paid.moves_money
    unknown = pages_feed.feed_line(item("card.frozen", card="1234"), "en")
    assert unknown.text == "There is new activity in your wallet." and unknown.href is None
    garbled = pages_feed.feed_line(item("payment.received", amount="lots", currency="EUR"), "en")
    assert garbled.text == "There is new activity in your wallet."


def test_the_stream_refuses_a_visitor_who_is_not_signed_in(bank: WebBank) -> None:
    guest = Browser(bank)
    try:
        answer = guest.get("/activity/stream")
    finally:
        guest.close()
    assert answer.status_code == 204


def short_streams(
    monkeypatch: pytest.MonkeyPatch,
    *,
    lifetime_seconds: float,
    keepalive_seconds: float = pages_feed.StreamTiming.keepalive_seconds,
) -> None:
    """Streams that look for new items every 50 ms and end after ``lifetime_seconds`` (the test
    client reads a stream to its end), however long the session's idle window."""
    timing = pages_feed.StreamTiming(
        poll_seconds=0.05,
        keepalive_seconds=keepalive_seconds,
        lifetime_seconds=lifetime_seconds,
        outlast_idle_window=False,
    )
    monkeypatch.setattr(pages_feed, "TIMING", timing)


def test_the_stream_keeps_alive_and_ends_by_itself(
    bank: WebBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_streams(monkeypatch, lifetime_seconds=1, keepalive_seconds=0.2)
    someone = bank.customer()
    with signed_in(bank, someone) as browser:
        started = time.monotonic()
        answer = browser.get("/activity/stream")  # the test client reads until the end
        took = time.monotonic() - started
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-store"
    assert 0.9 <= took < 10
    assert answer.text.startswith(": connected\r\nretry: 3000\r\n")
    assert answer.text.count(": keep-alive") >= 2
    assert "event:" not in answer.text


def test_a_stream_outlives_the_idle_window_so_its_reconnects_cannot_keep_a_session_fresh() -> None:
    # Connecting authenticates, and authenticating a fresh session records activity.
    timing = pages_feed.StreamTiming()
    assert timing.lifetime_for(idle_seconds=300) == 304
    assert timing.lifetime_for(idle_seconds=60) == 300
    assert timing.lifetime_for(idle_seconds=1800) > 1800


def test_a_reconnecting_stream_resumes_after_the_last_item_its_browser_saw(
    bank: WebBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_streams(monkeypatch, lifetime_seconds=0.5)
    payer, payee, other = (
        bank.customer(funded_minor=10_000),
        bank.customer(),
        bank.customer(),
    )
    pay(bank, payer, payee, 100)
    pay(bank, payer, payee, 200)
    pay(bank, payer, other, 300)
    bank.app.notifications.deliver_pending()
    feed = bank.app.notifications
    seen = feed.activity_for(bank.tenant, payee.user_id, None, 10)  # type: ignore[arg-type]
    theirs = feed.activity_for(bank.tenant, other.user_id, None, 10)  # type: ignore[arg-type]
    assert len(seen) == 2 and len(theirs) == 1
    with signed_in(bank, payee) as browser:
        resumed = browser.get("/activity/stream", headers={"Last-Event-ID": seen[0].id}).text
        unknown = browser.get("/activity/stream", headers={"Last-Event-ID": str(uuid.uuid4())})
        foreign = browser.get("/activity/stream", headers={"Last-Event-ID": theirs[0].id})
        garbage = browser.get("/activity/stream", headers={"Last-Event-ID": "not-an-id'--"})
    assert resumed.count("event: activity") == 1
    assert f"id: {seen[1].id}" in resumed and "Received €2.00" in resumed
    assert "€1.00" not in resumed and "event: balance" in resumed
    # An id that is not one of the person's items starts after their newest item instead.
    assert "event:" not in unknown.text and "event:" not in foreign.text
    assert garbage.status_code == 200 and "event:" not in garbage.text
    assert "€3.00" not in foreign.text


def stream_address(html: str) -> str:
    """The ``sse-connect`` address a page opens its live feed at."""
    found = re.search(r'sse-connect="([^"]+)"', html)
    assert found, "the page has no live feed"
    return found.group(1).replace("&amp;", "&")


def event_ids(text: str) -> list[str]:
    """The ``id`` of each message of a stream, in order ("" for a message without one)."""
    ids = []
    for message in text.replace("\r\n", "\n").split("\n\n"):
        if message.strip():
            found = re.search(r"^id: (.*)$", message, flags=re.M)
            ids.append(found.group(1) if found else "")
    return ids


@pytest.mark.parametrize("path", ["/", "/activity"])
def test_an_item_that_arrives_between_the_page_and_its_stream_is_sent(
    bank: WebBank, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    short_streams(monkeypatch, lifetime_seconds=0.5)
    payer, payee = bank.customer(funded_minor=10_000), bank.customer()
    pay(bank, payer, payee, 100)
    bank.app.notifications.deliver_pending()
    shown = bank.app.notifications.activity_for(bank.tenant, payee.user_id, None, 1)  # type: ignore[arg-type]
    with signed_in(bank, payee) as browser:
        address = stream_address(browser.get(path).text)
        assert address == f"/activity/stream?after={shown[0].id}"
        pay(bank, payer, payee, 4_200)  # after the page, before the stream connects
        bank.app.notifications.deliver_pending()
        answer = browser.get(address).text
    assert answer.count("event: activity") == 1 and "Received €42.00" in answer
    assert "€1.00" not in answer and "event: balance" in answer
    newest = bank.app.notifications.activity_for(bank.tenant, payee.user_id, None, 1)  # type: ignore[arg-type]
    # Every message names the last item delivered: first the one the page showed, then the new.
    ids = event_ids(answer)
    assert ids[0] == shown[0].id and set(ids[1:]) == {newest[0].id}


def test_a_page_with_an_empty_feed_gets_every_item_that_arrives_before_its_stream(
    bank: WebBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_streams(monkeypatch, lifetime_seconds=0.5)
    payer, payee = bank.customer(funded_minor=10_000), bank.customer()
    with signed_in(bank, payee) as browser:
        address = stream_address(browser.get("/activity").text)
        assert address == "/activity/stream?after=start"
        pay(bank, payer, payee, 300)
        bank.app.notifications.deliver_pending()
        answer = browser.get(address).text
        # Without an id in the address the stream starts from now: the item is not sent again.
        plain = browser.get("/activity/stream").text
    assert answer.count("event: activity") == 1 and "Received €3.00" in answer
    assert "event:" not in plain


def test_the_stream_keeps_the_browsers_last_event_id_current_in_every_message(
    bank: WebBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_streams(monkeypatch, lifetime_seconds=0.6, keepalive_seconds=0.15)
    payer, payee = bank.customer(funded_minor=10_000), bank.customer()
    pay(bank, payer, payee, 100)
    bank.app.notifications.deliver_pending()
    [newest] = bank.app.notifications.activity_for(bank.tenant, payee.user_id, None, 1)  # type: ignore[arg-type]
    with signed_in(bank, payee) as browser:
        # Connected without Last-Event-ID or an address: after the newest item, named at once.
        answer = browser.get("/activity/stream").text
    assert answer.startswith(f": connected\r\nid: {newest.id}\r\nretry: 3000\r\n")
    assert answer.count(": keep-alive") >= 2
    assert event_ids(answer) == [newest.id] * len(event_ids(answer))


def test_an_address_naming_someone_elses_item_starts_from_now_and_shows_nothing_of_theirs(
    bank: WebBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_streams(monkeypatch, lifetime_seconds=0.4)
    payer, payee, other = (
        bank.customer(funded_minor=10_000),
        bank.customer(),
        bank.customer(),
    )
    pay(bank, payer, payee, 100)
    pay(bank, payer, other, 300)
    pay(bank, payer, other, 500)
    bank.app.notifications.deliver_pending()
    feed = bank.app.notifications
    [mine] = feed.activity_for(bank.tenant, payee.user_id, None, 10)  # type: ignore[arg-type]
    theirs = feed.activity_for(bank.tenant, other.user_id, None, 10)  # type: ignore[arg-type]
    with signed_in(bank, payee) as browser:
        foreign = browser.get(f"/activity/stream?after={theirs[0].id}").text
        unknown = browser.get(f"/activity/stream?after={uuid.uuid4()}").text
        # Last-Event-ID (the browser's own progress) wins over the page's address.
        both = browser.get(
            f"/activity/stream?after={theirs[0].id}", headers={"Last-Event-ID": mine.id}
        ).text
    for answer in (foreign, unknown, both):
        assert "event:" not in answer and "€3.00" not in answer and "€5.00" not in answer
        assert set(event_ids(answer)) == {mine.id}


# -- the live stream over a real server ----------------------------------------------------------


@contextmanager
def serving(bank: WebBank) -> Iterator[str]:
    """The app on the bank's container, served by uvicorn from a thread on a free port."""
    config = uvicorn.Config(
        create_app(bank.app),
        host="127.0.0.1",
        port=free_port(),
        lifespan="off",  # shutting down would close the container the test still uses
        log_level="warning",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(WAIT_SECONDS)


class EventReader:
    """Reads a server-sent event stream in a thread; events (and the end) arrive in a queue."""

    def __init__(self, response: httpx.Response) -> None:
        self.events: queue.Queue[dict[str, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(response,), daemon=True)
        self._thread.start()

    def _read(self, response: httpx.Response) -> None:
        event: dict[str, str] = {}
        try:
            for line in response.iter_lines():
                if line == "":
                    if event:
                        self.events.put(event)
                    event = {}
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                key = name or "comment"
                event[key] = f"{event[key]}\n{value}" if key in event else value
        except httpx.HTTPError:
            pass
        self.events.put(None)

    def next_matching(self, wanted: str) -> dict[str, str] | None:
        """The next event named ``wanted`` (None if the stream ended first)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event is None or event.get("event") == wanted:
                return event
        raise AssertionError(f"no {wanted!r} event within {WAIT_SECONDS} s")

    def ended(self) -> bool:
        """Whether the stream ends (within the wait), whatever comes before the end."""
        deadline = time.monotonic() + WAIT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self.events.get(timeout=left) is None:
                    return True
            except queue.Empty:
                break
        return False


def test_an_incoming_payment_reaches_an_open_stream_and_signing_out_ends_it(
    bank: WebBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    timing = pages_feed.StreamTiming(
        poll_seconds=0.1, session_check_seconds=0.3, keepalive_seconds=5, lifetime_seconds=60
    )
    monkeypatch.setattr(pages_feed, "TIMING", timing)
    payer, payee = bank.customer(funded_minor=10_000), bank.customer()
    pay(bank, payer, payee, 700)  # before the stream opens: not sent again
    bank.app.notifications.deliver_pending()
    with signed_in(bank, payee) as browser, serving(bank) as url:
        headers = {
            "Host": bank.host,
            "Cookie": f"{SESSION_COOKIE}={browser.client.cookies.get(SESSION_COOKIE)}",
            "Accept-Language": "en",
        }
        with (
            httpx.Client(base_url=url, timeout=WAIT_SECONDS) as http,
            http.stream("GET", "/activity/stream", headers=headers) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            reader = EventReader(response)
            transfer_id = pay(bank, payer, payee, 2_500)
            bank.app.notifications.deliver_pending()
            arrived = reader.next_matching("activity")
            assert arrived is not None, "the stream ended before the payment arrived"
            assert f"Received €25.00 from @{payer.handle}" in arrived["data"]
            assert f'href="/history/transfer/{transfer_id}"' in arrived["data"]
            assert "€7.00" not in arrived["data"]
            assert arrived["id"]
            assert reader.next_matching("balance") is not None
            browser.post("/signout", {}, page="/")
            farewell = reader.next_matching("signed-out")
            assert farewell is not None and "signed out" in farewell["data"]
            assert reader.ended()
