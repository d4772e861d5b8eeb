"""Transports for mail and SMS, and the development mailbox that stands in for them.

``notification_adapters(var_dir, smtp_host=..., smtp_port=...)`` picks them: SMTP when
``smtp_host`` is set, otherwise the development mailbox under ``<var_dir>/mail``; SMS always
goes to the development outbox under ``<var_dir>/sms`` until a provider is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from walletbridge.adapters.notify.files import FileMailbox, FileSmsOutbox
from walletbridge.adapters.notify.smtp import SmtpMailer
from walletbridge.ports.platform import MailboxReader, Mailer, SmsReader, SmsSender

__all__ = [
    "FileMailbox",
    "FileSmsOutbox",
    "NotificationAdapters",
    "SmtpMailer",
    "notification_adapters",
]


@dataclass(frozen=True, slots=True)
class NotificationAdapters:
    mailer: Mailer
    sms: SmsSender
    mailbox: MailboxReader | None
    """The development mailbox, when mail goes there; None when it goes out by SMTP."""
    sms_outbox: SmsReader | None


def notification_adapters(
    var_dir: Path, *, smtp_host: str = "", smtp_port: int = 25
) -> NotificationAdapters:
    sms = FileSmsOutbox(var_dir / "sms")
    if smtp_host:
        smtp = SmtpMailer(smtp_host, smtp_port)
        return NotificationAdapters(mailer=smtp, sms=sms, mailbox=None, sms_outbox=sms)
    mailbox = FileMailbox(var_dir / "mail")
    return NotificationAdapters(mailer=mailbox, sms=sms, mailbox=mailbox, sms_outbox=sms)
