"""The development mailbox and SMS outbox: each message is one JSON file named by its message id.

Writing is idempotent: a message already on disk is left alone, so the relay delivering the same
outbox message twice still leaves one file. Files are written to a temporary name and renamed into
place, so a reader never sees half a message. Only for development and tests: the files hold the
messages in clear, verification codes included.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from walletbridge.domain.outbox import MailMessage, SmsMessage

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _write_once(folder: Path, message_id: str, document: dict[str, Any]) -> None:
    assert _SAFE_ID.match(message_id), "message ids are file-name safe (UUIDs)"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{message_id}.json"
    if target.exists():
        return
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file, ensure_ascii=False, sort_keys=True)
        # A second delivery racing this one writes the same content; either rename wins.
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _documents(folder: Path) -> list[dict[str, Any]]:
    if not folder.is_dir():
        return []
    documents = []
    for path in folder.glob("*.json"):
        with path.open(encoding="utf-8") as file:
            documents.append(json.load(file))
    return documents


class FileMailbox:
    """Mailer and mailbox reader over ``<folder>/<message id>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, mail: MailMessage) -> None:
        _write_once(
            self.folder,
            mail.id,
            {
                "id": mail.id,
                "to": mail.to,
                "from": mail.sender,
                "subject": mail.subject,
                "body": mail.body,
                "locale": mail.locale,
                "created_at_us": mail.created_at_us,
            },
        )

    def messages_for(self, address: str) -> list[MailMessage]:
        wanted = address.strip().lower()
        mails = [
            MailMessage(
                id=doc["id"],
                to=doc["to"],
                subject=doc["subject"],
                body=doc["body"],
                sender=doc["from"],
                created_at_us=doc["created_at_us"],
                locale=doc.get("locale"),
            )
            for doc in _documents(self.folder)
            if str(doc.get("to", "")).strip().lower() == wanted
        ]
        return sorted(mails, key=lambda mail: (mail.created_at_us, mail.id), reverse=True)

    def all_messages(self) -> list[MailMessage]:
        """Every mail in the mailbox, newest first (the development mail viewer)."""
        addresses = {str(doc.get("to", "")) for doc in _documents(self.folder)}
        mails = [mail for address in addresses for mail in self.messages_for(address)]
        return sorted(mails, key=lambda mail: (mail.created_at_us, mail.id), reverse=True)


class FileSmsOutbox:
    """SMS sender and reader over ``<folder>/<message id>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, sms: SmsMessage) -> None:
        _write_once(
            self.folder,
            sms.id,
            {"id": sms.id, "to": sms.to, "text": sms.text, "created_at_us": sms.created_at_us},
        )

    def messages_for(self, number: str) -> list[SmsMessage]:
        wanted = number.strip()
        messages = [
            SmsMessage(
                id=doc["id"], to=doc["to"], text=doc["text"], created_at_us=doc["created_at_us"]
            )
            for doc in _documents(self.folder)
            if str(doc.get("to", "")).strip() == wanted
        ]
        return sorted(messages, key=lambda sms: (sms.created_at_us, sms.id), reverse=True)
