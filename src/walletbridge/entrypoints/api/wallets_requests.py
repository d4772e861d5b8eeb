"""Routes for requests to pay and payees. Every route with an id answers "not found" for another
customer's object, exactly as for a missing one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.instants import iso_utc
from walletbridge.domain.money import Currency
from walletbridge.domain.payments import PayeeId, PaymentRequest, RequestId, RequestStatus
from walletbridge.entrypoints.api.wallets_docs import (
    BAD_REQUEST,
    FEE_CHANGED,
    KEY_MISSING,
    LIMIT_EXCEEDED,
    PAYEE_EXAMPLE,
    RATE_LIMITED,
    RECIPIENT_NOT_FOUND,
    REQUEST_EXAMPLE,
    SECURITY,
    TAG_PAYEES,
    TAG_REQUESTS,
    TRANSFER_EXAMPLE,
    UNAUTHENTICATED,
    body,
    money_example,
    ok,
    problem,
)
from walletbridge.entrypoints.api.wallets_schemas import (
    AcceptBody,
    IdempotencyKey,
    PayeeBody,
    PayeeListView,
    PayeePatch,
    PayeeView,
    RequestBody,
    RequestPageView,
    RequestView,
    TransferView,
    money_of,
    recipient_of,
    threaded,
    view,
)
from walletbridge.services.payees import PayeeView as PayeeEntry
from walletbridge.services.wallet_views import minor_json

V1 = "/api/v1"
REQUEST_NOT_FOUND = problem(
    404, "payment-request-not-found", "Payment request 0194... does not exist."
)
NOT_PENDING = problem(
    409,
    "payment-request-not-pending",
    "The payment request is already paid.",
    request_status="paid",
)
PAYEE_NOT_FOUND = problem(404, "payee-not-found", "Payee 0194... does not exist.")


def request_view(request: PaymentRequest, currency: Currency, me: str) -> RequestView:
    return view(  # type: ignore[no-any-return]
        {
            "id": str(request.id),
            "status": request.status.value,
            "direction": "incoming" if request.payer_id == me else "outgoing",
            "requester": {"handle": request.requester_handle, "display_name": None},
            "payer": {"handle": request.payer_handle, "display_name": None},
            "amount": minor_json(request.amount_minor, currency),
            "note": request.note,
            "transfer_id": None if request.transfer_id is None else str(request.transfer_id),
            "created_at": iso_utc(request.created_at_us),
            "updated_at": iso_utc(request.updated_at_us),
        },
        RequestView,
    )


def payee_view(entry: PayeeEntry) -> PayeeView:
    person = entry.person
    return PayeeView(
        id=str(entry.payee.id),
        nickname=entry.payee.nickname,
        handle=person.handle if person else None,
        display_name=person.display_name if person else None,
        payable=person is not None,
        created_at=iso_utc(entry.payee.created_at_us),
    )


def request_routes(container: Container) -> list[HTTPRouteHandler]:
    return [*_payment_request_routes(container), *_payee_routes(container)]


def _payment_request_routes(container: Container) -> list[HTTPRouteHandler]:
    requests, currencies = container.wallets.requests, container.currencies
    common: dict[str, Any] = {"security": SECURITY, "tags": [TAG_REQUESTS]}

    def shown(actor: NamedDependency[Actor], request: PaymentRequest) -> RequestView:
        return request_view(request, currencies.get(request.currency), actor.user_id)

    @post(
        f"{V1}/payment-requests",
        status_code=201,
        summary="Ask someone for money",
        description="Creates a request to pay addressed to a customer named by handle, email or "
        "phone; they may accept (and pay) or decline it, and the requester may cancel it.",
        responses={
            201: ok(RequestView, REQUEST_EXAMPLE, "Requested"),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            404: RECIPIENT_NOT_FOUND,
            422: problem(422, "self-payment", "You cannot pay yourself."),
        },
        **common,
    )
    @threaded
    def create_request(
        actor: NamedDependency[Actor],
        data: Annotated[
            RequestBody,
            body(
                {"from": {"handle": "bob"}, "amount": money_example("12.00"), "note": "Pizza"},
                "From bob",
            ),
        ],
    ) -> RequestView:
        made = requests.create(
            actor, recipient_of(data.from_), money_of(currencies, data.amount), data.note
        )
        return shown(actor, made)

    @get(
        f"{V1}/payment-requests",
        summary="List my requests to pay",
        description="Incoming (asked of me) or outgoing (I asked), newest first, optionally by "
        "status; pages with `cursor` (the previous page's `next_cursor`).",
        responses={
            200: ok(RequestPageView, {"items": [REQUEST_EXAMPLE], "next_cursor": None}, "A page"),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
        },
        **common,
    )
    @threaded
    def list_requests(
        actor: NamedDependency[Actor],
        direction: FromQuery[Literal["incoming", "outgoing"]] = "incoming",
        status: FromQuery[Literal["pending", "paid", "declined", "cancelled"] | None] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> RequestPageView:
        page = requests.page(
            actor,
            incoming=direction == "incoming",
            status=None if status is None else RequestStatus(status),
            cursor=cursor,
            limit=limit,
        )
        return RequestPageView([shown(actor, r) for r in page.items], page.next_cursor)

    @get(
        f"{V1}/payment-requests/{{request_id:uuid}}",
        summary="Show a request to pay",
        description="A request the caller made or was asked; anyone else's is not found.",
        responses={
            200: ok(RequestView, REQUEST_EXAMPLE, "The request"),
            401: UNAUTHENTICATED,
            404: REQUEST_NOT_FOUND,
        },
        **common,
    )
    @threaded
    def show_request(actor: NamedDependency[Actor], request_id: FromPath[uuid.UUID]) -> RequestView:
        return shown(actor, requests.get(actor, RequestId(request_id)))

    @post(
        f"{V1}/payment-requests/{{request_id:uuid}}/accept",
        status_code=201,
        summary="Accept and pay a request",
        description="The payer pays the request with the fee they were shown (409 `fee-changed` "
        "otherwise). The state change and the payment are one transaction, so two concurrent "
        "accepts pay once. Needs `Idempotency-Key` and a fresh session.",
        responses={
            201: ok(TransferView, TRANSFER_EXAMPLE, "Paid"),
            400: KEY_MISSING,
            401: UNAUTHENTICATED,
            404: REQUEST_NOT_FOUND,
            409: FEE_CHANGED,
            422: LIMIT_EXCEEDED,
            429: RATE_LIMITED,
        },
        **common,
    )
    @threaded
    def accept_request(
        actor: NamedDependency[Actor],
        request_id: FromPath[uuid.UUID],
        data: Annotated[AcceptBody, body({"fee": money_example("0.06")}, "With the fee shown")],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TransferView]:
        fee = money_of(currencies, data.fee, allow_zero=True)
        outcome = requests.accept(actor, RequestId(request_id), fee, idempotency_key)
        return Response(view(outcome.body, TransferView), status_code=outcome.status_code)

    @post(
        f"{V1}/payment-requests/{{request_id:uuid}}/decline",
        status_code=200,
        summary="Decline a request to pay",
        description="The payer declines a pending request; nothing is paid.",
        responses={
            200: ok(RequestView, {**REQUEST_EXAMPLE, "status": "declined"}, "Declined"),
            401: UNAUTHENTICATED,
            404: REQUEST_NOT_FOUND,
            409: NOT_PENDING,
        },
        **common,
    )
    @threaded
    def decline_request(
        actor: NamedDependency[Actor], request_id: FromPath[uuid.UUID]
    ) -> RequestView:
        return shown(actor, requests.decline(actor, RequestId(request_id)))

    @post(
        f"{V1}/payment-requests/{{request_id:uuid}}/cancel",
        status_code=200,
        summary="Cancel my request to pay",
        description="The requester withdraws a pending request.",
        responses={
            200: ok(RequestView, {**REQUEST_EXAMPLE, "status": "cancelled"}, "Cancelled"),
            401: UNAUTHENTICATED,
            404: REQUEST_NOT_FOUND,
            409: NOT_PENDING,
        },
        **common,
    )
    @threaded
    def cancel_request(
        actor: NamedDependency[Actor], request_id: FromPath[uuid.UUID]
    ) -> RequestView:
        return shown(actor, requests.cancel(actor, RequestId(request_id)))

    return [
        create_request,
        list_requests,
        show_request,
        accept_request,
        decline_request,
        cancel_request,
    ]


def _payee_routes(container: Container) -> list[HTTPRouteHandler]:
    payees = container.wallets.payees
    common: dict[str, Any] = {"security": SECURITY, "tags": [TAG_PAYEES]}

    @get(
        f"{V1}/payees",
        summary="List my payees",
        description="The caller's trusted beneficiaries, by nickname.",
        responses={
            200: ok(PayeeListView, {"items": [PAYEE_EXAMPLE]}, "The payees"),
            401: UNAUTHENTICATED,
        },
        **common,
    )
    @threaded
    def list_payees(actor: NamedDependency[Actor]) -> PayeeListView:
        return PayeeListView([payee_view(entry) for entry in payees.list(actor)])

    @post(
        f"{V1}/payees",
        status_code=201,
        summary="Add a payee",
        description="Keeps a customer (by handle, email or phone) as a trusted beneficiary with a "
        "nickname. Limited per hour.",
        responses={
            201: ok(PayeeView, PAYEE_EXAMPLE, "Added"),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            404: RECIPIENT_NOT_FOUND,
            409: problem(409, "payee-exists", "That person is already one of your payees."),
            422: problem(422, "self-payment", "You cannot pay yourself."),
            429: RATE_LIMITED,
        },
        **common,
    )
    @threaded
    def create_payee(
        actor: NamedDependency[Actor],
        data: Annotated[PayeeBody, body({"to": {"handle": "bob"}, "nickname": "Landlord"}, "Bob")],
    ) -> PayeeView:
        return payee_view(payees.create(actor, recipient_of(data.to), data.nickname))

    @get(
        f"{V1}/payees/{{payee_id:uuid}}",
        summary="Show a payee",
        description="One of the caller's payees; anyone else's is not found.",
        responses={
            200: ok(PayeeView, PAYEE_EXAMPLE, "The payee"),
            401: UNAUTHENTICATED,
            404: PAYEE_NOT_FOUND,
        },
        **common,
    )
    @threaded
    def show_payee(actor: NamedDependency[Actor], payee_id: FromPath[uuid.UUID]) -> PayeeView:
        found = payees.get(actor, PayeeId(payee_id))
        return payee_view(found)

    @patch(
        f"{V1}/payees/{{payee_id:uuid}}",
        summary="Rename a payee",
        description="Changes the nickname of one of the caller's payees.",
        responses={
            200: ok(PayeeView, PAYEE_EXAMPLE, "Renamed"),
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            404: PAYEE_NOT_FOUND,
        },
        **common,
    )
    @threaded
    def rename_payee(
        actor: NamedDependency[Actor],
        payee_id: FromPath[uuid.UUID],
        data: Annotated[PayeePatch, body({"nickname": "Old landlord"}, "New nickname")],
    ) -> PayeeView:
        return payee_view(payees.rename(actor, PayeeId(payee_id), data.nickname))

    @delete(
        f"{V1}/payees/{{payee_id:uuid}}",
        status_code=204,
        summary="Remove a payee",
        description="Forgets one of the caller's payees.",
        responses={401: UNAUTHENTICATED, 404: PAYEE_NOT_FOUND},
        **common,
    )
    @threaded
    def delete_payee(actor: NamedDependency[Actor], payee_id: FromPath[uuid.UUID]) -> None:
        payees.delete(actor, PayeeId(payee_id))

    return [list_payees, create_payee, show_payee, rename_payee, delete_payee]
