"""Ports: the Protocols the services depend on; only ``bootstrap`` knows the adapters.

The ledger's ports live here; each capability's own ports live in a module beside this one
(``identity``, ``wallets``, ``platform``) and the unit of work names them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from walletbridge.domain.ledger import (
    Account,
    AccountId,
    Balance,
    Entry,
    EntryDraft,
    EntryId,
    Hold,
    HoldId,
    HoldStatus,
    Posting,
    Seal,
    TenantId,
)
from walletbridge.domain.merkle import CanonicalEntry
from walletbridge.domain.money import Currency
from walletbridge.domain.tenants import Tenant
from walletbridge.ports.identity import IdentityStore
from walletbridge.ports.platform import AuditStore, OutboxStore, ThrottleStore
from walletbridge.ports.wallets import IdempotencyStore, WalletStore

T = TypeVar("T")


class DuplicateIdempotencyKey(Exception):
    """A store's signal: the entry's (tenant, idempotency key) is taken. The service decides
    whether that is a replay or a conflict."""


class DuplicateHoldKey(Exception):
    """A store's signal: the hold's (tenant, idempotency key) is taken."""


class Clock(Protocol):
    def now_us(self) -> int:
        """Microseconds since the Unix epoch, UTC."""
        ...


class IdSource(Protocol):
    def new_id(self) -> str:
        """A fresh 128-bit identifier, time-ordered, never sequential, as canonical UUID text."""
        ...


class CurrencyCatalog(Protocol):
    def get(self, code: str) -> Currency: ...


class LedgerStore(Protocol):
    """The ledger's persistence inside one transaction."""

    def insert_account(self, account: Account, created_at_us: int) -> None: ...
    def account(self, tenant_id: TenantId, account_id: AccountId) -> Account | None: ...
    def account_by_code(self, tenant_id: TenantId, code: str) -> Account | None: ...
    def accounts_of_owner(self, tenant_id: TenantId, owner_ref: str) -> list[Account]: ...
    def set_limits(
        self, account: Account, floor_minor: int | None, ceiling_minor: int | None
    ) -> None: ...
    def post(
        self,
        draft: EntryDraft,
        entry_id: EntryId,
        posted_at_us: int,
        accounts: Mapping[AccountId, Account],
        release_pending: Mapping[AccountId, int] | None = None,
        *,
        commit: bool = False,
    ) -> int:
        """Write the entry and move balances in one go; return its sequence number. Raises
        ``DuplicateIdempotencyKey`` or a domain error. ``commit=True`` marks the transaction's
        last write, which the store may commit in the same round trip."""
        ...

    def entry(self, tenant_id: TenantId, entry_id: EntryId) -> Entry | None: ...
    def entry_by_key(self, tenant_id: TenantId, key: str) -> tuple[Entry, bytes] | None: ...
    def reversal_of(self, tenant_id: TenantId, entry_id: EntryId) -> Entry | None: ...
    def balances(self, tenant_id: TenantId, account_ids: Sequence[AccountId]) -> list[Balance]: ...
    def balance_at(self, account: Account, at_us: int) -> int: ...
    def history(
        self,
        account: Account,
        *,
        limit: int,
        before: tuple[int, EntryId] | None,
        since_us: int | None,
        until_us: int | None,
    ) -> list[Posting]: ...
    def insert_hold(
        self, hold: Hold, idempotency_key: str, request_hash: bytes, now_us: int
    ) -> None: ...
    def hold(self, tenant_id: TenantId, hold_id: HoldId) -> Hold | None: ...
    def hold_by_key(self, tenant_id: TenantId, key: str) -> tuple[Hold, bytes] | None: ...
    def finish_hold(
        self,
        tenant_id: TenantId,
        hold_id: HoldId,
        *,
        status: HoldStatus,
        now_us: int,
        max_capture_minor: int | None = None,
        capture_entry_id: EntryId | None = None,
    ) -> Hold | None: ...
    def expired_hold_ids(self, now_us: int, limit: int) -> list[tuple[TenantId, HoldId]]: ...


class IntegrityStore(Protocol):
    """What ``ledger verify``, ``prove`` and the sealing job read and write."""

    def unbalanced_entries(self) -> list[tuple[str, str, int]]: ...
    def orphan_postings(self) -> list[str]: ...
    def balance_mismatches(self) -> list[tuple[str, int, int]]: ...
    def pending_mismatches(self) -> list[tuple[str, int, int]]: ...
    def limit_copy_mismatches(self) -> list[str]: ...
    def seals(self) -> list[Seal]: ...
    def canonical_entries(self, first_seq: int, last_seq: int) -> list[CanonicalEntry]: ...
    def batch_end(self, first_seq: int, horizon: int, size: int) -> int: ...
    def entries_after(self, last_seq: int) -> int: ...
    def entry_seq(self, entry_id: str) -> int | None: ...
    def sealable_horizon(self, wait_seconds: float = 10.0) -> int: ...
    def insert_seal(self, seal: Seal) -> None: ...


class TenantStore(Protocol):
    def insert(self, tenant: Tenant, created_at_us: int) -> None: ...
    def get(self, tenant_id: str) -> Tenant | None: ...
    def all(self) -> list[Tenant]: ...


class UnitOfWork(Protocol):
    """One database transaction; it rolls back unless ``commit`` is called."""

    @property
    def ledger(self) -> LedgerStore: ...
    @property
    def integrity(self) -> IntegrityStore: ...
    @property
    def tenants(self) -> TenantStore: ...
    @property
    def identity(self) -> IdentityStore: ...
    @property
    def wallets(self) -> WalletStore: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def audit(self) -> AuditStore: ...
    @property
    def outbox(self) -> OutboxStore: ...
    @property
    def throttle(self) -> ThrottleStore: ...
    def commit(self) -> None: ...


class TransactionRunner(Protocol):
    """Runs a function of one transaction; ``write`` re-runs it on serialization failures, so
    the function must touch nothing but the database."""

    def write(self, fn: Callable[[UnitOfWork], T]) -> T: ...
    def read(self, fn: Callable[[UnitOfWork], T]) -> T: ...
