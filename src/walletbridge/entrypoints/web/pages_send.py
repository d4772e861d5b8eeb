"""Sending money: the form (recipient, amount, currency, note) with the recipient looked up and
the fee quoted as the person types, the confirm page, and the payment, with a step-up in place
when the session has been idle.

The idempotency key is minted when the confirm page is rendered and travels in that page:
"Confirm and send" clicked twice, or the page sent again, reaches ``PaymentService.transfer``
with the same key and the same order, so it pays once and both answers lead to the same page
(a submission that arrives while its twin is still being paid waits for it). The step-up form
keeps the key and every value. The fee charged is the fee the confirm page showed, or the
payment is refused (``fee-changed``) and the confirm page comes back with the new fee. Any other
refusal sends the person back to the form with what they typed and the message next to its
field; the next confirm page gets a new key.

The recipient look-up and the fee quote are htmx fragments that answer htmx requests only (see
``_fragment_routes``): they spend the person's look-up allowance.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, ReauthenticationRequired
from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import Money, MoneyError, parse_amount
from walletbridge.domain.payments import (
    FeeChanged,
    PayeeId,
    PayeeNotFound,
    PayingYourself,
    RecipientNotFound,
)
from walletbridge.domain.throttle import RateLimited
from walletbridge.entrypoints.web.context import Msg, Visitor, flash, page
from walletbridge.entrypoints.web.forms import KEY_FIELD, Form, FormBody
from walletbridge.entrypoints.web.money_forms import (
    Holdings,
    Lookup,
    fragment,
    holdings_of,
    mask_name,
    money_text,
    not_found,
    payment_path,
    person_name,
    probe,
    read_amount,
    read_payment,
    read_recipient,
    recipient_ref,
    settle,
    step_up,
    step_up_by_code,
)
from walletbridge.entrypoints.web.refusals import (
    PAGE_MESSAGES,
    outcome_refusal,
    refusal_message,
    refuse,
)
from walletbridge.services.idempotency import Outcome
from walletbridge.services.payment_plans import Quote, TransferOrder

Query = Annotated[str, QueryParameter(max_length=300)]


class Sending:
    """The steps of a payment, shared by the routes below."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.payments = container.wallets.payments

    def send_form(
        self,
        visitor: Visitor,
        actor: Actor,
        form: Form,
        *,
        status: int = 200,
        lookup: Lookup | None = None,
    ) -> Template:
        holdings = holdings_of(self.container, actor)
        form.values.setdefault("currency", holdings.home)
        payees = [p for p in self.container.wallets.payees.list(actor) if p.person is not None]
        return page(
            visitor,
            "send.html",
            status=status,
            form=form,
            holdings=holdings,
            payees=payees,
            lookup=lookup or Lookup(),
        )

    def look_up(self, visitor: Visitor, actor: Actor, text: str) -> Lookup:
        if not text.strip():
            return Lookup()
        try:
            to = recipient_ref(text)
        except DomainError as error:
            return Lookup("invalid", message=refusal_message(error))
        home = holdings_of(self.container, actor).home
        try:
            probe(self.container, visitor, actor, to)
            # A quote of the smallest amount is the service's way to say who a recipient is.
            quoted = self.payments.quote(actor, to, Money(1, self.container.currencies.get(home)))
        except RateLimited as error:
            return Lookup("limited", message=refusal_message(error))
        except RecipientNotFound:
            return Lookup("missing", message=Msg("No wallet found for this recipient."))
        except PayingYourself as error:
            return Lookup("self", message=refusal_message(error))
        return Lookup("found", name=mask_name(quoted.recipient.display_name))

    def quote_for(
        self, visitor: Visitor, actor: Actor, form: Form
    ) -> tuple[Quote | None, Msg | None]:
        if not form.get("to") or not form.get("amount"):
            return None, None
        holdings = holdings_of(self.container, actor)
        to, money = read_recipient(form), read_amount(form, self.container, holdings)
        if to is None or money is None:
            return None, (form.errors.get("amount") or form.errors.get("currency"))
        try:
            probe(self.container, visitor, actor, to)
            return self.payments.quote(actor, to, money), None
        except RecipientNotFound:
            return None, None  # the look-up beside the recipient says so
        except DomainError as error:
            return None, refusal_message(error)

    def confirm_page(
        self,
        visitor: Visitor,
        actor: Actor,
        form: Form,
        *,
        status: int = 200,
        notice: Msg | None = None,
    ) -> Template:
        holdings = holdings_of(self.container, actor)
        read = read_payment(form, self.container, holdings)
        if read is None:
            return self.send_form(visitor, actor, form, status=422)
        to, money, note = read
        try:
            probe(self.container, visitor, actor, to)
            quote = self.payments.quote(actor, to, money)
        except DomainError as error:
            return self.send_form(visitor, actor, form, status=refuse(form, error))
        if quote.total.amount_minor > holdings.available[money.currency.code].amount_minor:
            form.error("amount", PAGE_MESSAGES["insufficient-funds"])
            return self.send_form(visitor, actor, form, status=422)
        form.values.update(
            amount=money.to_decimal_string(), fee=quote.fee.to_decimal_string(), note=note or ""
        )
        form.fresh_key()
        return page(
            visitor,
            "send_confirm.html",
            status=status,
            form=form,
            quote=quote,
            name=mask_name(quote.recipient.display_name),
            note=note,
            notice=notice,
        )

    def read_order(self, form: Form, holdings: Holdings) -> TransferOrder | None:
        read = read_payment(form, self.container, holdings)
        if read is None:
            return None
        to, money, note = read
        try:
            fee = parse_amount(form.get("fee"), money.currency, allow_zero=True)
        except MoneyError:
            form.error("", Msg("Please check the payment again."))
            return None
        return TransferOrder(to=to, amount=money, fee=fee, note=note)

    def stepup_page(
        self, visitor: Visitor, actor: Actor, form: Form, order: TransferOrder, *, status: int = 200
    ) -> Template:
        return page(
            visitor,
            "send_stepup.html",
            status=status,
            form=form,
            action="/send/stepup",
            by_code=step_up_by_code(self.container, actor),
            recipient=form.get("to"),
            amount=order.amount,
            fee=order.fee,
            total=order.amount + order.fee if order.fee is not None else order.amount,
            kept=[(n, form.get(n)) for n in ("to", "amount", "currency", "fee", "note", KEY_FIELD)],
        )

    def pay(self, visitor: Visitor, actor: Actor, form: Form) -> Template | Redirect:
        order = self.read_order(form, holdings_of(self.container, actor))
        if order is None:
            return self.send_form(visitor, actor, form, status=422)
        key = form.key()
        try:
            outcome = settle(lambda: self.payments.transfer(actor, order, key))
            if outcome.status_code != 201:
                raise outcome_refusal(outcome)
        except ReauthenticationRequired:
            return self.stepup_page(visitor, actor, form, order)
        except FeeChanged as error:
            return self.confirm_page(
                visitor, actor, form, status=409, notice=refusal_message(error)
            )
        except DomainError as error:
            return self.send_form(visitor, actor, form, status=refuse(form, error))
        return self.sent(visitor, outcome)

    def sent(self, visitor: Visitor, outcome: Outcome) -> Redirect:
        body = outcome.body
        flash(
            visitor,
            "Sent {amount} to {name}.",
            amount=money_text(visitor.fmt, body.get("amount")),
            name=person_name(body.get("counterparty")),
        )
        return Redirect(path=payment_path(outcome), status_code=303)


