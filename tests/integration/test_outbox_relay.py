"""The outbox relay: a message commits with its use case, is delivered after commit, retried with
backoff when its transport fails, and has its effect once per message id however often it is
attempted. Each engine gets a database of its own here: the relay drains the whole outbox."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock, own_database, settings_for
from walletbridge.adapters.db.tables_platform import outbox
from walletbridge.adapters.notify import FileMailbox, FileSmsOutbox
from walletbridge.bootstrap import Container, build
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import ActivityCursorInvalid, MailMessage, OutboxMessage
from walletbridge.ports import UnitOfWork
from walletbridge.services.notifications import NotificationService, RelayPolicy

TENANT = TenantId("tenant-outbox")


@pytest.fixture(params=["sqlite", "postgres"])
def relay_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with own_database(
        request, request.param, tmp_path_factory.mktemp("outbox"), "wb_outbox"
    ) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(relay_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    container = build(settings_for(relay_url, tmp_path), clock=clock)
    yield container
    container.close()


class FlakyMailer:
    """Fails the first ``failures`` sends, then hands mail to the real development mailbox."""

    def __init__(self, mailbox: FileMailbox, failures: int) -> None:
        self.mailbox = mailbox
        self.failures = failures
        self.calls = 0

    def send(self, mail: MailMessage) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionRefusedError("smtp down")
        self.mailbox.send(mail)


class CrashAfterSending:
    """Sends, then the relay's process 'dies' before it can mark the message delivered."""

    def __init__(self, mailbox: FileMailbox) -> None:
        self.mailbox = mailbox

    def send(self, mail: MailMessage) -> None:
        self.mailbox.send(mail)
        raise KeyboardInterrupt


def relay(app: Container, mailer: object, **policy: int) -> NotificationService:
    return NotificationService(
        app.runner,
        app.clock,
        app.ids,
        app.service_settings,
        mailer=mailer,  # type: ignore[arg-type]
        mailbox=FileMailbox(app.settings.var_dir / "mail"),
        policy=RelayPolicy(**policy),
    )


def enqueue(app: Container, *messages: OutboxMessage, commit: bool = True) -> None:
    def add(uow: UnitOfWork) -> None:
        for message in messages:
            uow.outbox.add(message, app.clock.now_us())
        if commit:
            uow.commit()

    app.runner.write(add)


def mail_to(app: Container, address: str, subject: str = "Your code") -> OutboxMessage:
    return OutboxMessage.email(
        app.ids.new_id(), TENANT, to=address, subject=subject, body="123456", locale="en"
    )


def address() -> str:
    return f"user-{secrets.token_hex(4)}@example.com"


def mail_files(app: Container) -> list[Path]:
    return sorted((app.settings.var_dir / "mail").glob("*.json"))


def test_a_mail_is_delivered_once_to_the_development_mailbox(
    app: Container, clock: FakeClock
) -> None:
    to = address()
    enqueue(app, mail_to(app, to, "first"))
    clock.advance(1)
    enqueue(app, mail_to(app, to, "second"))

    assert app.notifications.deliver_pending() == 2
    assert app.notifications.deliver_pending() == 0

    inbox = app.notifications.mailbox(to.upper())
    assert [mail.subject for mail in inbox] == ["second", "first"]
    assert inbox[0].sender == app.service_settings.mail_from
    assert app.notifications.mailbox(address()) == []


def test_a_message_rolled_back_with_its_use_case_is_never_sent(app: Container) -> None:
    to = address()
    enqueue(app, mail_to(app, to), commit=False)

    assert app.notifications.deliver_pending() == 0
    assert app.notifications.mailbox(to) == []


def test_a_failing_transport_is_retried_after_a_backoff_without_duplicates(
    app: Container, clock: FakeClock
) -> None:
    mailer = FlakyMailer(FileMailbox(app.settings.var_dir / "mail"), failures=2)
    service = relay(app, mailer, backoff_base_seconds=5, backoff_ceiling_seconds=8)
    to = address()
    enqueue(app, mail_to(app, to))

    assert service.deliver_pending() == 0  # attempt 1 fails: retry in 5 s
    clock.advance(4)
    assert service.deliver_pending() == 0  # not due yet: no attempt
    clock.advance(1)
    assert service.deliver_pending() == 0  # attempt 2 fails: retry in min(10, 8) s
    clock.advance(7)
    assert service.deliver_pending() == 0
    clock.advance(1)
    assert service.deliver_pending() == 1  # attempt 3 succeeds

    assert mailer.calls == 3
    assert len(mail_files(app)) == 1
    with app.engine.connect() as connection:
        row = connection.execute(select(outbox)).one()
    assert row.attempts == 3
    assert row.delivered_at_us is not None


