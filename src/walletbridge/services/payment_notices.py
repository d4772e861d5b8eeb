"""What a payment tells others, in its own transaction: an ACTIVITY message (via the outbox) for
the payee's live feed, and an audit record of the money movement. Neither holds personal data
beyond handles and ids."""

from __future__ import annotations

from walletbridge.domain.actors import Actor
from walletbridge.domain.audit import ActorKind, AuditRecord
from walletbridge.domain.audit import Outcome as AuditOutcome
from walletbridge.domain.errors import DomainError
from walletbridge.domain.outbox import OutboxMessage, Topic
from walletbridge.domain.payments import HistoryItem
from walletbridge.ports import UnitOfWork
from walletbridge.services.payment_plans import Plan
from walletbridge.services.wallet_views import money_json


def announce_payment(
    uow: UnitOfWork, now_us: int, message_id: str, plan: Plan, item: HistoryItem
) -> None:
    amount = money_json(plan.amount)
    uow.outbox.add(
        OutboxMessage(
            id=message_id,
            tenant_id=plan.tenant_id,
            topic=Topic.ACTIVITY,
            payload={
                "user_id": plan.payee.user_id,
                "kind": "payment.received",
                "transfer_id": str(item.transfer_id),
                "from_handle": plan.payer.handle,
                "amount": amount["amount"],
                "currency": amount["currency"],
            },
        ),
        now_us,
    )


def audit_payment(
    uow: UnitOfWork,
    now_us: int,
    actor: Actor,
    item: HistoryItem,
    *,
    batch_size: int | None,
) -> None:
    details: dict[str, str | int | bool | None] = {
        "amount_minor": item.amount_minor,
        "fee_minor": item.fee_minor,
        "currency": item.currency,
        "entry_id": str(item.entry_id),
        "kind": item.kind.value,
    }
    if batch_size is not None:
        details["batch_size"] = batch_size
    uow.audit.append(
        AuditRecord(
            tenant_id=actor.tenant_id,
            action="payment.batch.sent" if batch_size else "payment.p2p.sent",
            outcome=AuditOutcome.SUCCESS,
            actor_kind=ActorKind.CUSTOMER,
            actor_id=actor.user_id,
            object_type="transfer",
            object_id=str(item.transfer_id),
            ip=actor.context.ip,
            user_agent=actor.context.user_agent,
            request_id=actor.context.request_id,
            details=details,
        ),
        now_us,
    )


def audit_refusal(uow: UnitOfWork, now_us: int, actor: Actor, error: DomainError) -> None:
    """A payment refused by a business rule (funds, limits): who tried, and which rule said no."""
    uow.audit.append(
        AuditRecord(
            tenant_id=actor.tenant_id,
            action="payment.p2p.refused",
            outcome=AuditOutcome.FAILURE,
            actor_kind=ActorKind.CUSTOMER,
            actor_id=actor.user_id,
            object_type="transfer",
            ip=actor.context.ip,
            user_agent=actor.context.user_agent,
            request_id=actor.context.request_id,
            details={"refusal": error.code},
        ),
        now_us,
    )