def is_htmx(visitor: Visitor) -> bool:
    """Whether htmx sent the request: it sets ``HX-Request``, which a link or a cross-site
    navigation cannot (and a cross-site script could only with a CORS preflight that fails)."""
    return visitor.request.headers.get("hx-request") == "true"


def routes(container: Container) -> list[HTTPRouteHandler]:
    steps = Sending(container)
    return [*_form_routes(steps), *_fragment_routes(steps), *_payment_routes(steps)]


def _form_routes(steps: Sending) -> list[HTTPRouteHandler]:
    @get("/send", sync_to_thread=True)
    def show_send(
        visitor: NamedDependency[Visitor],
        payee: Annotated[str | None, QueryParameter(name="payee", max_length=64)] = None,
    ) -> Template:
        actor = visitor.member()
        form, lookup = Form.of({}), Lookup()
        if payee:
            try:
                entry = steps.container.wallets.payees.get(actor, PayeeId(uuid.UUID(payee)))
            except (ValueError, PayeeNotFound):
                return not_found(visitor)
            if entry.person is None:
                form.error("to", Msg("This payee cannot be paid at the moment."))
            else:
                form.values["to"] = entry.person.handle
                lookup = Lookup("found", name=mask_name(entry.person.display_name))
        return steps.send_form(visitor, actor, form, lookup=lookup)

    @post("/send", sync_to_thread=True, status_code=200)
    def change_send(visitor: NamedDependency[Visitor], data: FormBody) -> Template:
        """The confirm page's "Change" button: the form again with every value kept."""
        actor = visitor.member()
        form = Form.of(data)
        form.values.pop(KEY_FIELD, None)
        form.values.pop("fee", None)
        return steps.send_form(visitor, actor, form)

    return [show_send, change_send]


