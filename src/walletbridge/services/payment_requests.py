"""Requests to pay: one customer asks another for an amount; the payer accepts (and pays, through
the same movement as a transfer) or declines; the requester may cancel.

Only the parties see a request, and only the right party may act on it: anyone else gets "not
found", exactly as for a request that does not exist. Accepting is idempotent (Idempotency-Key) and
changes the request's state in the same transaction as the payment: the conditional UPDATE on a
pending request locks its row, so two concurrent accepts pay once.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

from walletbridge.domain.actors import Actor, RecipientKind, Scope, UserId, UserStatus
from walletbridge.domain.money import Money
from walletbridge.domain.outbox import OutboxMessage, Topic
from walletbridge.domain.payments import (
    HistoryKind,
    InvalidFilter,
    InvalidPayment,
    PayingYourself,
    PaymentRequest,
    PaymentRequestNotFound,
    RecipientNotFound,
    RecipientRef,
    RequestId,
    RequestNotPending,
    RequestStatus,
    validate_note,
)
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.ports.wallets import RequestQuery
from walletbridge.services.idempotency import Outcome
from walletbridge.services.payment_plans import TransferOrder, check_amount
from walletbridge.services.payments import PaymentService
from walletbridge.services.wallet_views import transfer_body

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class RequestPage:
    items: tuple[PaymentRequest, ...]
    next_cursor: str | None


def encode_cursor(at_us: int, item_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at_us}.{item_id.hex}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, item = base64.urlsafe_b64decode(padded.encode()).decode().split(".", 1)
        return int(at), uuid.UUID(hex=item)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidFilter(reason="the cursor is not one this list issued") from error


class PaymentRequestService:
    def __init__(
        self, runner: TransactionRunner, clock: Clock, ids: IdSource, payments: PaymentService
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._payments = payments

    def create(
        self, actor: Actor, payer: RecipientRef, amount: Money, note: str | None
    ) -> PaymentRequest:
        actor.require_scope(Scope.PAYMENTS_WRITE)
        check_amount(amount)
        note = validate_note(note)

        def write(uow: UnitOfWork) -> PaymentRequest:
            now_us = self._clock.now_us()
            requester = uow.identity.summary(actor.tenant_id, actor.user_id)
            if requester is None:
                raise RecipientNotFound(kind="user")
            from_whom = self._payments.resolve(uow, actor.tenant_id, payer)
            if from_whom.user_id == actor.user_id:
                raise PayingYourself()
            self._payments.fee(uow, actor.tenant_id, amount)  # the currency is offered
            request = PaymentRequest(
                id=RequestId(uuid.UUID(self._ids.new_id())),
                tenant_id=actor.tenant_id,
                requester_id=actor.user_id,
                requester_handle=requester.handle,
                payer_id=from_whom.user_id,
                payer_handle=from_whom.handle,
                currency=amount.currency.code,
                amount_minor=amount.amount_minor,
                note=note,
                status=RequestStatus.PENDING,
                transfer_id=None,
                created_at_us=now_us,
                updated_at_us=now_us,
            )
            uow.wallets.insert_request(request)
            uow.outbox.add(
                OutboxMessage(
                    id=self._ids.new_id(),
                    tenant_id=actor.tenant_id,
                    topic=Topic.ACTIVITY,
                    payload={
                        "user_id": from_whom.user_id,
                        "kind": "payment-request.received",
                        "request_id": str(request.id),
                        "from_handle": requester.handle,
                        "amount": amount.to_decimal_string(),
                        "currency": amount.currency.code,
                    },
                ),
                now_us,
            )
            uow.commit()
            return request

        return self._runner.write(write)

    def get(self, actor: Actor, request_id: RequestId) -> PaymentRequest:
        actor.require_scope(Scope.WALLET_READ)
        found = self._runner.read(lambda uow: uow.wallets.request(actor.tenant_id, request_id))
        if found is None or actor.user_id not in (found.payer_id, found.requester_id):
            raise PaymentRequestNotFound(request_id=str(request_id))
        return found

    def page(
        self,
        actor: Actor,
        *,
        incoming: bool,
        status: RequestStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> RequestPage:
        actor.require_scope(Scope.WALLET_READ)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidPayment(reason=f"a page holds 1 to {MAX_PAGE} items")
        query = RequestQuery(
            tenant_id=actor.tenant_id,
            user_id=actor.user_id,
            incoming=incoming,
            limit=limit + 1,
            status=status,
            before=decode_cursor(cursor) if cursor else None,  # type: ignore[arg-type]
        )
        rows = self._runner.read(lambda uow: uow.wallets.requests(query))
        page = tuple(rows[:limit])
        more = len(rows) > limit
        return RequestPage(
            page, encode_cursor(page[-1].created_at_us, page[-1].id) if more else None
        )

    def accept(
        self, actor: Actor, request_id: RequestId, fee: Money, idempotency_key: str | None
    ) -> Outcome:
        """Pay the request (the payer only), once per idempotency key and once per request."""
        actor.require_fresh()
        actor.require_scope(Scope.PAYMENTS_WRITE)
        idempotent = self._payments.idempotent
        request = idempotent.request(
            actor.tenant_id,
            actor.user_id,
            idempotency_key,
            {"accept": str(request_id), "fee": [fee.amount_minor, fee.currency.code]},
        )
        replay = self._runner.read(lambda uow: idempotent.stored(uow, request))
        if replay is not None:
            return replay
        asked = self._owned(actor, request_id, as_payer=True)
        if asked.status is not RequestStatus.PENDING:
            raise RequestNotPending(request_status=asked.status.value)
        requester = self._runner.read(
            lambda uow: uow.identity.summary(actor.tenant_id, asked.requester_id)
        )
        if requester is None or requester.status is not UserStatus.ACTIVE:
            raise RecipientNotFound(kind="user")
        order = TransferOrder(
            to=RecipientRef(RecipientKind.HANDLE, asked.requester_handle),
            amount=Money(asked.amount_minor, fee.currency),
            fee=fee,
            note=asked.note,
        )
        if fee.currency.code != asked.currency:
            raise InvalidPayment(
                reason="the fee must be in the request's currency", currency=asked.currency
            )
        plan = self._payments.plan(actor, order, payee=requester)

        def work(uow: UnitOfWork, now_us: int) -> Outcome:
            transfer_id = self._payments.new_transfer_id()
            done = uow.wallets.finish_request(
                actor.tenant_id,
                request_id,
                party_id=actor.user_id,
                as_payer=True,
                status=RequestStatus.PAID,
                transfer_id=transfer_id,
                now_us=now_us,
            )
            if done is None:
                raise self._not_pending(uow, actor, request_id)
            item = self._payments.move(
                uow, now_us, plan, actor=actor, kind=HistoryKind.REQUEST, transfer_id=transfer_id
            )
            return Outcome(201, transfer_body(item, plan.amount.currency, requester))

        return idempotent.run(request, work, self._payments.refused(actor))

    def decline(self, actor: Actor, request_id: RequestId) -> PaymentRequest:
        return self._finish(actor, request_id, as_payer=True, status=RequestStatus.DECLINED)

    def cancel(self, actor: Actor, request_id: RequestId) -> PaymentRequest:
        return self._finish(actor, request_id, as_payer=False, status=RequestStatus.CANCELLED)

    def _finish(
        self, actor: Actor, request_id: RequestId, *, as_payer: bool, status: RequestStatus
    ) -> PaymentRequest:
        actor.require_scope(Scope.PAYMENTS_WRITE)

        def write(uow: UnitOfWork) -> PaymentRequest:
            done = uow.wallets.finish_request(
                actor.tenant_id,
                request_id,
                party_id=actor.user_id,
                as_payer=as_payer,
                status=status,
                transfer_id=None,
                now_us=self._clock.now_us(),
            )
            if done is None:
                raise self._not_pending(uow, actor, request_id, as_payer=as_payer)
            uow.commit()
            return done

        return self._runner.write(write)

    def _owned(self, actor: Actor, request_id: RequestId, *, as_payer: bool) -> PaymentRequest:
        found = self._runner.read(lambda uow: uow.wallets.request(actor.tenant_id, request_id))
        party = None if found is None else (found.payer_id if as_payer else found.requester_id)
        if found is None or party != actor.user_id:
            raise PaymentRequestNotFound(request_id=str(request_id))
        return found

    @staticmethod
    def _not_pending(
        uow: UnitOfWork, actor: Actor, request_id: RequestId, *, as_payer: bool = True
    ) -> Exception:
        found = uow.wallets.request(actor.tenant_id, request_id)
        party = None if found is None else (found.payer_id if as_payer else found.requester_id)
        if found is None or party != UserId(actor.user_id):
            return PaymentRequestNotFound(request_id=str(request_id))
        return RequestNotPending(request_status=found.status.value)
