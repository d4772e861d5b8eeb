"""The outbox relay: deliver outbox messages (mail, SMS, in-app activity) after commit, at least
once, each effect once per message id.

``deliver_pending`` works in three steps so that no network call ever runs inside a database
transaction: (1) one transaction claims due messages (a lease: other relays skip them until it
ends); (2) the effects run outside any transaction; (3) one transaction marks the successes
delivered (writing ACTIVITY items to the feed in that same transaction, keyed by message id) and
schedules the failures for a retry after an exponential backoff with a ceiling. After
``max_attempts`` failed attempts a message stays undelivered for an operator to look at; its
``last_error`` holds the error's class name only, never an address or a message text.

Effects are idempotent per message id: the development mailbox and SMS outbox store one file per
id, and the feed's primary key is the id. Development helpers: ``mailbox(address)`` and
``sms_outbox(number)`` read back what was "sent" (tests use them to fetch verification codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from walletbridge.domain.ledger import TenantId
from walletbridge.domain.outbox import (
    ActivityCursorInvalid,
    ActivityItem,
    ClaimedMessage,
    MailMessage,
    Scalar,
    SmsMessage,
    Topic,
)
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.ports.platform import MailboxReader, Mailer, SmsReader, SmsSender, UnknownCursor
from walletbridge.services.settings import ServiceSettings

US_PER_SECOND = 1_000_000
MAX_FEED_PAGE = 100


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    max_attempts: int = 10
    backoff_base_seconds: int = 5
    backoff_ceiling_seconds: int = 3600
    lease_seconds: int = 120
    """How long a claimed message stays hidden from other relays while its effect runs."""

    def retry_delay_seconds(self, attempts: int) -> int:
        """5 s, 10 s, 20 s, … doubling per failed attempt, never more than the ceiling."""
        exponent = min(max(attempts - 1, 0), 30)
        return int(min(self.backoff_ceiling_seconds, self.backoff_base_seconds * 2**exponent))


class DeliveryFailed(Exception):
    """A message could not be handed to its transport; ``reason`` names why, without data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Outcome:
    claimed: ClaimedMessage
    error: str | None
    activity: ActivityItem | None = None


class NotificationService:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        ids: IdSource,
        settings: ServiceSettings,
        *,
        mailer: Mailer | None = None,
        sms: SmsSender | None = None,
        mailbox: MailboxReader | None = None,
        sms_outbox: SmsReader | None = None,
        policy: RelayPolicy | None = None,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._settings = settings
        self._mailer = mailer
        self._sms = sms
        self._mailbox = mailbox
        self._sms_outbox = sms_outbox
        self.policy = policy or RelayPolicy()

    def deliver_pending(self, limit: int = 100) -> int:
        """Deliver up to ``limit`` due messages; return how many were delivered."""
        claimed = self._claim(limit)
        outcomes = [self._perform(message) for message in claimed]
        if outcomes:
            self._finish(outcomes)
        return sum(1 for outcome in outcomes if outcome.error is None)

    def _claim(self, limit: int) -> list[ClaimedMessage]:
        now_us = self._clock.now_us()
        lease_until_us = now_us + self.policy.lease_seconds * US_PER_SECOND

        def claim(uow: UnitOfWork) -> list[ClaimedMessage]:
            messages = uow.outbox.claim_due(
                now_us,
                limit=limit,
                lease_until_us=lease_until_us,
                max_attempts=self.policy.max_attempts,
            )
            uow.commit()
            return messages

        return self._runner.write(claim)

    def _perform(self, claimed: ClaimedMessage) -> _Outcome:
        """Run one message's effect, outside any transaction."""
        try:
            match claimed.message.topic:
                case Topic.EMAIL:
                    self._send_mail(claimed)
                case Topic.SMS:
                    self._send_sms(claimed)
                case Topic.ACTIVITY:
                    return _Outcome(claimed, None, activity=_activity(claimed))
        except DeliveryFailed as failure:
            return _Outcome(claimed, failure.reason)
        except Exception as error:  # a transport's failure is retried, never raised to the job
            return _Outcome(claimed, type(error).__name__)
        return _Outcome(claimed, None)

    def _send_mail(self, claimed: ClaimedMessage) -> None:
        if self._mailer is None:
            raise DeliveryFailed("no-mailer")
        payload = claimed.message.payload
        locale = payload.get("locale")
        self._mailer.send(
            MailMessage(
                id=claimed.message.id,
                to=_text(payload, "to"),
                subject=_text(payload, "subject"),
                body=_text(payload, "body"),
                sender=self._settings.mail_from,
                created_at_us=claimed.created_at_us,
                locale=str(locale) if locale is not None else None,
            )
        )

    def _send_sms(self, claimed: ClaimedMessage) -> None:
        if self._sms is None:
            raise DeliveryFailed("no-sms-provider")
        payload = claimed.message.payload
        self._sms.send(
            SmsMessage(
                id=claimed.message.id,
                to=_text(payload, "to"),
                text=_text(payload, "text"),
                created_at_us=claimed.created_at_us,
            )
        )

    def _finish(self, outcomes: list[_Outcome]) -> None:
        now_us = self._clock.now_us()

        def finish(uow: UnitOfWork) -> None:
            for outcome in outcomes:
                message_id = outcome.claimed.message.id
                if outcome.error is None:
                    if outcome.activity is not None:
                        uow.outbox.add_activity(outcome.activity)
                    uow.outbox.mark_delivered(message_id, now_us)
                else:
                    delay = self.policy.retry_delay_seconds(outcome.claimed.attempts)
                    uow.outbox.mark_failed(
                        message_id,
                        retry_at_us=now_us + delay * US_PER_SECOND,
                        error=outcome.error,
                    )
            uow.commit()

        self._runner.write(finish)

    def activity_for(
        self, tenant_id: TenantId, user_id: str, after: str | None = None, limit: int = 50
    ) -> list[ActivityItem]:
        """The user's feed in delivery order: the latest ``limit`` items, or those after the item
        ``after`` (the live feed polls with the last id it has). ``cursor-invalid`` for an
        ``after`` that is not one of the user's items."""
        limit = max(1, min(limit, MAX_FEED_PAGE))

        def read(uow: UnitOfWork) -> list[ActivityItem]:
            return uow.outbox.activity_for(tenant_id, user_id, after=after, limit=limit)

        try:
            return self._runner.read(read)
        except UnknownCursor:
            raise ActivityCursorInvalid() from None

    def mailbox(self, address: str) -> list[MailMessage]:
        """Development mailbox: mail delivered to ``address``, newest first. Empty when mail goes
        out by SMTP (there is no local copy then)."""
        return [] if self._mailbox is None else self._mailbox.messages_for(address)

    def sms_outbox(self, number: str) -> list[SmsMessage]:
        """Development SMS outbox: texts delivered to ``number``, newest first."""
        return [] if self._sms_outbox is None else self._sms_outbox.messages_for(number)


def _text(payload: Mapping[str, Scalar], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise DeliveryFailed(f"payload-missing-{key}")
    return value


def _activity(claimed: ClaimedMessage) -> ActivityItem:
    message = claimed.message
    payload = dict(message.payload)
    user_id = payload.pop("user_id", None)
    kind = payload.pop("kind", None)
    if message.tenant_id is None or not isinstance(user_id, str) or not isinstance(kind, str):
        raise DeliveryFailed("payload-invalid-activity")
    return ActivityItem(
        id=message.id,
        tenant_id=message.tenant_id,
        user_id=user_id,
        kind=kind,
        payload=payload,
        created_at_us=claimed.created_at_us,
    )
