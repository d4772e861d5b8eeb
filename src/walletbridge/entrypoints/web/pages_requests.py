"""Requests to pay: the person's incoming requests (pay one, through a confirm page, or decline
it) and outgoing ones (cancel), with their status; and a form to ask someone for money.

Paying a request is treated like sending money: the confirm page shows the fee and the total
and carries an idempotency key minted when it is rendered, so a double click pays once and both
clicks end on the same page; an idle session is asked to confirm it is the person (step-up) with
the key and the fee kept. Only the payer can pay or decline a request and only the requester can
cancel it; anyone else's request, like a missing one, is the "page not found" page.

Asking for money moves none, so its form carries a once-only key instead (``create_once``):
the first submission with a key spends it and a repeat (a double click's second half) goes to
the list, where the first one's request is. The key is spent before the request is made, so a
refusal (an unknown recipient, say) shows the form again with a fresh key, and correcting and
sending it works. What remains: the repeat of a refused submission, or of one that failed
unexpectedly after the key was spent, also goes to the list, with no request made and no message;
the person asks again from the form. Adding a payee (``pages_payees``) works the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, ReauthenticationRequired, RecipientKind
from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import Money, MoneyError, parse_amount
from walletbridge.domain.payments import (
    PaymentRequest,
    PaymentRequestNotFound,
    RecipientRef,
    RequestId,
    RequestStatus,
)
from walletbridge.entrypoints.web.context import Msg, Visitor, flash, page
from walletbridge.entrypoints.web.forms import KEY_FIELD, Form, FormBody
from walletbridge.entrypoints.web.money_forms import (
    Lookup,
    create_once,
    holdings_of,
    mask_name,
    money_text,
    not_found,
    payment_path,
    person_name,
    read_payment,
    renew_once_key,
    settle,
    step_up,
    step_up_by_code,
)
from walletbridge.entrypoints.web.refusals import (
    PAGE_MESSAGES,
    form_status,
    outcome_refusal,
    refusal_message,
    refuse,
)
from walletbridge.services.payment_plans import Quote

Cursor = Annotated[str | None, QueryParameter(max_length=200)]


@dataclass(frozen=True)
class RequestRow:
    """One request as the list shows it."""

    id: str
    incoming: bool
    other: str
    amount: str
    note: str | None
    status: str
    created: str

    @property
    def pending(self) -> bool:
        return self.status == RequestStatus.PENDING.value


class Requesting:
    """The steps of the request pages, shared by the routes below."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.requests = container.wallets.requests
        self.payments = container.wallets.payments

    def row(self, visitor: Visitor, actor: Actor, asked: PaymentRequest) -> RequestRow:
        currency = self.container.currencies.get(asked.currency)
        incoming = asked.payer_id == actor.user_id
        return RequestRow(
            id=str(asked.id),
            incoming=incoming,
            other=asked.requester_handle if incoming else asked.payer_handle,
            amount=visitor.fmt.money(Money(asked.amount_minor, currency)),
            note=asked.note,
            status=asked.status.value,
            created=visitor.fmt.instant(asked.created_at_us),
        )

    def list_page(
        self,
        visitor: Visitor,
        actor: Actor,
        *,
        incoming_after: str | None = None,
        outgoing_after: str | None = None,
        problem: Msg | None = None,
        status: int = 200,
    ) -> Template:
        inbox = self.requests.page(actor, incoming=True, cursor=incoming_after, limit=25)
        sent = self.requests.page(actor, incoming=False, cursor=outgoing_after, limit=25)
        return page(
            visitor,
            "requests.html",
            status=status,
            incoming=[self.row(visitor, actor, r) for r in inbox.items],
            outgoing=[self.row(visitor, actor, r) for r in sent.items],
            incoming_next=inbox.next_cursor,
            outgoing_next=sent.next_cursor,
            problem=problem,
        )

    def new_form(
        self, visitor: Visitor, actor: Actor, form: Form, *, status: int = 200
    ) -> Template:
        holdings = holdings_of(self.container, actor)
        form.values.setdefault("currency", holdings.home)
        renew_once_key(form)
        return page(
            visitor,
            "requests_new.html",
            status=status,
            form=form,
            holdings=holdings,
            lookup=Lookup(),
        )

    def create(self, visitor: Visitor, actor: Actor, form: Form) -> Template | Redirect:
        read = read_payment(form, self.container, holdings_of(self.container, actor))
        if read is None:
            return self.new_form(visitor, actor, form, status=422)
        to, money, note = read
        ask = partial(self.requests.create, actor, to, money, note)
        try:
            made = create_once(self.container, visitor, actor, form, to, ask)
        except DomainError as error:
            return self.new_form(visitor, actor, form, status=refuse(form, error))
        if made is None:
            return Redirect(path="/requests", status_code=303)  # the first click's answer
        flash(
            visitor,
            "Asked @{handle} for {amount}.",
            handle=made.payer_handle,
            amount=visitor.fmt.money(money),
        )
        return Redirect(path="/requests", status_code=303)

    def asked_of(self, actor: Actor, request_id: uuid.UUID) -> PaymentRequest | None:
        """The request if the actor is its payer; None for anyone else's or a missing one."""
        try:
            found = self.requests.get(actor, RequestId(request_id))
        except PaymentRequestNotFound:
            return None
        return found if found.payer_id == actor.user_id else None

    def accept_page(
        self,
        visitor: Visitor,
        actor: Actor,
        asked: PaymentRequest,
        *,
        problem: Msg | None = None,
        status: int = 200,
    ) -> Template:
        """The confirm page of paying ``asked``: the fee quoted now and a new key."""
        quote: Quote | None = None
        can_pay = False
        if asked.status is RequestStatus.PENDING:
            money = Money(asked.amount_minor, self.container.currencies.get(asked.currency))
            to = RecipientRef(RecipientKind.HANDLE, asked.requester_handle)
            try:
                quote = self.payments.quote(actor, to, money)
            except DomainError as error:
                problem = problem or refusal_message(error)
            if quote is not None:
                held = holdings_of(self.container, actor).available.get(asked.currency)
                can_pay = held is not None and held.amount_minor >= quote.total.amount_minor
                if not can_pay:
                    problem = problem or PAGE_MESSAGES["insufficient-funds"]
        form = Form.of({"fee": quote.fee.to_decimal_string() if quote else ""})
        form.fresh_key()
        return page(
            visitor,
            "request_accept.html",
            status=status,
            asked=self.row(visitor, actor, asked),
            quote=quote,
            name=mask_name(quote.recipient.display_name) if quote else "",
            form=form,
            problem=problem,
            can_pay=can_pay,
        )

    def pay(
        self, visitor: Visitor, actor: Actor, request_id: uuid.UUID, form: Form
    ) -> Template | Redirect:
        posted = self.posted_payment(visitor, actor, request_id, form)
        if isinstance(posted, Template):
            return posted
        asked, fee = posted
        key = form.key()
        try:
            outcome = settle(lambda: self.requests.accept(actor, asked.id, fee, key))
            if outcome.status_code != 201:
                raise outcome_refusal(outcome)
        except ReauthenticationRequired:
            return self.stepup_page(visitor, actor, asked, form, fee)
        except PaymentRequestNotFound:
            return not_found(visitor)
        except DomainError as error:
            fresh = self.asked_of(actor, request_id) or asked
            return self.accept_page(
                visitor, actor, fresh, problem=refusal_message(error), status=form_status(error)
            )
        flash(
            visitor,
            "Paid {amount} to {name}.",
            amount=money_text(visitor.fmt, outcome.body.get("amount")),
            name=person_name(outcome.body.get("counterparty")),
        )
        return Redirect(path=payment_path(outcome), status_code=303)

    def posted_payment(
        self, visitor: Visitor, actor: Actor, request_id: uuid.UUID, form: Form
    ) -> tuple[PaymentRequest, Money] | Template:
        """The request a posted confirm (or step-up) form pays and the fee the confirm page
        showed; else the page to show instead: "not found" for anyone else's or a missing
        request, the confirm page again (422) when the fee was altered."""
        asked = self.asked_of(actor, request_id)
        if asked is None:
            return not_found(visitor)
        try:
            currency = self.container.currencies.get(asked.currency)
            fee = parse_amount(form.get("fee"), currency, allow_zero=True)
        except MoneyError:
            return self.accept_page(visitor, actor, asked, status=422)
        return asked, fee

    def stepup_page(
        self,
        visitor: Visitor,
        actor: Actor,
        asked: PaymentRequest,
        form: Form,
        fee: Money,
        *,
        status: int = 200,
    ) -> Template:
        amount = Money(asked.amount_minor, fee.currency)
        return page(
            visitor,
            "send_stepup.html",
            status=status,
            form=form,
            action=f"/requests/{asked.id}/stepup",
            by_code=step_up_by_code(self.container, actor),
            recipient=f"@{asked.requester_handle}",
            amount=amount,
            fee=fee,
            total=amount + fee,
            kept=[("fee", form.get("fee")), (KEY_FIELD, form.key())],
        )

    def finish(
        self, visitor: Visitor, actor: Actor, request_id: uuid.UUID, *, decline: bool
    ) -> Template | Redirect:
        """Decline (the payer) or cancel (the requester) a pending request."""
        try:
            if decline:
                self.requests.decline(actor, RequestId(request_id))
            else:
                self.requests.cancel(actor, RequestId(request_id))
        except PaymentRequestNotFound:
            return not_found(visitor)
        except DomainError as error:
            return self.list_page(
                visitor, actor, problem=refusal_message(error), status=form_status(error)
            )
        if decline:
            flash(visitor, "Request declined.")
        else:
            flash(visitor, "Request cancelled.")
        return Redirect(path="/requests", status_code=303)


