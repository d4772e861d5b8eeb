"""Ports for wallets, person-to-person payments, limits and idempotency keys.

Every method runs inside the caller's transaction (``uow.wallets``, ``uow.idempotency``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from walletbridge.domain.actors import UserId
from walletbridge.domain.fees import FeeSchedule
from walletbridge.domain.ledger import AccountId, EntryId, TenantId
from walletbridge.domain.limits import TierLimits
from walletbridge.domain.money import Currency
from walletbridge.domain.payments import (
    HistoryId,
    HistoryItem,
    Payee,
    PayeeId,
    PaymentRequest,
    RequestId,
    RequestStatus,
    TransferId,
)
from walletbridge.domain.wallets import TenantConfiguration, Wallet


class UsageOverLimit(Exception):
    """A store's signal: adding usage in ``period`` would pass its limit (the CHECK refused it).
    The transaction is spoilt; the service rolls it back."""

    def __init__(self, period: str) -> None:
        super().__init__(period)
        self.period = period


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    tenant_id: TenantId
    user_id: UserId
    limit: int
    before: tuple[int, HistoryId] | None = None
    since_us: int | None = None
    until_us: int | None = None
    kind: str | None = None
    counterparty_handle: str | None = None
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None
    currency: str | None = None
    text: str | None = None
    direction: str | None = None
    """"in" or "out"; None for both."""


@dataclass(frozen=True, slots=True)
class RequestQuery:
    tenant_id: TenantId
    user_id: UserId
    incoming: bool
    limit: int
    status: RequestStatus | None = None
    before: tuple[int, RequestId] | None = None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: bytes
    status_code: int | None
    body: str | None
    expires_at_us: int


class WalletStore(Protocol):
    # -- tenant configuration
    def configuration_generation(self) -> int:
        """A number that changes whenever this process writes tenant configuration: caches of
        configuration key on it (and expire, for other processes' changes)."""
        ...

    def defer_writes(self) -> None:
        """From now on in this transaction, write-only statements (history rows, outbox
        messages, audit records, the stored response) may wait to travel with the final
        ``IdempotencyStore.save_response(commit=True)`` or with the next statement the wallet,
        idempotency or throttle store runs. No other store's statement may depend on them."""
        ...

    def flush_writes(self) -> None:
        """Send any deferred writes now (a no-op when none wait)."""
        ...

    def put_configuration(
        self, tenant_id: TenantId, configuration: TenantConfiguration
    ) -> None: ...
    def currency(self, tenant_id: TenantId, code: str) -> Currency | None: ...
    def currencies(self, tenant_id: TenantId) -> list[Currency]: ...
    def tier_limits(self, tenant_id: TenantId, tier: int) -> list[TierLimits]: ...
    def fee_schedule(
        self, tenant_id: TenantId, product: str, currency: str
    ) -> FeeSchedule | None: ...

    # -- wallets
    def insert_wallet(self, wallet: Wallet, created_at_us: int) -> None:
        """Insert unless the user has a wallet already (then nothing happens)."""
        ...

    def wallet_of(self, tenant_id: TenantId, user_id: UserId) -> Wallet | None: ...

    # -- limits
    def add_usage(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        currency: str,
        uses: Sequence[tuple[str, int, int]],
        *,
        daily_period: str | None = None,
    ) -> None:
        """For each (period, amount_minor, limit_minor), add the amount to the period's usage,
        setting its limit; raise ``UsageOverLimit`` naming the first period it would pass, or
        ``ThrottleExceeded`` when a deferred ``ThrottleStore.hit_later`` sent first failed.
        ``daily_period``'s limit is the user's daily override instead when that is lower, read
        by the same statement."""
        ...

    def usage(
        self, tenant_id: TenantId, user_id: UserId, currency: str, periods: Sequence[str]
    ) -> dict[str, int]: ...
    def daily_override(self, tenant_id: TenantId, user_id: UserId, currency: str) -> int | None: ...
    def set_daily_override(
        self, tenant_id: TenantId, user_id: UserId, currency: str, daily_minor: int
    ) -> None: ...

    def lock_balances(self, account_ids: Sequence[AccountId]) -> None:
        """Lock the accounts' balance rows in the order given (a batch sorts them first, so two
        batches never wait on each other in a cycle)."""
        ...

    # -- history
    def insert_history(self, items: Sequence[HistoryItem]) -> None: ...
    def history(self, query: HistoryQuery) -> list[HistoryItem]: ...
    def history_item(
        self, tenant_id: TenantId, user_id: UserId, item_id: HistoryId
    ) -> HistoryItem | None: ...
    def history_of_entry(
        self, tenant_id: TenantId, user_id: UserId, entry_id: EntryId
    ) -> HistoryItem | None: ...
    def history_of_transfer(
        self, tenant_id: TenantId, user_id: UserId, transfer_id: TransferId
    ) -> HistoryItem | None: ...

    # -- requests to pay
    def insert_request(self, request: PaymentRequest) -> None: ...
    def request(self, tenant_id: TenantId, request_id: RequestId) -> PaymentRequest | None: ...
    def requests(self, query: RequestQuery) -> list[PaymentRequest]: ...
    def finish_request(
        self,
        tenant_id: TenantId,
        request_id: RequestId,
        *,
        party_id: UserId,
        as_payer: bool,
        status: RequestStatus,
        transfer_id: TransferId | None,
        now_us: int,
    ) -> PaymentRequest | None:
        """Move a pending request the party may act on to ``status``; None if it is not pending
        (or not theirs). The row lock makes two concurrent accepts pay once."""
        ...

    # -- payees
    def insert_payee(self, payee: Payee) -> bool:
        """False when the owner has this payee already."""
        ...

    def payees(self, tenant_id: TenantId, owner_id: UserId) -> list[Payee]: ...
    def payee(self, tenant_id: TenantId, owner_id: UserId, payee_id: PayeeId) -> Payee | None: ...
    def rename_payee(
        self, tenant_id: TenantId, owner_id: UserId, payee_id: PayeeId, nickname: str
    ) -> bool: ...
    def delete_payee(self, tenant_id: TenantId, owner_id: UserId, payee_id: PayeeId) -> bool: ...


class IdempotencyStore(Protocol):
    def claim(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        key: str,
        request_hash: bytes,
        now_us: int,
        expires_at_us: int,
    ) -> bool:
        """Insert the key (or take over an expired one); False when a live row holds it. A
        concurrent claim of the same key waits for the holder's transaction to end."""
        ...

    def stored(self, tenant_id: TenantId, user_id: UserId, key: str) -> StoredResponse | None: ...
    def save_response(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        key: str,
        status_code: int,
        body: str,
        *,
        commit: bool = False,
    ) -> None:
        """Store the key's response. ``commit=True`` says this is the transaction's last write:
        it is sent with every deferred write and the COMMIT (where the engine allows, in one
        round trip); the unit of work's own commit then finds nothing left to do."""
        ...

    def purge(self, now_us: int, limit: int) -> int: ...
