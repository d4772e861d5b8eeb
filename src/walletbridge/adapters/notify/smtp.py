"""Mail over SMTP with the standard library's ``smtplib``.

The relay calls ``send`` outside any database transaction. SMTP cannot refuse a duplicate, so a
message delivered again after a crash between sending and marking it delivered reaches the
recipient twice; its ``Message-ID`` header (derived from the outbox id) lets mail clients fold the
two. STARTTLS is used whenever the server offers it.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from walletbridge.domain.outbox import MailMessage

TIMEOUT_SECONDS = 10.0


class SmtpMailer:
    def __init__(self, host: str, port: int, *, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self.host = host
        self.port = port
        self.timeout_seconds = timeout_seconds

    def send(self, mail: MailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as client:
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls()
                client.ehlo()
            client.send_message(to_email(mail))


def to_email(mail: MailMessage) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = f"<{mail.id}@walletbridge>"
    message["Date"] = formatdate(mail.created_at_us / 1_000_000, usegmt=True)
    message.set_content(mail.body)
    # After set_content, which replaces every Content-* header.
    if mail.locale:
        message["Content-Language"] = mail.locale
    return message
