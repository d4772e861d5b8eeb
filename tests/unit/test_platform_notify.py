"""Mail and SMS transports, relay backoff and rate-limit windows, without a database."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from walletbridge.adapters.notify import FileMailbox, SmtpMailer, notification_adapters
from walletbridge.adapters.notify.smtp import to_email
from walletbridge.domain.outbox import MailMessage
from walletbridge.domain.throttle import window_at
from walletbridge.services.notifications import RelayPolicy
from walletbridge.services.throttle import stored_bucket

MAIL = MailMessage(
    id="0193-mail-1",
    to="alice@example.com",
    subject="Your code",
    body="Your code is 123456.",
    sender="walletbridge <no-reply@walletbridge.invalid>",
    created_at_us=1_767_225_600_000_000,
    locale="en",
)


def test_the_mailbox_keeps_one_file_per_message_id(tmp_path: Path) -> None:
    mailbox = FileMailbox(tmp_path / "mail")
    mailbox.send(MAIL)
    mailbox.send(MAIL)

    assert [path.name for path in (tmp_path / "mail").iterdir()] == ["0193-mail-1.json"]
    assert mailbox.messages_for("ALICE@example.com") == [MAIL]


def test_the_mailbox_lists_newest_first(tmp_path: Path) -> None:
    mailbox = FileMailbox(tmp_path / "mail")
    later = MailMessage(**{**_fields(MAIL), "id": "0193-mail-2", "created_at_us": 2 * 10**15})
    mailbox.send(MAIL)
    mailbox.send(later)

    assert [mail.id for mail in mailbox.messages_for(MAIL.to)] == ["0193-mail-2", "0193-mail-1"]
    assert [mail.id for mail in mailbox.all_messages()] == ["0193-mail-2", "0193-mail-1"]


def test_a_message_id_that_is_not_a_file_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        FileMailbox(tmp_path).send(MailMessage(**{**_fields(MAIL), "id": "../escape"}))


def test_without_an_smtp_host_mail_goes_to_the_development_mailbox(tmp_path: Path) -> None:
    development = notification_adapters(tmp_path)
    production = notification_adapters(tmp_path, smtp_host="127.0.0.1", smtp_port=2525)

    assert isinstance(development.mailer, FileMailbox)
    assert development.mailbox is development.mailer
    assert isinstance(production.mailer, SmtpMailer)
    assert production.mailbox is None


def test_an_email_carries_a_message_id_derived_from_the_outbox_id() -> None:
    email = to_email(MAIL)

    assert email["Message-ID"] == "<0193-mail-1@walletbridge>"
    assert email["To"] == "alice@example.com"
    assert email["Content-Language"] == "en"
    assert email.get_content().strip() == "Your code is 123456."


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[bytes]]]:
    """A minimal SMTP server on loopback that accepts one message and records its data."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, connection.makefile("rwb") as stream:
            stream.write(b"220 test\r\n")
            stream.flush()
            while line := stream.readline():
                verb = line[:4].upper()
                if verb == b"DATA":
                    stream.write(b"354 go on\r\n")
                    stream.flush()
                    data = b""
                    while (chunk := stream.readline()) != b".\r\n":
                        data += chunk
                    received.append(data)
                    reply = b"250 queued\r\n"
                elif verb == b"QUIT":
                    stream.write(b"221 bye\r\n")
                    stream.flush()
                    return
                else:
                    reply = b"250 ok\r\n"
                stream.write(reply)
                stream.flush()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], received
    thread.join(timeout=5)
    listener.close()


def test_the_smtp_mailer_sends_the_message(smtp_server: tuple[int, list[bytes]]) -> None:
    port, received = smtp_server

    SmtpMailer("127.0.0.1", port).send(MAIL)

    assert len(received) == 1
    assert b"Subject: Your code" in received[0]
    assert b"Message-ID: <0193-mail-1@walletbridge>" in received[0]


def test_retries_back_off_exponentially_up_to_a_ceiling() -> None:
    policy = RelayPolicy(backoff_base_seconds=5, backoff_ceiling_seconds=60)

    delays = [policy.retry_delay_seconds(attempt) for attempt in range(1, 7)]

    assert delays == [5, 10, 20, 40, 60, 60]
    assert policy.retry_delay_seconds(10_000) == 60


def test_a_window_is_aligned_and_says_how_long_to_wait() -> None:
    window = window_at(now_us=130_500_000, window_seconds=60)

    assert (window.start_us, window.end_us) == (120_000_000, 180_000_000)
    assert window.retry_after_seconds(130_500_000) == 50  # 49.5 s rounds up
    assert window.retry_after_seconds(180_000_000) == 1


def test_a_stored_bucket_keeps_the_limit_name_and_hides_the_subject() -> None:
    stored = stored_bucket(b"secret", "login:t1:alice@example.com")

    assert stored.startswith("login:")
    assert "alice" not in stored
    assert stored != stored_bucket(b"other secret", "login:t1:alice@example.com")
    assert len(stored) <= 128


def _fields(mail: MailMessage) -> dict[str, object]:
    return {name: getattr(mail, name) for name in MailMessage.__slots__}
