"""The ledger model: accounts, entries of postings, holds — and the invariants they keep.

Sign convention: a posting's ``amount_minor`` is positive for a debit and negative for a credit,
so the postings of an entry sum to zero in each currency. An account's *balance* is kept on its
normal side: a debit-normal account (an asset, an expense) grows with debits, a credit-normal one
(a customer's wallet is a liability of the operator) grows with credits. ``normal_sign`` turns a
posting into a balance change.

Invariants kept here (and again by the database):
- an entry has at least two postings, none zero, no account twice, and sums to zero per currency;
- every amount is an integer of minor units within ``MAX_POSTING_MINOR``;
- an idempotency key is 1–255 printable ASCII characters.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

from walletbridge.domain.errors import InvalidAccount, InvalidEntry, SelfTransfer, UnbalancedEntry

TenantId = NewType("TenantId", str)
AccountId = NewType("AccountId", uuid.UUID)
EntryId = NewType("EntryId", uuid.UUID)
HoldId = NewType("HoldId", uuid.UUID)

MAX_POSTING_MINOR = 10**15
"""No single posting moves more than this; far inside signed 64-bit so sums cannot overflow."""
MAX_LEGS = 64
MAX_IDEMPOTENCY_KEY_CHARS = 255
MAX_SHARDS = 64
MAX_MEMO_CHARS = 500


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> NormalSide:
        if self in (AccountKind.ASSET, AccountKind.EXPENSE):
            return NormalSide.DEBIT
        return NormalSide.CREDIT


class NormalSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def sign(self) -> int:
        """Multiply a posting by this to get the change of a balance kept on this side."""
        return 1 if self is NormalSide.DEBIT else -1


class EntryKind(StrEnum):
    TRANSFER = "transfer"
    CAPTURE = "capture"
    REVERSAL = "reversal"


class HoldStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Account:
    id: AccountId
    tenant_id: TenantId
    currency: str
    kind: AccountKind
    normal_side: NormalSide
    shard_count: int
    floor_minor: int | None
    ceiling_minor: int | None
    code: str | None = None
    owner_ref: str | None = None

    @property
    def is_sharded(self) -> bool:
        return self.shard_count > 1


@dataclass(frozen=True, slots=True)
class NewAccount:
    """What a caller asks for when opening an account. ``floor_minor`` None means no floor."""

    tenant_id: TenantId
    currency: str
    kind: AccountKind
    floor_minor: int | None = 0
    ceiling_minor: int | None = None
    shard_count: int = 1
    code: str | None = None
    owner_ref: str | None = None

    def validate(self) -> None:
        if len(self.currency) != 3 or not self.currency.isascii() or not self.currency.isupper():
            raise InvalidAccount(reason="currency must be an ISO 4217 code")
        if not 1 <= self.shard_count <= MAX_SHARDS:
            raise InvalidAccount(reason=f"shard_count must be 1 to {MAX_SHARDS}")
        if self.shard_count > 1 and self.ceiling_minor is not None:
            raise InvalidAccount(reason="a sharded account cannot have a ceiling")
        for name, value in (("floor", self.floor_minor), ("ceiling", self.ceiling_minor)):
            if value is not None and abs(value) > MAX_POSTING_MINOR:
                raise InvalidAccount(reason="the floor or the ceiling is out of range", field=name)
        if (
            self.floor_minor is not None
            and self.ceiling_minor is not None
            and self.ceiling_minor < max(self.floor_minor, 0)
        ):
            raise InvalidAccount(reason="ceiling is below the floor")

    def to_account(self, account_id: AccountId) -> Account:
        """The account this request opens, once validated, under the id given."""
        self.validate()
        return Account(
            id=account_id,
            tenant_id=self.tenant_id,
            currency=self.currency,
            kind=self.kind,
            normal_side=self.kind.normal_side,
            shard_count=self.shard_count,
            floor_minor=self.floor_minor,
            ceiling_minor=self.ceiling_minor,
            code=self.code,
            owner_ref=self.owner_ref,
        )


@dataclass(frozen=True, slots=True)
class Leg:
    """One posting of a draft: positive debits ``account_id``, negative credits it."""

    account_id: AccountId
    currency: str
    amount_minor: int


def validate_idempotency_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidEntry(reason=f"idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} chars")
    if not key.isascii() or not key.isprintable():
        raise InvalidEntry(reason="idempotency key must be printable ASCII")


def validate_amount(amount_minor: int) -> None:
    if type(amount_minor) is not int:
        raise InvalidEntry(reason="amounts are whole numbers of minor units")
    if amount_minor <= 0:
        raise InvalidEntry(reason="amount must be positive")
    if amount_minor > MAX_POSTING_MINOR:
        raise InvalidEntry(reason="amount is out of range")


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry not yet posted. ``validate`` enforces the double-entry rules before any I/O."""

    tenant_id: TenantId
    idempotency_key: str
    legs: tuple[Leg, ...]
    kind: EntryKind = EntryKind.TRANSFER
    memo: str | None = None
    reverses_id: EntryId | None = None
    hold_id: HoldId | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        validate_idempotency_key(self.idempotency_key)
        if not 2 <= len(self.legs) <= MAX_LEGS:
            raise InvalidEntry(reason=f"an entry has 2 to {MAX_LEGS} postings")
        if self.memo is not None and len(self.memo) > MAX_MEMO_CHARS:
            raise InvalidEntry(reason="memo is too long")
        accounts = [leg.account_id for leg in self.legs]
        if len(set(accounts)) != len(accounts):
            if len(self.legs) == 2:
                raise SelfTransfer()
            raise InvalidEntry(reason="an account appears twice")
        totals: dict[str, int] = defaultdict(int)
        for leg in self.legs:
            if type(leg.amount_minor) is not int or leg.amount_minor == 0:
                raise InvalidEntry(reason="every posting moves a non-zero whole amount")
            if abs(leg.amount_minor) > MAX_POSTING_MINOR:
                raise InvalidEntry(reason="amount is out of range")
            totals[leg.currency] += leg.amount_minor
        if any(total != 0 for total in totals.values()):
            raise UnbalancedEntry()

    def request_hash(self) -> bytes:
        """What makes two requests under one idempotency key 'the same request'."""
        body = {
            "kind": self.kind.value,
            "legs": sorted(
                [str(leg.account_id), leg.currency, leg.amount_minor] for leg in self.legs
            ),
            "memo": self.memo,
            "reverses": str(self.reverses_id) if self.reverses_id else None,
            "hold": str(self.hold_id) if self.hold_id else None,
            "extra": self.extra,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()


def transfer_legs(
    debit_account: Account, credit_account: Account, amount_minor: int
) -> tuple[Leg, Leg]:
    """Money leaves ``debit_account`` (a wallet is debited) and reaches ``credit_account``.

    Named from the payer's point of view: the payer's account is *debited* (its posting is a
    debit), the payee's is *credited*.
    """
    validate_amount(amount_minor)
    if debit_account.id == credit_account.id:
        raise SelfTransfer()
    if debit_account.currency != credit_account.currency:
        raise InvalidEntry(reason="a transfer moves one currency; convert first")
    return (
        Leg(debit_account.id, debit_account.currency, amount_minor),
        Leg(credit_account.id, credit_account.currency, -amount_minor),
    )


@dataclass(frozen=True, slots=True)
class Posting:
    entry_id: EntryId
    leg: int
    account_id: AccountId
    currency: str
    amount_minor: int
    posted_at_us: int


@dataclass(frozen=True, slots=True)
class Entry:
    id: EntryId
    seq: int
    tenant_id: TenantId
    idempotency_key: str
    kind: EntryKind
    posted_at_us: int
    postings: tuple[Posting, ...]
    memo: str | None = None
    reverses_id: EntryId | None = None
    hold_id: HoldId | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """Balances of one account, on its normal side, summed over its shards."""

    account_id: AccountId
    currency: str
    posted_minor: int
    pending_minor: int
    floor_minor: int | None

    @property
    def available_minor(self) -> int:
        """posted - held + overdraft allowance (a negative floor is an overdraft allowance)."""
        floor = self.floor_minor if self.floor_minor is not None else 0
        return self.posted_minor - self.pending_minor - floor


@dataclass(frozen=True, slots=True)
class Hold:
    id: HoldId
    tenant_id: TenantId
    debit_account_id: AccountId
    credit_account_id: AccountId
    currency: str
    amount_minor: int
    status: HoldStatus
    expires_at_us: int
    captured_minor: int | None = None
    capture_entry_id: EntryId | None = None


@dataclass(frozen=True, slots=True)
class Seal:
    """A Merkle checkpoint over the entries with ``first_seq <= seq <= last_seq``, chained to the
    previous seal by ``prev_hash``."""

    seal_no: int
    first_seq: int
    last_seq: int
    entry_count: int
    merkle_root: bytes
    prev_hash: bytes
    seal_hash: bytes
    sealed_at_us: int