def routes(container: Container) -> list[HTTPRouteHandler]:
    steps = Requesting(container)
    return [*_list_routes(steps), *_payer_routes(steps)]


def _list_routes(steps: Requesting) -> list[HTTPRouteHandler]:
    """The lists, asking for money and cancelling one's own request."""

    @get("/requests", sync_to_thread=True)
    def show_requests(
        visitor: NamedDependency[Visitor],
        incoming: Cursor = None,
        outgoing: Cursor = None,
    ) -> Template:
        actor = visitor.member()
        return steps.list_page(visitor, actor, incoming_after=incoming, outgoing_after=outgoing)

    @get("/requests/new", sync_to_thread=True)
    def show_new(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        return steps.new_form(visitor, actor, Form.of({}))

    @post("/requests/new", sync_to_thread=True, status_code=200)
    def create(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        actor = visitor.member()
        return steps.create(visitor, actor, Form.of(data))

    @post("/requests/{request_id:uuid}/cancel", sync_to_thread=True, status_code=200)
    def cancel(
        visitor: NamedDependency[Visitor], request_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        actor = visitor.member()
        return steps.finish(visitor, actor, request_id, decline=False)

    @get("/requests/{request_id:uuid}/cancel", sync_to_thread=False)
    def back_to_list(request_id: FromPath[uuid.UUID]) -> Redirect:
        return Redirect(path="/requests", status_code=303)

    return [show_requests, show_new, create, cancel, back_to_list]


def _payer_routes(steps: Requesting) -> list[HTTPRouteHandler]:
    """What the payer does with a request: pay it (confirm, step-up) or decline it."""

    @get("/requests/{request_id:uuid}/accept", sync_to_thread=True)
    def show_accept(visitor: NamedDependency[Visitor], request_id: FromPath[uuid.UUID]) -> Template:
        actor = visitor.member()
        asked = steps.asked_of(actor, request_id)
        if asked is None:
            return not_found(visitor)
        return steps.accept_page(visitor, actor, asked)

    @post("/requests/{request_id:uuid}/accept", sync_to_thread=True, status_code=200)
    def accept(
        visitor: NamedDependency[Visitor], request_id: FromPath[uuid.UUID], data: FormBody
    ) -> Template | Redirect:
        actor = visitor.member()
        return steps.pay(visitor, actor, request_id, Form.of(data))

    @post("/requests/{request_id:uuid}/stepup", sync_to_thread=True, status_code=200)
    def stepup(
        visitor: NamedDependency[Visitor], request_id: FromPath[uuid.UUID], data: FormBody
    ) -> Template | Redirect:
        actor = visitor.member()
        form = Form.of(data)
        posted = steps.posted_payment(visitor, actor, request_id, form)
        if isinstance(posted, Template):
            return posted
        asked, fee = posted
        fresh = step_up(steps.container, visitor, actor, form)
        if fresh is None:
            return steps.stepup_page(visitor, actor, asked, form, fee, status=401)
        return steps.pay(visitor, fresh, request_id, form)

    @post("/requests/{request_id:uuid}/decline", sync_to_thread=True, status_code=200)
    def decline(
        visitor: NamedDependency[Visitor], request_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        actor = visitor.member()
        return steps.finish(visitor, actor, request_id, decline=True)

    @get(
        ["/requests/{request_id:uuid}/stepup", "/requests/{request_id:uuid}/decline"],
        sync_to_thread=False,
    )
    def back_to_request(request_id: FromPath[uuid.UUID]) -> Redirect:
        """Form posts reached otherwise (after signing in again, say) go to the request."""
        return Redirect(path=f"/requests/{request_id}/accept", status_code=303)

    return [show_accept, accept, stepup, decline, back_to_request]