def test_the_last_error_names_the_failure_without_personal_data(app: Container) -> None:
    service = relay(app, FlakyMailer(FileMailbox(app.settings.var_dir / "mail"), failures=1))
    to = address()
    enqueue(app, mail_to(app, to))

    service.deliver_pending()

    with app.engine.connect() as connection:
        error = connection.execute(select(outbox.c.last_error)).scalar_one()
    assert error == "ConnectionRefusedError"


def test_a_message_is_given_up_after_the_retry_limit(app: Container, clock: FakeClock) -> None:
    mailer = FlakyMailer(FileMailbox(app.settings.var_dir / "mail"), failures=100)
    service = relay(app, mailer, max_attempts=3, backoff_base_seconds=1)
    enqueue(app, mail_to(app, address()))

    for _ in range(6):
        service.deliver_pending()
        clock.advance(3600)

    assert mailer.calls == 3


def test_a_relay_that_dies_mid_delivery_leaves_one_mail_after_the_retry(
    app: Container, clock: FakeClock
) -> None:
    mailbox = FileMailbox(app.settings.var_dir / "mail")
    to = address()
    enqueue(app, mail_to(app, to))
    with pytest.raises(KeyboardInterrupt):
        relay(app, CrashAfterSending(mailbox), lease_seconds=60).deliver_pending()

    clock.advance(30)
    assert app.notifications.deliver_pending() == 0  # still leased to the dead relay
    clock.advance(30)
    assert app.notifications.deliver_pending() == 1

    assert len(mailbox.messages_for(to)) == 1
    assert len(mail_files(app)) == 1


def test_an_sms_goes_to_the_development_outbox(app: Container) -> None:
    number = f"+4915{secrets.randbelow(10**8):08d}"
    enqueue(app, OutboxMessage.sms(app.ids.new_id(), TENANT, to=number, text="Code 654321"))

    app.notifications.deliver_pending()

    assert [sms.text for sms in app.notifications.sms_outbox(number)] == ["Code 654321"]
    assert list((app.settings.var_dir / "sms").glob("*.json"))


def test_activity_fills_the_users_feed_in_order(app: Container, clock: FakeClock) -> None:
    def activity(user: str, kind: str) -> OutboxMessage:
        return OutboxMessage.activity(
            app.ids.new_id(), TENANT, user_id=user, kind=kind, amount="1.00", currency="EUR"
        )

    first, second, third = (activity("alice", f"transfer.step{n}") for n in range(3))
    for message in (first, second, activity("bob", "transfer.received"), third):
        enqueue(app, message)
        clock.advance(microseconds=1)  # the feed keeps the order the events happened in
    app.notifications.deliver_pending()

    feed = app.notifications.activity_for(TENANT, "alice")
    newer = app.notifications.activity_for(TENANT, "alice", after=first.id)

    assert [item.id for item in feed] == [first.id, second.id, third.id]
    assert feed[0].payload == {"amount": "1.00", "currency": "EUR"}
    assert [item.id for item in newer] == [second.id, third.id]
    assert app.notifications.activity_for(TENANT, "alice", after=third.id) == []


def test_another_users_item_is_not_a_cursor_into_my_feed(app: Container) -> None:
    theirs = OutboxMessage.activity(app.ids.new_id(), TENANT, user_id="bob", kind="x.y")
    enqueue(app, theirs)
    app.notifications.deliver_pending()

    with pytest.raises(ActivityCursorInvalid):
        app.notifications.activity_for(TENANT, "alice", after=theirs.id)


def test_concurrent_relays_deliver_each_message_once(app: Container) -> None:
    mailbox = FileMailbox(app.settings.var_dir / "mail")
    sent: list[str] = []
    lock = threading.Lock()

    class Counting:
        def send(self, mail: MailMessage) -> None:
            with lock:
                sent.append(mail.id)
            mailbox.send(mail)

    enqueue(app, *(mail_to(app, address()) for _ in range(30)))
    relays = [relay(app, Counting()) for _ in range(3)]
    start = threading.Barrier(len(relays))

    def run(service: NotificationService) -> None:
        start.wait()
        while service.deliver_pending(limit=5):
            pass

    threads = [threading.Thread(target=run, args=(service,)) for service in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sent) == 30
    assert len(set(sent)) == 30


def test_the_sms_outbox_ignores_a_second_delivery(tmp_path: Path) -> None:
    from walletbridge.domain.outbox import SmsMessage

    outbox_dir = FileSmsOutbox(tmp_path / "sms")
    message = SmsMessage(id="m-1", to="+491", text="hi", created_at_us=1)
    outbox_dir.send(message)
    outbox_dir.send(SmsMessage(id="m-1", to="+491", text="changed", created_at_us=2))

    assert outbox_dir.messages_for("+491") == [message]