def _fragment_routes(steps: Sending) -> list[HTTPRouteHandler]:
    """The look-up and the quote the send form fetches as the person types. Each counts against
    the look-up limit and writes the session, so they answer htmx only: a plain GET (a link, or
    a cross-site navigation, which carries the session cookie) goes to the form instead, with
    nothing counted."""

    @get("/send/lookup", sync_to_thread=True)
    def lookup(visitor: NamedDependency[Visitor], to: Query = "") -> Template | Redirect:
        actor = visitor.member()
        if not is_htmx(visitor):
            return Redirect(path="/send", status_code=303)
        found = steps.look_up(visitor, actor, to)
        return fragment(visitor, "send_lookup.html", lookup=found)

    @get("/send/quote", sync_to_thread=True)
    def quote(
        visitor: NamedDependency[Visitor],
        to: Query = "",
        amount: Annotated[str, QueryParameter(max_length=40)] = "",
        currency: Annotated[str, QueryParameter(max_length=3)] = "",
    ) -> Template | Redirect:
        actor = visitor.member()
        if not is_htmx(visitor):
            return Redirect(path="/send", status_code=303)
        form = Form.of({"to": to, "amount": amount, "currency": currency})
        made, message = steps.quote_for(visitor, actor, form)
        return fragment(visitor, "send_quote.html", quote=made, message=message)

    return [lookup, quote]


def _payment_routes(steps: Sending) -> list[HTTPRouteHandler]:
    @post("/send/confirm", sync_to_thread=True, status_code=200)
    def confirm(visitor: NamedDependency[Visitor], data: FormBody) -> Template:
        actor = visitor.member()
        return steps.confirm_page(visitor, actor, Form.of(data))

    @post("/send/execute", sync_to_thread=True, status_code=200)
    def execute(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        actor = visitor.member()
        return steps.pay(visitor, actor, Form.of(data))

    @post("/send/stepup", sync_to_thread=True, status_code=200)
    def stepup(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        actor = visitor.member()
        form = Form.of(data)
        order = steps.read_order(form, holdings_of(steps.container, actor))
        if order is None:
            return steps.send_form(visitor, actor, form, status=422)
        fresh = step_up(steps.container, visitor, actor, form)
        if fresh is None:
            return steps.stepup_page(visitor, actor, form, order, status=401)
        return steps.pay(visitor, fresh, form)

    @get(["/send/confirm", "/send/execute", "/send/stepup"], sync_to_thread=False)
    def back_to_form() -> Redirect:
        """These steps are form posts; landing on one otherwise (after signing in again, say)
        starts the payment over rather than showing an error."""
        return Redirect(path="/send", status_code=303)

    return [confirm, execute, stepup, back_to_form]
