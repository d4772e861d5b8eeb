"""Payees: the people the person keeps as trusted beneficiaries, with a nickname. The list, adding
one (by handle, email or phone), renaming, deleting after a confirmation step, and "Pay", which
opens the send form with the payee filled in.

Adding is limited per hour by ``PayeeService`` itself (the ``payees`` bucket that
``ThrottleService.check_payee_creation`` names), so this page does not count the attempt a
second time; the look-up it makes counts like every recipient look-up. Someone else's payee, like
a missing one, is the "page not found" page.

The add form carries a once-only key (``create_once``), spent before the payee is created: a
double click adds one payee and its second half goes to the list. A refusal (an unknown contact,
a payee already kept, the hourly limit) shows the form again with a fresh key, so correcting and
sending it works. What remains: the repeat of a refused submission, or of one that failed
unexpectedly after the key was spent, also goes to the list, with nothing added and no message;
the person adds the payee again from the form.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

from litestar import get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.errors import DomainError
from walletbridge.domain.payments import MAX_NICKNAME_CHARS, PayeeId, PayeeNotFound
from walletbridge.entrypoints.web.context import Msg, Visitor, flash, page
from walletbridge.entrypoints.web.forms import Form, FormBody
from walletbridge.entrypoints.web.money_forms import (
    Lookup,
    create_once,
    mask_name,
    not_found,
    read_recipient,
    renew_once_key,
)
from walletbridge.entrypoints.web.refusals import refuse
from walletbridge.services.payees import PayeeView


@dataclass(frozen=True)
class PayeeRow:
    """One payee as the pages show it."""

    id: str
    nickname: str
    name: str
    handle: str
    payable: bool


def row_of(entry: PayeeView) -> PayeeRow:
    person = entry.person
    return PayeeRow(
        id=str(entry.payee.id),
        nickname=entry.payee.nickname,
        name=mask_name(person.display_name) if person else "",
        handle=person.handle if person else "",
        payable=person is not None,
    )


def read_nickname(form: Form) -> str | None:
    nickname = " ".join(form.get("nickname").split())
    if not nickname:
        form.error("nickname", Msg("This field is required."))
        return None
    if len(nickname) > MAX_NICKNAME_CHARS or not nickname.isprintable():
        form.error(
            "nickname",
            Msg("A nickname is at most {n} characters on one line.", {"n": MAX_NICKNAME_CHARS}),
        )
        return None
    return nickname


class Payees:
    """The pages of the payee routes below."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.payees = container.wallets.payees

    def list_page(
        self, visitor: Visitor, actor: Actor, form: Form, *, status: int = 200
    ) -> Template:
        renew_once_key(form)
        rows = [row_of(entry) for entry in self.payees.list(actor)]
        rows.sort(key=lambda r: r.nickname.casefold())
        return page(visitor, "payees.html", status=status, form=form, payees=rows, lookup=Lookup())

    def owned(self, actor: Actor, payee_id: uuid.UUID) -> PayeeView | None:
        try:
            return self.payees.get(actor, PayeeId(payee_id))
        except PayeeNotFound:
            return None

    def edit_page(
        self, visitor: Visitor, entry: PayeeView, form: Form, *, deleting: bool, status: int = 200
    ) -> Template:
        return page(
            visitor,
            "payee_edit.html",
            status=status,
            payee=row_of(entry),
            form=form,
            deleting=deleting,
        )

    def add(self, visitor: Visitor, actor: Actor, form: Form) -> Template | Redirect:
        to, nickname = read_recipient(form), read_nickname(form)
        if to is None or nickname is None:
            return self.list_page(visitor, actor, form, status=422)
        keep = partial(self.payees.create, actor, to, nickname)
        try:
            made = create_once(self.container, visitor, actor, form, to, keep)
        except DomainError as error:
            return self.list_page(visitor, actor, form, status=refuse(form, error))
        if made is None:
            return Redirect(path="/payees", status_code=303)  # the first click's answer
        flash(visitor, "Payee saved.")
        return Redirect(path="/payees", status_code=303)


def routes(container: Container) -> list[HTTPRouteHandler]:
    steps = Payees(container)
    return [*_list_routes(steps), *_edit_routes(steps)]


def _list_routes(steps: Payees) -> list[HTTPRouteHandler]:
    @get("/payees", sync_to_thread=True)
    def show_payees(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        return steps.list_page(visitor, actor, Form.of({}))

    @post("/payees", sync_to_thread=True, status_code=200)
    def add_payee(visitor: NamedDependency[Visitor], data: FormBody) -> Template | Redirect:
        actor = visitor.member()
        return steps.add(visitor, actor, Form.of(data))

    return [show_payees, add_payee]


def _edit_routes(steps: Payees) -> list[HTTPRouteHandler]:
    """Renaming a payee and deleting one (after a confirmation page)."""

    @get("/payees/{payee_id:uuid}/edit", sync_to_thread=True)
    def show_edit(visitor: NamedDependency[Visitor], payee_id: FromPath[uuid.UUID]) -> Template:
        actor = visitor.member()
        entry = steps.owned(actor, payee_id)
        if entry is None:
            return not_found(visitor)
        form = Form.of({}, nickname=entry.payee.nickname)
        return steps.edit_page(visitor, entry, form, deleting=False)

    @post("/payees/{payee_id:uuid}/edit", sync_to_thread=True, status_code=200)
    def rename(
        visitor: NamedDependency[Visitor], payee_id: FromPath[uuid.UUID], data: FormBody
    ) -> Template | Redirect:
        actor = visitor.member()
        entry = steps.owned(actor, payee_id)
        if entry is None:
            return not_found(visitor)
        form = Form.of(data)
        nickname = read_nickname(form)
        if nickname is None:
            return steps.edit_page(visitor, entry, form, deleting=False, status=422)
        try:
            steps.payees.rename(actor, PayeeId(payee_id), nickname)
        except PayeeNotFound:
            return not_found(visitor)
        flash(visitor, "Payee renamed.")
        return Redirect(path="/payees", status_code=303)

    @get("/payees/{payee_id:uuid}/delete", sync_to_thread=True)
    def confirm_delete(
        visitor: NamedDependency[Visitor], payee_id: FromPath[uuid.UUID]
    ) -> Template:
        actor = visitor.member()
        entry = steps.owned(actor, payee_id)
        if entry is None:
            return not_found(visitor)
        return steps.edit_page(visitor, entry, Form.of({}), deleting=True)

    @post("/payees/{payee_id:uuid}/delete", sync_to_thread=True, status_code=200)
    def delete(
        visitor: NamedDependency[Visitor], payee_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        actor = visitor.member()
        try:
            steps.payees.delete(actor, PayeeId(payee_id))
        except PayeeNotFound:
            return not_found(visitor)
        flash(visitor, "Payee deleted.")
        return Redirect(path="/payees", status_code=303)

    return [show_edit, rename, confirm_delete, delete]
