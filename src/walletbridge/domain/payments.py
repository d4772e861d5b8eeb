"""Person-to-person payments: transfers, requests to pay, payees, wallet history items and the
idempotency keys that make money-moving requests safe to retry.

Invariants kept here: an amount is positive and in the currency's precision (``Money`` parsed at
the edge); nobody pays themselves; a note is at most ``MAX_NOTE_CHARS`` printable characters; an
idempotency key is 1-255 printable ASCII characters and names one request per caller, compared by
``request_hash``. The error tree is drawn in ``domain.wallets``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

from walletbridge.domain.actors import RecipientKind, UserId
from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.ledger import EntryId, TenantId

TransferId = NewType("TransferId", uuid.UUID)
HistoryId = NewType("HistoryId", uuid.UUID)
RequestId = NewType("RequestId", uuid.UUID)
PayeeId = NewType("PayeeId", uuid.UUID)

MAX_NOTE_CHARS = 140
MAX_NICKNAME_CHARS = 60
MAX_IDEMPOTENCY_KEY_CHARS = 255
MAX_BATCH_ITEMS = 100


class PaymentError(DomainError):
    code = "payment-error"


class RecipientNotFound(PaymentError):
    code = "recipient-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "No active customer here goes by that {kind}."
    public = ("kind",)


class PayingYourself(PaymentError):
    code = "self-payment"
    template = "You cannot pay yourself."


class FeeChanged(PaymentError):
    code = "fee-changed"
    kind = ErrorKind.CONFLICT
    template = "The fee is now {fee} {currency}; confirm the new fee to pay."
    public = ("fee", "currency")


class InvalidPayment(PaymentError):
    code = "payment-invalid"
    template = "The payment is not valid: {reason}."
    public = ("reason",)


class TransferNotFound(PaymentError):
    code = "transfer-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Transfer {transfer_id} does not exist."


class TransactionNotFound(PaymentError):
    code = "transaction-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Transaction {transaction_id} does not exist."


class PaymentRequestNotFound(PaymentError):
    code = "payment-request-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Payment request {request_id} does not exist."


class RequestNotPending(PaymentError):
    code = "payment-request-not-pending"
    kind = ErrorKind.CONFLICT
    template = "The payment request is already {request_status}."
    public = ("request_status",)


class PayeeNotFound(PaymentError):
    code = "payee-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Payee {payee_id} does not exist."


class PayeeExists(PaymentError):
    code = "payee-exists"
    kind = ErrorKind.CONFLICT
    template = "That person is already one of your payees."


class BatchItemRefused(PaymentError):
    """One item of a batch was refused, so none was paid. ``item_code`` is the refusal's own
    code (``limit-exceeded``, ``insufficient-funds``...)."""

    code = "batch-item-refused"
    template = "Item {index} of the batch was refused ({item_code}): {reason} Nothing was paid."
    public = ("index", "item_code")


class InvalidFilter(PaymentError):
    code = "filter-invalid"
    kind = ErrorKind.BAD_REQUEST
    template = "The filter is not valid: {reason}."
    public = ("reason",)


class IdempotencyKeyMissing(PaymentError):
    code = "idempotency-key-missing"
    kind = ErrorKind.BAD_REQUEST
    template = "Send an Idempotency-Key header with every payment."


class IdempotencyKeyInvalid(PaymentError):
    code = "idempotency-key-invalid"
    kind = ErrorKind.BAD_REQUEST
    template = "The Idempotency-Key is 1 to 255 printable ASCII characters."


class IdempotencyKeyReused(PaymentError):
    code = "idempotency-key-reused"
    template = "This Idempotency-Key was already used for a different request."


class RequestInFlight(PaymentError):
    code = "idempotency-request-in-flight"
    kind = ErrorKind.CONFLICT
    template = "A request with this Idempotency-Key is still being processed; retry shortly."


def validate_idempotency_key(key: str | None) -> str:
    if key is None:
        raise IdempotencyKeyMissing()
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS or not (key.isascii() and key.isprintable()):
        raise IdempotencyKeyInvalid()
    return key


def validate_note(note: str | None) -> str | None:
    if note is None:
        return None
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidPayment(reason=f"a note is at most {MAX_NOTE_CHARS} characters")
    if not note.isprintable():
        raise InvalidPayment(reason="a note is printable text on one line")
    return note


def request_hash(body: object) -> bytes:
    """What makes two requests under one idempotency key the same request: the canonical JSON
    of what the caller asked for."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).digest()


@dataclass(frozen=True, slots=True)
class RecipientRef:
    """How a payer names a recipient: a handle, email address or phone number."""

    kind: RecipientKind
    value: str


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class HistoryKind(StrEnum):
    P2P = "p2p"
    REQUEST = "request"
    TOP_UP = "top-up"


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One line of a customer's wallet history: their own view of a movement."""

    id: HistoryId
    tenant_id: TenantId
    user_id: UserId
    transfer_id: TransferId
    kind: HistoryKind
    direction: Direction
    counterparty_user_id: UserId | None
    counterparty_handle: str | None
    currency: str
    amount_minor: int
    fee_minor: int
    note: str | None
    entry_id: EntryId
    created_at_us: int

    @property
    def total_minor(self) -> int:
        """What the movement changed the owner's balance by (the payer also pays the fee)."""
        if self.direction is Direction.OUT:
            return self.amount_minor + self.fee_minor
        return self.amount_minor


class RequestStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    DECLINED = "declined"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    id: RequestId
    tenant_id: TenantId
    requester_id: UserId
    requester_handle: str
    payer_id: UserId
    payer_handle: str
    currency: str
    amount_minor: int
    note: str | None
    status: RequestStatus
    transfer_id: TransferId | None
    created_at_us: int
    updated_at_us: int


@dataclass(frozen=True, slots=True)
class Payee:
    id: PayeeId
    tenant_id: TenantId
    owner_id: UserId
    payee_user_id: UserId
    nickname: str
    created_at_us: int


def validate_nickname(nickname: str) -> str:
    text = nickname.strip()
    if not 1 <= len(text) <= MAX_NICKNAME_CHARS or not text.isprintable():
        raise InvalidPayment(reason=f"a nickname is 1 to {MAX_NICKNAME_CHARS} printable characters")
    return text
