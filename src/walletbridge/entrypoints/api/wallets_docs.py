"""OpenAPI documentation pieces of the wallet and P2P API: response and problem specs with their
examples, so every operation shows a request, an answer and its refusals."""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import Example, SecurityRequirement
from litestar.params import Body

from walletbridge.entrypoints.api.problems import example_response, problem_spec

SECURITY: list[SecurityRequirement] = [{"BearerToken": []}]
TAG_WALLET = "wallet"
TAG_TRANSFERS = "transfers"
TAG_REQUESTS = "payment requests"
TAG_PAYEES = "payees"
TAG_HISTORY = "history"


# -- OpenAPI helpers ------------------------------------------------------------------------------


def body(example: dict[str, Any], summary: str) -> Any:
    return Body(examples=[Example(summary=summary, value=example)])


ok = example_response


problem = problem_spec

BAD_REQUEST = problem(400, "request-invalid", "The request's parameters are not valid.")
KEY_MISSING = problem(
    400, "idempotency-key-missing", "Send an Idempotency-Key header with every payment."
)
UNAUTHENTICATED = problem(
    401, "authentication-required", "Sign in first: send a valid bearer token."
)
RATE_LIMITED = problem(
    429, "rate-limited", "Too many attempts; try again in 12 seconds.", retry_after_seconds=12
)
FEE_CHANGED = problem(
    409,
    "fee-changed",
    "The fee is now 0.60 EUR; confirm the new fee to pay.",
    fee="0.60",
    currency="EUR",
)
LIMIT_EXCEEDED = problem(
    422,
    "limit-exceeded",
    "The payment is over the daily limit; 20.00 EUR remains.",
    limit="daily",
    remaining="20.00",
    currency="EUR",
)
RECIPIENT_NOT_FOUND = problem(
    404, "recipient-not-found", "No active customer here goes by that handle.", kind="handle"
)


def money_example(amount: str, currency: str = "EUR") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


BOB = {"handle": "bob", "display_name": "Bob Martin"}
TRANSFER_EXAMPLE = {
    "id": "01942f4e-7b1a-7c3e-9d2f-5a6b7c8d9e0f",
    "status": "completed",
    "direction": "out",
    "amount": money_example("25.00"),
    "fee": money_example("0.13"),
    "total": money_example("25.13"),
    "counterparty": BOB,
    "note": "Concert tickets",
    "created_at": "2026-01-05T09:30:00Z",
}
TRANSFER_REQUEST_EXAMPLE = {
    "to": {"handle": "bob"},
    "amount": money_example("25.00"),
    "fee": money_example("0.13"),
    "note": "Concert tickets",
}
REQUEST_EXAMPLE = {
    "id": "01942f4e-7b1a-7c3e-9d2f-5a6b7c8d9e10",
    "status": "pending",
    "direction": "outgoing",
    "requester": {"handle": "alice", "display_name": "Alice Chen"},
    "payer": BOB,
    "amount": money_example("12.00"),
    "note": "Pizza",
    "transfer_id": None,
    "created_at": "2026-01-05T09:30:00Z",
    "updated_at": "2026-01-05T09:30:00Z",
}
PAYEE_EXAMPLE = {
    "id": "01942f4e-7b1a-7c3e-9d2f-5a6b7c8d9e11",
    "nickname": "Landlord",
    "handle": "bob",
    "display_name": "Bob Martin",
    "payable": True,
    "created_at": "2026-01-05T09:30:00Z",
}
HISTORY_EXAMPLE = {
    "id": "01942f4e-7b1a-7c3e-9d2f-5a6b7c8d9e12",
    "transfer_id": "01942f4e-7b1a-7c3e-9d2f-5a6b7c8d9e0f",
    "type": "p2p",
    "direction": "out",
    "amount": money_example("25.00"),
    "fee": money_example("0.13"),
    "balance_change": money_example("-25.13"),
    "counterparty": {"handle": "bob", "display_name": None},
    "note": "Concert tickets",
    "entry_id": "01942f4e-7b1a-7c3e-9d2f-5a6b7c8d9e13",
    "created_at": "2026-01-05T09:30:00Z",
}
