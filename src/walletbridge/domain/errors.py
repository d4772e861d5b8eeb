"""Domain errors: each has a stable kebab-case ``code``, typed fields and a readable message.

The edge (API problem details, web pages, CLI) maps ``code`` to its own presentation; the message
is an English msgid that the translation catalogs key on. Programmer errors are assertions and are
never raised as these.

    DomainError
    ├── LedgerError
    │   ├── AccountNotFound            account-not-found
    │   ├── AccountCurrencyMismatch    account-currency-mismatch
    │   ├── InvalidAccount             account-invalid
    │   ├── InvalidEntry               entry-invalid
    │   ├── UnbalancedEntry            entry-unbalanced
    │   ├── SelfTransfer               self-transfer
    │   ├── InsufficientFunds          insufficient-funds
    │   ├── CeilingExceeded            balance-ceiling-exceeded
    │   ├── IdempotencyConflict        idempotency-key-reused
    │   ├── EntryNotFound              entry-not-found
    │   ├── EntryAlreadyReversed       entry-already-reversed
    │   ├── ReversalOfReversal         reversal-not-reversible
    │   ├── HoldNotFound               hold-not-found
    │   ├── HoldAlreadyCaptured        hold-already-captured
    │   ├── HoldVoided                 hold-voided
    │   ├── HoldExpired                hold-expired
    │   ├── CaptureExceedsHold         capture-exceeds-hold
    │   ├── HoldOnShardedAccount       hold-on-sharded-account
    │   └── EntryNotSealed             entry-not-sealed
    └── TenantNotFound                 tenant-not-found

Money parsing errors live with the money value in ``domain.money``; they carry codes the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorKind(StrEnum):
    """What sort of refusal an error is; each edge maps a kind to its own presentation (the API
    to an HTTP status, in one table)."""

    INVALID = "invalid"  # well-formed, but a rule refuses it
    BAD_REQUEST = "bad-request"  # the request itself is malformed (a missing header, say)
    NOT_FOUND = "not-found"  # absent, or not the caller's to see: the two look the same
    CONFLICT = "conflict"  # the state of things refuses it now (in flight, insufficient funds)
    UNAUTHENTICATED = "unauthenticated"  # who is asking is unknown, or must prove it again
    FORBIDDEN = "forbidden"  # known, and not allowed
    RATE_LIMITED = "rate-limited"  # too many attempts; try again later


class DomainError(Exception):
    """A business rule said no. ``code`` is stable; ``message`` is for people.

    ``public`` names the fields a client may see beside the message (the API adds them to the
    problem details): a limit's name and what remains, say. Other fields stay server-side.
    """

    code: ClassVar[str] = "domain-error"
    template: ClassVar[str] = "The request was refused."
    kind: ClassVar[ErrorKind] = ErrorKind.INVALID
    public: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **fields: object) -> None:
        self.fields: dict[str, object] = fields
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.template.format(**self.fields)

    @property
    def extensions(self) -> dict[str, object]:
        return {name: self.fields[name] for name in self.public if name in self.fields}


class LedgerError(DomainError):
    code = "ledger-error"


class AccountNotFound(LedgerError):
    code = "account-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Account {account_id} does not exist."


class AccountCurrencyMismatch(LedgerError):
    code = "account-currency-mismatch"
    template = "Account {account_id} does not hold {currency}."


class InvalidAccount(LedgerError):
    code = "account-invalid"
    template = "The account cannot be opened: {reason}."


class InvalidEntry(LedgerError):
    code = "entry-invalid"
    template = "The entry is not valid: {reason}."


class UnbalancedEntry(LedgerError):
    code = "entry-unbalanced"
    template = "The postings of an entry must sum to zero in each currency."


class SelfTransfer(LedgerError):
    code = "self-transfer"
    template = "An account cannot send money to itself."


class InsufficientFunds(LedgerError):
    code = "insufficient-funds"
    template = "Account {account_id} does not have enough available funds."


class CeilingExceeded(LedgerError):
    code = "balance-ceiling-exceeded"
    template = "The payment would take account {account_id} above its balance limit."


class IdempotencyConflict(LedgerError):
    code = "idempotency-key-reused"
    template = "Idempotency key {key!r} was already used for a different request."


class EntryNotFound(LedgerError):
    code = "entry-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Entry {entry_id} does not exist."


class EntryAlreadyReversed(LedgerError):
    code = "entry-already-reversed"
    template = "Entry {entry_id} has already been reversed."


class ReversalOfReversal(LedgerError):
    code = "reversal-not-reversible"
    template = "Entry {entry_id} is itself a reversal; post a new entry instead."


class HoldNotFound(LedgerError):
    code = "hold-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Hold {hold_id} does not exist."


class HoldAlreadyCaptured(LedgerError):
    code = "hold-already-captured"
    template = "Hold {hold_id} has already been captured."


class HoldVoided(LedgerError):
    code = "hold-voided"
    template = "Hold {hold_id} was voided."


class HoldExpired(LedgerError):
    code = "hold-expired"
    template = "Hold {hold_id} has expired."


class CaptureExceedsHold(LedgerError):
    code = "capture-exceeds-hold"
    template = "Cannot capture {requested_minor} minor units from hold {hold_id} of {held_minor}."


class HoldOnShardedAccount(LedgerError):
    code = "hold-on-sharded-account"
    template = "Account {account_id} is a sharded (hot) account and cannot be held against."


class TenantNotFound(DomainError):
    code = "tenant-not-found"
    kind = ErrorKind.NOT_FOUND
    template = "Tenant {tenant_id} does not exist."


class EntryNotSealed(LedgerError):
    code = "entry-not-sealed"
    template = "Entry {entry_id} is not sealed yet; run the sealing job and ask again."
