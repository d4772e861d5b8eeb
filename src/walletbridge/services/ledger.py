"""Ledger use cases: open accounts, post entries, holds, reversals, balances and history.

Each write is one transaction run by the ``TransactionRunner`` (re-run on serialization
failures). Idempotency: every entry and hold carries the caller's key, unique per tenant; the same
key with the same request returns the original, a different request under the same key raises
``IdempotencyConflict``. Account attributes that never change (currency, side, shards) are cached
per process, so a transfer reads nothing before it writes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from walletbridge.domain.errors import (
    AccountCurrencyMismatch,
    AccountNotFound,
    CaptureExceedsHold,
    EntryAlreadyReversed,
    EntryNotFound,
    HoldAlreadyCaptured,
    HoldExpired,
    HoldNotFound,
    HoldOnShardedAccount,
    HoldVoided,
    IdempotencyConflict,
    InvalidEntry,
    ReversalOfReversal,
)
from walletbridge.domain.ledger import (
    Account,
    AccountId,
    Balance,
    Entry,
    EntryDraft,
    EntryId,
    EntryKind,
    Hold,
    HoldId,
    HoldStatus,
    Leg,
    NewAccount,
    Posting,
    TenantId,
    transfer_legs,
    validate_amount,
    validate_idempotency_key,
)
from walletbridge.ports import (
    Clock,
    DuplicateHoldKey,
    DuplicateIdempotencyKey,
    IdSource,
    TransactionRunner,
    UnitOfWork,
)

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class HistoryPage:
    postings: tuple[Posting, ...]
    next_cursor: str | None


def encode_cursor(posting: Posting) -> str:
    return f"{posting.posted_at_us}.{posting.entry_id.hex}"


def decode_cursor(cursor: str) -> tuple[int, EntryId]:
    try:
        at, entry = cursor.split(".", 1)
        return int(at), EntryId(uuid.UUID(hex=entry))
    except ValueError as error:
        raise InvalidEntry(reason="the cursor is not one this ledger issued") from error


class LedgerService:
    def __init__(self, runner: TransactionRunner, clock: Clock, ids: IdSource) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._accounts: dict[tuple[TenantId, AccountId], Account] = {}

    # -- accounts -----------------------------------------------------------------------------

    def open_account(self, request: NewAccount) -> Account:
        return self.open_accounts([request])[0]

    def open_accounts(self, requests: Sequence[NewAccount]) -> list[Account]:
        """Open several accounts in one transaction (all or none)."""
        accounts = [
            request.to_account(AccountId(uuid.UUID(self._ids.new_id()))) for request in requests
        ]

        def write(uow: UnitOfWork) -> None:
            now_us = self._clock.now_us()
            for account in accounts:
                uow.ledger.insert_account(account, now_us)
            uow.commit()

        self._runner.write(write)
        return accounts

    def account(self, tenant_id: TenantId, account_id: AccountId) -> Account:
        cached = self._accounts.get((tenant_id, account_id))
        if cached is not None:
            return cached
        found = self._runner.read(lambda uow: uow.ledger.account(tenant_id, account_id))
        if found is None:
            raise AccountNotFound(account_id=str(account_id))
        self._accounts[(tenant_id, account_id)] = found
        return found

    def account_by_code(self, tenant_id: TenantId, code: str) -> Account | None:
        return self._runner.read(lambda uow: uow.ledger.account_by_code(tenant_id, code))

    def set_limits(
        self,
        tenant_id: TenantId,
        account_id: AccountId,
        floor_minor: int | None,
        ceiling_minor: int | None,
    ) -> None:
        account = self.account(tenant_id, account_id)

        def write(uow: UnitOfWork) -> None:
            uow.ledger.set_limits(account, floor_minor, ceiling_minor)
            uow.commit()

        self._runner.write(write)

    def _accounts_for(self, draft: EntryDraft) -> dict[AccountId, Account]:
        accounts = {}
        for leg in draft.legs:
            account = self.account(draft.tenant_id, leg.account_id)
            if account.currency != leg.currency:
                raise AccountCurrencyMismatch(account_id=str(account.id), currency=leg.currency)
            accounts[account.id] = account
        return accounts

    # -- entries ------------------------------------------------------------------------------

    def _new_entry_id(self) -> EntryId:
        return EntryId(uuid.UUID(self._ids.new_id()))

    def post_entry(self, draft: EntryDraft) -> Entry:
        """Post a balanced entry once; a replay with the same key and request returns it."""
        draft.validate()
        accounts = self._accounts_for(draft)

        def write(uow: UnitOfWork) -> Entry:
            # A fresh id on every attempt: if an earlier attempt did commit (its reply lost),
            # this one meets the idempotency key and becomes a replay.
            entry_id = self._new_entry_id()
            posted_at_us = self._clock.now_us()
            seq = uow.ledger.post(draft, entry_id, posted_at_us, accounts, commit=True)
            uow.commit()
            return _entry_from_draft(draft, entry_id, seq, posted_at_us)

        return self._once(draft, lambda: self._runner.write(write))

    def _once(self, draft: EntryDraft, attempt: Callable[[], Entry]) -> Entry:
        try:
            return attempt()
        except DuplicateIdempotencyKey:
            return self._replay(draft)

    def _replay(self, draft: EntryDraft) -> Entry:
        found = self._runner.read(
            lambda uow: uow.ledger.entry_by_key(draft.tenant_id, draft.idempotency_key)
        )
        assert found is not None, "a duplicate key implies a committed entry"
        entry, request_hash = found
        if request_hash != draft.request_hash():
            raise IdempotencyConflict(key=draft.idempotency_key)
        return entry

    def transfer(
        self,
        tenant_id: TenantId,
        *,
        debit_account_id: AccountId,
        credit_account_id: AccountId,
        amount_minor: int,
        idempotency_key: str,
        memo: str | None = None,
    ) -> Entry:
        """Move ``amount_minor`` from the debited (paying) account to the credited one."""
        debit = self.account(tenant_id, debit_account_id)
        credit = self.account(tenant_id, credit_account_id)
        legs = transfer_legs(debit, credit, amount_minor)
        return self.post_entry(
            EntryDraft(tenant_id=tenant_id, idempotency_key=idempotency_key, legs=legs, memo=memo)
        )

    def entry(self, tenant_id: TenantId, entry_id: EntryId) -> Entry:
        found = self._runner.read(lambda uow: uow.ledger.entry(tenant_id, entry_id))
        if found is None:
            raise EntryNotFound(entry_id=str(entry_id))
        return found

    def reverse(self, tenant_id: TenantId, entry_id: EntryId, idempotency_key: str) -> Entry:
        """Post the mirror image of an entry. An entry is reversed at most once."""
        original = self.entry(tenant_id, entry_id)
        if original.kind is EntryKind.REVERSAL:
            raise ReversalOfReversal(entry_id=str(entry_id))
        draft = EntryDraft(
            tenant_id=tenant_id,
            idempotency_key=idempotency_key,
            kind=EntryKind.REVERSAL,
            reverses_id=entry_id,
            legs=tuple(Leg(p.account_id, p.currency, -p.amount_minor) for p in original.postings),
        )
        try:
            return self.post_entry(draft)
        except EntryAlreadyReversed as error:
            # A retried reversal can meet the one-reversal rule before its own idempotency key
            # (SQLite checks the constraints in that order): answer it as the replay it is.
            found = self._runner.read(
                lambda uow: uow.ledger.entry_by_key(tenant_id, idempotency_key)
            )
            if found is None:
                raise EntryAlreadyReversed(entry_id=str(entry_id)) from error
            if found[1] != draft.request_hash():
                raise IdempotencyConflict(key=idempotency_key) from error
            return found[0]

    # -- holds --------------------------------------------------------------------------------

    def reserve(
        self,
        tenant_id: TenantId,
        *,
        debit_account_id: AccountId,
        credit_account_id: AccountId,
        amount_minor: int,
        idempotency_key: str,
        expires_in_seconds: int,
    ) -> Hold:
        """Reserve funds on the debit account for a later capture to the credit account."""
        validate_idempotency_key(idempotency_key)
        if not 1 <= expires_in_seconds <= 90 * 24 * 3600:
            raise InvalidEntry(reason="a hold lasts 1 second to 90 days")
        debit = self.account(tenant_id, debit_account_id)
        credit = self.account(tenant_id, credit_account_id)
        transfer_legs(debit, credit, amount_minor)  # the same rules as a transfer
        if debit.is_sharded:
            raise HoldOnShardedAccount(account_id=str(debit.id))
        now_us = self._clock.now_us()
        hold = Hold(
            id=HoldId(uuid.UUID(self._ids.new_id())),
            tenant_id=tenant_id,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            currency=debit.currency,
            amount_minor=amount_minor,
            status=HoldStatus.PENDING,
            expires_at_us=now_us + expires_in_seconds * 1_000_000,
        )
        request_hash = _hold_request_hash(hold, expires_in_seconds)

        def write(uow: UnitOfWork) -> Hold:
            uow.ledger.insert_hold(hold, idempotency_key, request_hash, self._clock.now_us())
            uow.commit()
            return hold

        try:
            return self._runner.write(write)
        except DuplicateHoldKey:
            found = self._runner.read(
                lambda uow: uow.ledger.hold_by_key(tenant_id, idempotency_key)
            )
            assert found is not None
            if found[1] != request_hash:
                raise IdempotencyConflict(key=idempotency_key) from None
            return found[0]

    def hold(self, tenant_id: TenantId, hold_id: HoldId) -> Hold:
        found = self._runner.read(lambda uow: uow.ledger.hold(tenant_id, hold_id))
        if found is None:
            raise HoldNotFound(hold_id=str(hold_id))
        return found

    def capture(
        self,
        tenant_id: TenantId,
        hold_id: HoldId,
        *,
        idempotency_key: str,
        amount_minor: int | None = None,
    ) -> Entry:
        """Capture all or part of a pending hold; the rest of the reservation is released."""
        hold = self.hold(tenant_id, hold_id)
        amount = hold.amount_minor if amount_minor is None else amount_minor
        validate_amount(amount)
        accounts = {
            a.id: a
            for a in (
                self.account(tenant_id, hold.debit_account_id),
                self.account(tenant_id, hold.credit_account_id),
            )
        }
        draft = EntryDraft(
            tenant_id=tenant_id,
            idempotency_key=idempotency_key,
            kind=EntryKind.CAPTURE,
            hold_id=hold_id,
            legs=(
                Leg(hold.debit_account_id, hold.currency, amount),
                Leg(hold.credit_account_id, hold.currency, -amount),
            ),
        )
        draft.validate()

        def write(uow: UnitOfWork) -> Entry:
            entry_id = self._new_entry_id()
            now_us = self._clock.now_us()
            finished = uow.ledger.finish_hold(
                tenant_id,
                hold_id,
                status=HoldStatus.CAPTURED,
                now_us=now_us,
                max_capture_minor=amount,
                capture_entry_id=entry_id,
            )
            if finished is None:
                raise self._why_not_pending(uow, tenant_id, hold_id, amount, now_us)
            seq = uow.ledger.post(
                draft,
                entry_id,
                now_us,
                accounts,
                release_pending={hold.debit_account_id: hold.amount_minor},
                commit=True,
            )
            uow.commit()
            return _entry_from_draft(draft, entry_id, seq, now_us)

        try:
            return self._once(draft, lambda: self._runner.write(write))
        except (HoldAlreadyCaptured, HoldVoided, HoldExpired, CaptureExceedsHold):
            # A retried capture finds the hold captured: answer with the original entry.
            found = self._runner.read(
                lambda uow: uow.ledger.entry_by_key(tenant_id, idempotency_key)
            )
            if found is None:
                raise
            if found[1] != draft.request_hash():
                raise IdempotencyConflict(key=idempotency_key) from None
            return found[0]

    def void(self, tenant_id: TenantId, hold_id: HoldId) -> Hold:
        """Release a pending hold without moving money."""

        def write(uow: UnitOfWork) -> Hold:
            now_us = self._clock.now_us()
            finished = uow.ledger.finish_hold(
                tenant_id, hold_id, status=HoldStatus.VOIDED, now_us=now_us
            )
            if finished is None:
                raise self._why_not_pending(uow, tenant_id, hold_id, None, now_us)
            uow.commit()
            return finished

        return self._runner.write(write)

    def expire_due_holds(self, *, limit: int = 1000) -> int:
        """Release every pending hold past its expiry (run by a periodic job)."""
        now_us = self._clock.now_us()
        due = self._runner.read(lambda uow: uow.ledger.expired_hold_ids(now_us, limit))
        released = 0
        for tenant_id, hold_id in due:

            def write(uow: UnitOfWork, t: TenantId = tenant_id, h: HoldId = hold_id) -> bool:
                done = uow.ledger.finish_hold(t, h, status=HoldStatus.EXPIRED, now_us=now_us)
                uow.commit()
                return done is not None

            released += self._runner.write(write)
        return released

    @staticmethod
    def _why_not_pending(
        uow: UnitOfWork,
        tenant_id: TenantId,
        hold_id: HoldId,
        amount: int | None,
        now_us: int,
    ) -> Exception:
        hold = uow.ledger.hold(tenant_id, hold_id)
        if hold is None:
            return HoldNotFound(hold_id=str(hold_id))
        if hold.status is HoldStatus.CAPTURED:
            return HoldAlreadyCaptured(hold_id=str(hold_id))
        if hold.status is HoldStatus.VOIDED:
            return HoldVoided(hold_id=str(hold_id))
        if hold.status is HoldStatus.EXPIRED or hold.expires_at_us <= now_us:
            return HoldExpired(hold_id=str(hold_id))
        assert amount is not None
        assert amount > hold.amount_minor
        return CaptureExceedsHold(
            hold_id=str(hold_id), requested_minor=amount, held_minor=hold.amount_minor
        )

    # -- balances and history -----------------------------------------------------------------

    def balance(self, tenant_id: TenantId, account_id: AccountId) -> Balance:
        found = self.balances(tenant_id, [account_id])
        if not found:
            raise AccountNotFound(account_id=str(account_id))
        return found[0]

    def balances(self, tenant_id: TenantId, account_ids: Sequence[AccountId]) -> list[Balance]:
        """All in one statement: a consistent snapshot of the accounts asked for."""
        return self._runner.read(lambda uow: uow.ledger.balances(tenant_id, account_ids))

    def balance_at(self, tenant_id: TenantId, account_id: AccountId, at_us: int) -> int:
        """The posted balance as it stood at ``at_us`` (inclusive)."""
        account = self.account(tenant_id, account_id)
        return self._runner.read(lambda uow: uow.ledger.balance_at(account, at_us))

    def history(
        self,
        tenant_id: TenantId,
        account_id: AccountId,
        *,
        limit: int = 50,
        cursor: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> HistoryPage:
        """Postings of an account, newest first, a page at a time."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidEntry(reason=f"page size must be 1 to {MAX_PAGE}")
        account = self.account(tenant_id, account_id)
        before = decode_cursor(cursor) if cursor else None
        rows = self._runner.read(
            lambda uow: uow.ledger.history(
                account, limit=limit + 1, before=before, since_us=since_us, until_us=until_us
            )
        )
        page = tuple(rows[:limit])
        next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
        return HistoryPage(postings=page, next_cursor=next_cursor)


def _entry_from_draft(draft: EntryDraft, entry_id: EntryId, seq: int, posted_at_us: int) -> Entry:
    return Entry(
        id=entry_id,
        seq=seq,
        tenant_id=draft.tenant_id,
        idempotency_key=draft.idempotency_key,
        kind=draft.kind,
        posted_at_us=posted_at_us,
        postings=tuple(
            Posting(entry_id, i, leg.account_id, leg.currency, leg.amount_minor, posted_at_us)
            for i, leg in enumerate(draft.legs)
        ),
        memo=draft.memo,
        reverses_id=draft.reverses_id,
        hold_id=draft.hold_id,
    )


def _hold_request_hash(hold: Hold, expires_in_seconds: int) -> bytes:
    text = "|".join(
        [
            str(hold.debit_account_id),
            str(hold.credit_account_id),
            hold.currency,
            str(hold.amount_minor),
            str(expires_in_seconds),
        ]
    )
    return hashlib.sha256(text.encode()).digest()
