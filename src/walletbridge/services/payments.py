"""Person-to-person payments: quote, transfer (quote → confirm), batch, and the one money movement
that transfers and accepted requests to pay share.

A movement is one database transaction: the idempotency key's row first (``Idempotent``), then
the payer's limit usage (the database refuses an overrun), the ledger entry (payer → payee, fee →
the tenant's fee revenue account; floors and ceilings checked by the balance rows), both parties'
history rows, an ACTIVITY message for the payee, an audit record, and the stored response. A
batch does the same for up to 100 items with one commit, its balance rows locked in sorted order
first. Nothing here calls the network.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

from walletbridge.domain.actors import Actor, Scope, UserId, UserStatus, UserSummary
from walletbridge.domain.errors import CeilingExceeded, DomainError, InsufficientFunds
from walletbridge.domain.fees import P2P
from walletbridge.domain.identity import recipient_lookup_value
from walletbridge.domain.ledger import EntryDraft, EntryId, TenantId
from walletbridge.domain.limits import (
    LimitKind,
    PayeeLimitExceeded,
    day_period,
    month_period,
)
from walletbridge.domain.money import Money
from walletbridge.domain.payments import (
    MAX_BATCH_ITEMS,
    HistoryItem,
    HistoryKind,
    InvalidPayment,
    PayingYourself,
    RecipientNotFound,
    RecipientRef,
    TransferId,
    TransferNotFound,
    validate_note,
)
from walletbridge.domain.throttle import RateLimited, window_at
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.ports.platform import ThrottleExceeded
from walletbridge.ports.wallets import UsageOverLimit
from walletbridge.services.idempotency import (
    Idempotent,
    NeedsExplaining,
    Outcome,
    Request,
    Respond,
)
from walletbridge.services.payment_notices import announce_payment, audit_payment, audit_refusal
from walletbridge.services.payment_plans import (
    Plan,
    Planner,
    Quote,
    TransferOrder,
    check_amount,
    check_per_transaction,
    entry_of,
    item_refused,
    usage_refusal,
)
from walletbridge.services.settings import ServiceSettings
from walletbridge.services.throttle import count_attempt, limit_name, stored_bucket
from walletbridge.services.wallet_accounts import WalletAccounts
from walletbridge.services.wallet_views import transfer_body


class PaymentService:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        ids: IdSource,
        settings: ServiceSettings,
        accounts: WalletAccounts,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._settings = settings
        self.accounts = accounts
        self.idempotent = Idempotent(runner, clock, settings)

    # -- quote --------------------------------------------------------------------------------

    def quote(self, actor: Actor, to: RecipientRef, amount: Money) -> Quote:
        """What paying ``amount`` to ``to`` would cost, and who ``to`` is."""
        actor.require_scope(Scope.PAYMENTS_WRITE)
        check_amount(amount)

        def read(uow: UnitOfWork) -> Quote:
            payee = self.resolve(uow, actor.tenant_id, to)
            if payee.user_id == actor.user_id:
                raise PayingYourself()
            return Quote(payee, amount, self.fee(uow, actor.tenant_id, amount))

        return self._runner.read(read)

    def resolve(self, uow: UnitOfWork, tenant_id: TenantId, to: RecipientRef) -> UserSummary:
        lookup = recipient_lookup_value(self._settings.secret_key, to.kind, to.value)
        found = uow.identity.recipient(tenant_id, to.kind, lookup)
        if found is None or found.status is not UserStatus.ACTIVE:
            raise RecipientNotFound(kind=to.kind.value)
        return found

    def fee(self, uow: UnitOfWork, tenant_id: TenantId, amount: Money) -> Money:
        code = amount.currency.code
        self.accounts.offered(uow, tenant_id, code)
        return self.accounts.fee_schedule(uow, tenant_id, P2P, code).fee(amount)

    # -- planning -----------------------------------------------------------------------------

    def plan(self, actor: Actor, order: TransferOrder, payee: UserSummary | None = None) -> Plan:
        """Resolve and check everything a movement needs that the transaction need not lock."""
        replay, plans = self.prepare(actor, [order], payee=payee)
        assert replay is None
        return plans[0]

    def prepare(
        self,
        actor: Actor,
        orders: Sequence[TransferOrder],
        *,
        payee: UserSummary | None = None,
        request: Request | None = None,
        batch: bool = False,
    ) -> tuple[Outcome | None, list[Plan]]:
        """The stored answer for ``request`` if there is one, else the orders planned: all read
        in one transaction (recipients, fees and limits looked up once each).

        The stored answer is looked for only when planning refuses: a planned payment's
        transaction claims the key first and replays a stored answer from there, so the usual
        first attempt costs no lookup."""
        for index, order in enumerate(orders):
            try:
                check_amount(order.amount)
                validate_note(order.note)
            except DomainError as error:
                raise item_refused(index, error) if batch else error from None

        def planned(uow: UnitOfWork) -> list[Plan]:
            planner = Planner(self, uow, actor)
            plans = []
            for index, order in enumerate(orders):
                try:
                    plans.append(planner.plan(order, payee))
                except DomainError as error:
                    raise item_refused(index, error) if batch else error from None
            return plans

        def read(uow: UnitOfWork) -> tuple[Outcome | None, list[Plan]]:
            try:
                return None, planned(uow)
            except DomainError:
                replay = None if request is None else self.idempotent.stored(uow, request)
                if replay is None:
                    raise
                return replay, []

        replay, plans = self._runner.read(read)
        ready = []
        for plan in plans:
            code = plan.amount.currency.code
            _, payer_account = self.accounts.ensure(actor.tenant_id, plan.payer.user_id, code)
            _, payee_account = self.accounts.ensure(actor.tenant_id, plan.payee.user_id, code)
            ready.append(replace(plan, payer_account=payer_account, payee_account=payee_account))
        return replay, ready

    # -- transfers ----------------------------------------------------------------------------

    def transfer(self, actor: Actor, order: TransferOrder, idempotency_key: str | None) -> Outcome:
        """Pay ``order`` once per idempotency key: 201 with the transfer, or its replay."""
        actor.require_fresh()
        actor.require_scope(Scope.PAYMENTS_WRITE)
        request = self.idempotent.request(
            actor.tenant_id, actor.user_id, idempotency_key, order.fingerprint()
        )
        replay, plans = self.prepare(actor, [order], request=request)
        if replay is not None:
            return replay
        plan = plans[0]

        def work(uow: UnitOfWork, now_us: int, respond: Respond) -> None:
            # ``move``'s statements in two round trips: the attempt's count, the history,
            # activity, audit and answer travel with the limit usage; the entry (which locks
            # the balance rows) goes last and commits with them. Refusals keep their order:
            # rate limit, per-transaction limit, daily/monthly limits, then the balances.
            full = self._count_later(uow, actor, now_us)
            draft, entry_id, items = entry_of(plan, self.new_transfer_id(), now_us, self._ids)
            uow.wallets.insert_history(items)
            self._announce(uow, now_us, plan, items[0], actor)
            respond(Outcome(201, transfer_body(items[0], plan.amount.currency, plan.payee)))
            try:
                self._add_usage(uow, now_us, [plan])
            except ThrottleExceeded:
                raise full from None
            except NeedsExplaining:
                check_per_transaction(plan)
                raise
            check_per_transaction(plan)
            self._post_entry(uow, now_us, plan, draft, entry_id, commit=True)

        return self.idempotent.run_final(request, work, self.refused(actor))

    def transfer_batch(
        self, actor: Actor, orders: Sequence[TransferOrder], idempotency_key: str | None
    ) -> Outcome:
        """Pay every order or none, in one transaction and one commit."""
        actor.require_fresh()
        actor.require_scope(Scope.PAYMENTS_WRITE)
        if not 1 <= len(orders) <= MAX_BATCH_ITEMS:
            raise InvalidPayment(reason=f"a batch has 1 to {MAX_BATCH_ITEMS} items")
        request = self.idempotent.request(
            actor.tenant_id,
            actor.user_id,
            idempotency_key,
            {"items": [order.fingerprint() for order in orders]},
        )
        replay, plans = self.prepare(actor, orders, request=request, batch=True)
        if replay is not None:
            return replay

        def work(uow: UnitOfWork, now_us: int) -> Outcome:
            self._throttle(uow, actor, now_us)
            items = self._move_batch(uow, now_us, plans, actor)
            return Outcome(
                201,
                {
                    "items": [
                        transfer_body(item, plan.amount.currency, plan.payee)
                        for item, plan in zip(items, plans, strict=True)
                    ]
                },
            )

        return self.idempotent.run(request, work, self.refused(actor))

    @staticmethod
    def refused(actor: Actor) -> Callable[[UnitOfWork, DomainError, int], None]:
        def record(uow: UnitOfWork, error: DomainError, now_us: int) -> None:
            audit_refusal(uow, now_us, actor, error)

        return record

    def _throttle(self, uow: UnitOfWork, actor: Actor, now_us: int) -> None:
        count_attempt(
            uow,
            now_us=now_us,
            secret_key=self._settings.secret_key,
            bucket=f"transfers:{actor.tenant_id}:{actor.user_id}",
            limit=self._settings.transfers_per_minute,
            window_seconds=60,
        )

    def _count_later(self, uow: UnitOfWork, actor: Actor, now_us: int) -> RateLimited:
        """``_throttle`` sent with the next round trip; returns the refusal to raise should
        ``add_usage`` report the window full."""
        bucket = f"transfers:{actor.tenant_id}:{actor.user_id}"
        window = window_at(now_us, 60)
        full = RateLimited(
            retry_after_seconds=window.retry_after_seconds(now_us), limit=limit_name(bucket)
        )
        stored = stored_bucket(self._settings.secret_key, bucket)
        try:
            uow.throttle.hit_later(
                stored, window.start_us, window.end_us, self._settings.transfers_per_minute
            )
        except ThrottleExceeded:
            raise full from None
        return full

    # -- the movement -------------------------------------------------------------------------

    def move(
        self,
        uow: UnitOfWork,
        now_us: int,
        plan: Plan,
        *,
        actor: Actor,
        kind: HistoryKind = HistoryKind.P2P,
        transfer_id: TransferId | None = None,
    ) -> HistoryItem:
        """Move one payment inside ``uow``; return the payer's history item."""
        check_per_transaction(plan)
        self._add_usage(uow, now_us, [plan])
        transfer_id = transfer_id or self.new_transfer_id()
        items = self._post(uow, now_us, plan, transfer_id, kind)
        uow.wallets.insert_history(items)
        self._announce(uow, now_us, plan, items[0], actor)
        return items[0]

    def _move_batch(
        self, uow: UnitOfWork, now_us: int, plans: Sequence[Plan], actor: Actor
    ) -> list[HistoryItem]:
        for index, plan in enumerate(plans):
            try:
                check_per_transaction(plan)
            except DomainError as error:
                raise item_refused(index, error) from error
        self._add_usage(uow, now_us, plans)
        uow.wallets.lock_balances(
            sorted({p.payer_account.id for p in plans} | {p.payee_account.id for p in plans})
        )
        history: list[HistoryItem] = []
        for index, plan in enumerate(plans):
            try:
                history += self._post(uow, now_us, plan, self.new_transfer_id(), HistoryKind.P2P)
            except DomainError as error:
                raise item_refused(index, error) from error
        uow.wallets.insert_history(history)
        payer_items = history[0::2]
        for plan, item in zip(plans, payer_items, strict=True):
            announce_payment(uow, now_us, self._ids.new_id(), plan, item)
        audit_payment(uow, now_us, actor, payer_items[0], batch_size=len(plans))
        return payer_items

    def new_transfer_id(self) -> TransferId:
        return TransferId(uuid.UUID(self._ids.new_id()))

    def _add_usage(self, uow: UnitOfWork, now_us: int, plans: Sequence[Plan]) -> None:
        """Count the amounts against the payer's daily and monthly limits (per currency)."""
        day, month = day_period(now_us), month_period(now_us)
        totals: dict[str, int] = {}
        for plan in plans:
            code = plan.amount.currency.code
            totals[code] = totals.get(code, 0) + plan.amount.amount_minor
        for code, total in sorted(totals.items()):
            plan = next(p for p in plans if p.amount.currency.code == code)
            try:
                uow.wallets.add_usage(
                    plan.tenant_id,
                    plan.payer.user_id,
                    code,
                    [
                        (day, total, plan.limits.daily_minor),
                        (month, total, plan.limits.monthly_minor),
                    ],
                    daily_period=day,
                )
            except UsageOverLimit as over:

                def explain(
                    read: UnitOfWork, code: str = code, period: str = over.period
                ) -> DomainError:
                    return usage_refusal(read, plans, code, period)

                raise NeedsExplaining(explain) from over

    def _post(
        self, uow: UnitOfWork, now_us: int, plan: Plan, transfer_id: TransferId, kind: HistoryKind
    ) -> list[HistoryItem]:
        """The ledger entry and the two history rows (payer's first) of one payment."""
        draft, entry_id, items = entry_of(plan, transfer_id, now_us, self._ids, kind)
        self._post_entry(uow, now_us, plan, draft, entry_id)
        return items

    def _post_entry(
        self,
        uow: UnitOfWork,
        now_us: int,
        plan: Plan,
        draft: EntryDraft,
        entry_id: EntryId,
        *,
        commit: bool = False,
    ) -> None:
        accounts = {a.id: a for a in (plan.payer_account, plan.payee_account, plan.fee_account)}
        try:
            uow.ledger.post(draft, entry_id, now_us, accounts, commit=commit)
        except CeilingExceeded:
            raise PayeeLimitExceeded(
                limit=LimitKind.BALANCE_CAP.value, currency=plan.amount.currency.code
            ) from None
        except InsufficientFunds:
            raise InsufficientFunds(account_id=str(plan.payer_account.id)) from None

    def _announce(
        self, uow: UnitOfWork, now_us: int, plan: Plan, item: HistoryItem, actor: Actor
    ) -> None:
        announce_payment(uow, now_us, self._ids.new_id(), plan, item)
        audit_payment(uow, now_us, actor, item, batch_size=None)

    # -- reading ------------------------------------------------------------------------------

    def transfer_detail(self, actor: Actor, transfer_id: TransferId) -> dict[str, object]:
        """The caller's view of one of their transfers; another's is not found."""
        actor.require_scope(Scope.WALLET_READ)

        def read(uow: UnitOfWork) -> dict[str, object]:
            item = uow.wallets.history_of_transfer(actor.tenant_id, actor.user_id, transfer_id)
            if item is None:
                raise TransferNotFound(transfer_id=str(transfer_id))
            currency = self.accounts.offered(uow, actor.tenant_id, item.currency)
            other = None
            if item.counterparty_user_id is not None:
                other = uow.identity.summary(actor.tenant_id, UserId(item.counterparty_user_id))
            return transfer_body(item, currency, other)

        return self._runner.read(read)
