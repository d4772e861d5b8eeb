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
from walletbridge.domain.fees import P2P, free
from walletbridge.domain.identity import recipient_lookup_value
from walletbridge.domain.ledger import EntryDraft, EntryId, Leg, TenantId
from walletbridge.domain.limits import (
    LimitExceeded,
    LimitKind,
    PayeeLimitExceeded,
    day_period,
    month_period,
)
from walletbridge.domain.money import Money
from walletbridge.domain.payments import (
    MAX_BATCH_ITEMS,
    Direction,
    HistoryId,
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
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.ports.wallets import UsageOverLimit
from walletbridge.services.idempotency import Idempotent, NeedsExplaining, Outcome, Request
from walletbridge.services.payment_notices import announce_payment, audit_payment, audit_refusal
from walletbridge.services.payment_plans import (
    Plan,
    Planner,
    Quote,
    TransferOrder,
    check_amount,
    check_per_transaction,
    item_refused,
)
from walletbridge.services.settings import ServiceSettings
from walletbridge.services.throttle import count_attempt
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
        self.accounts.offered(uow, tenant_id, amount.currency.code)
        schedule = uow.wallets.fee_schedule(tenant_id, P2P, amount.currency.code)
        return (schedule or free(P2P, amount.currency.code)).fee(amount)

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
        in one transaction (recipients, fees and limits looked up once each)."""
        for index, order in enumerate(orders):
            try:
                check_amount(order.amount)
                validate_note(order.note)
            except DomainError as error:
                raise item_refused(index, error) if batch else error from None

        def read(uow: UnitOfWork) -> tuple[Outcome | None, list[Plan]]:
            if request is not None:
                replay = self.idempotent.stored(uow, request)
                if replay is not None:
                    return replay, []
            planner = Planner(self, uow, actor)
            plans = []
            for index, order in enumerate(orders):
                try:
                    plans.append(planner.plan(order, payee))
                except DomainError as error:
                    raise item_refused(index, error) if batch else error from None
            return None, plans

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

        def work(uow: UnitOfWork, now_us: int) -> Outcome:
            self._throttle(uow, actor, now_us)
            item = self.move(uow, now_us, plan, actor=actor)
            return Outcome(201, transfer_body(item, plan.amount.currency, plan.payee))

        return self.idempotent.run(request, work, self.refused(actor))

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
                        (day, total, plan.daily_limit_minor),
                        (month, total, plan.limits.monthly_minor),
                    ],
                )
            except UsageOverLimit as over:

                def explain(
                    read: UnitOfWork, code: str = code, period: str = over.period
                ) -> DomainError:
                    return self._usage_refusal(read, plans, code, period)

                raise NeedsExplaining(explain) from over

    @staticmethod
    def _usage_refusal(
        uow: UnitOfWork, plans: Sequence[Plan], code: str, period: str
    ) -> DomainError:
        plan = next(p for p in plans if p.amount.currency.code == code)
        daily = period.startswith("day:")
        limit = plan.daily_limit_minor if daily else plan.limits.monthly_minor
        used = uow.wallets.usage(plan.tenant_id, plan.payer.user_id, code, [period])[period]
        remaining = max(limit - used, 0)
        error = LimitExceeded(
            limit=(LimitKind.DAILY if daily else LimitKind.MONTHLY).value,
            remaining=Money(remaining, plan.amount.currency).to_decimal_string(),
            currency=code,
        )
        if len(plans) == 1:
            return error
        running = 0
        for index, each in enumerate(plans):
            if each.amount.currency.code == code:
                running += each.amount.amount_minor
                if running > remaining:
                    return item_refused(index, error)
        return item_refused(0, error)

    def _post(
        self, uow: UnitOfWork, now_us: int, plan: Plan, transfer_id: TransferId, kind: HistoryKind
    ) -> list[HistoryItem]:
        """The ledger entry and the two history rows (payer's first) of one payment."""
        code = plan.amount.currency.code
        amount, fee = plan.amount.amount_minor, plan.fee.amount_minor
        legs = [
            Leg(plan.payer_account.id, code, amount + fee),
            Leg(plan.payee_account.id, code, -amount),
        ]
        if fee:
            legs.append(Leg(plan.fee_account.id, code, -fee))
        draft = EntryDraft(
            tenant_id=plan.tenant_id, idempotency_key=f"p2p:{transfer_id}", legs=tuple(legs)
        )
        entry_id = EntryId(uuid.UUID(self._ids.new_id()))
        accounts = {a.id: a for a in (plan.payer_account, plan.payee_account, plan.fee_account)}
        try:
            uow.ledger.post(draft, entry_id, now_us, accounts)
        except CeilingExceeded:
            raise PayeeLimitExceeded(limit=LimitKind.BALANCE_CAP.value, currency=code) from None
        except InsufficientFunds:
            raise InsufficientFunds(account_id=str(plan.payer_account.id)) from None
        common = {
            "tenant_id": plan.tenant_id,
            "transfer_id": transfer_id,
            "kind": kind,
            "currency": code,
            "amount_minor": amount,
            "note": plan.note,
            "entry_id": entry_id,
            "created_at_us": now_us,
        }
        return [
            HistoryItem(
                id=HistoryId(uuid.UUID(self._ids.new_id())),
                user_id=plan.payer.user_id,
                direction=Direction.OUT,
                counterparty_user_id=plan.payee.user_id,
                counterparty_handle=plan.payee.handle,
                fee_minor=fee,
                **common,  # type: ignore[arg-type]
            ),
            HistoryItem(
                id=HistoryId(uuid.UUID(self._ids.new_id())),
                user_id=plan.payee.user_id,
                direction=Direction.IN,
                counterparty_user_id=plan.payer.user_id,
                counterparty_handle=plan.payer.handle,
                fee_minor=0,
                **common,  # type: ignore[arg-type]
            ),
        ]

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
