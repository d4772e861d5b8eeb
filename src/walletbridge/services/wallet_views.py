"""JSON-ready views of wallet objects, shared by the API and the stored idempotent responses
(a replay must send byte-for-byte what the first answer sent, so the service builds it).

Money leaves as ``{"amount": "12.34", "currency": "EUR"}``; times as ISO 8601 UTC with ``Z``.
"""

from __future__ import annotations

from walletbridge.domain.actors import UserSummary
from walletbridge.domain.instants import iso_utc
from walletbridge.domain.money import Currency, Money
from walletbridge.domain.payments import Direction, HistoryItem

TRANSFER_STATUS = "completed"


def money_json(money: Money) -> dict[str, str]:
    return {"amount": money.to_decimal_string(), "currency": money.currency.code}


def minor_json(amount_minor: int, currency: Currency) -> dict[str, str]:
    return money_json(Money(amount_minor, currency))


def counterparty_json(
    item: HistoryItem, summary: UserSummary | None
) -> dict[str, str | None] | None:
    if item.counterparty_handle is None:
        return None
    return {
        "handle": item.counterparty_handle,
        "display_name": summary.display_name if summary is not None else None,
    }


def transfer_body(
    item: HistoryItem, currency: Currency, counterparty: UserSummary | None
) -> dict[str, object]:
    """A transfer as its owner sees it (``item`` is their history row)."""
    return {
        "id": str(item.transfer_id),
        "status": TRANSFER_STATUS,
        "direction": item.direction.value,
        "amount": minor_json(item.amount_minor, currency),
        "fee": minor_json(item.fee_minor, currency),
        "total": minor_json(item.total_minor, currency),
        "counterparty": counterparty_json(item, counterparty),
        "note": item.note,
        "created_at": iso_utc(item.created_at_us),
    }


def history_json(item: HistoryItem, currency: Currency) -> dict[str, object]:
    """One line of the wallet history (``GET /transactions``)."""
    sign = -1 if item.direction is Direction.OUT else 1
    return {
        "id": str(item.id),
        "transfer_id": str(item.transfer_id),
        "type": item.kind.value,
        "direction": item.direction.value,
        "amount": minor_json(item.amount_minor, currency),
        "fee": minor_json(item.fee_minor, currency),
        "balance_change": minor_json(sign * item.total_minor, currency),
        "counterparty": counterparty_json(item, None),
        "note": item.note,
        "entry_id": str(item.entry_id),
        "created_at": iso_utc(item.created_at_us),
    }
