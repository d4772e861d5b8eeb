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

from typing import ClassVar


class DomainError(Exception):
    """A business rule said no. ``code`` is stable; ``message`` is for people."""

    code: ClassVar[str] = "domain-error"
    template: ClassVar[str] = "The request was refused."

    def __init__(self, **fields: object) -> None:
        self.fields: dict[str, object] = fields
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.template.format(**self.fields)


class LedgerError(DomainError):
    code = "ledger-error"


class AccountNotFound(LedgerError):
    code = "account-not-found"
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
    template = "Entry {entry_id} does not exist."


class EntryAlreadyReversed(LedgerError):
    code = "entry-already-reversed"
    template = "Entry {entry_id} has already been reversed."


class ReversalOfReversal(LedgerError):
    code = "reversal-not-reversible"
    template = "Entry {entry_id} is itself a reversal; post a new entry instead."


class HoldNotFound(LedgerError):
    code = "hold-not-found"
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
    template = "Tenant {tenant_id} does not exist."


class EntryNotSealed(LedgerError):
    code = "entry-not-sealed"
    template = "Entry {entry_id} is not sealed yet; run the sealing job and ask again."
