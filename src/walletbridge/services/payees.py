"""Payees: the people a customer keeps as trusted beneficiaries, with a nickname.

Every read and change is scoped to the owner: another customer's payee is "not found", exactly as
a missing one. Creating payees is rate limited (``payees_per_hour``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from walletbridge.domain.actors import Actor, Scope, UserStatus, UserSummary
from walletbridge.domain.payments import (
    Payee,
    PayeeExists,
    PayeeId,
    PayeeNotFound,
    PayingYourself,
    RecipientRef,
    validate_nickname,
)
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.services.payments import PaymentService
from walletbridge.services.settings import ServiceSettings
from walletbridge.services.throttle import count_attempt


@dataclass(frozen=True, slots=True)
class PayeeView:
    payee: Payee
    person: UserSummary | None
    """None when the person's account is gone or disabled: the payee is kept, but cannot be paid."""


class PayeeService:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        ids: IdSource,
        settings: ServiceSettings,
        payments: PaymentService,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._settings = settings
        self._payments = payments

    def create(self, actor: Actor, to: RecipientRef, nickname: str) -> PayeeView:
        actor.require_scope(Scope.PAYMENTS_WRITE)
        nickname = validate_nickname(nickname)

        def write(uow: UnitOfWork) -> PayeeView:
            now_us = self._clock.now_us()
            person = self._payments.resolve(uow, actor.tenant_id, to)
            if person.user_id == actor.user_id:
                raise PayingYourself()
            count_attempt(
                uow,
                now_us=now_us,
                secret_key=self._settings.secret_key,
                bucket=f"payees:{actor.tenant_id}:{actor.user_id}",
                limit=self._settings.payees_per_hour,
                window_seconds=3600,
            )
            payee = Payee(
                id=PayeeId(uuid.UUID(self._ids.new_id())),
                tenant_id=actor.tenant_id,
                owner_id=actor.user_id,
                payee_user_id=person.user_id,
                nickname=nickname,
                created_at_us=now_us,
            )
            if not uow.wallets.insert_payee(payee):
                raise PayeeExists()
            uow.commit()
            return PayeeView(payee, person)

        return self._runner.write(write)

    def list(self, actor: Actor) -> list[PayeeView]:
        actor.require_scope(Scope.WALLET_READ)

        def read(uow: UnitOfWork) -> list[PayeeView]:
            return [
                PayeeView(payee, self._person(uow, payee))
                for payee in uow.wallets.payees(actor.tenant_id, actor.user_id)
            ]

        return self._runner.read(read)

    def get(self, actor: Actor, payee_id: PayeeId) -> PayeeView:
        actor.require_scope(Scope.WALLET_READ)

        def read(uow: UnitOfWork) -> PayeeView:
            payee = uow.wallets.payee(actor.tenant_id, actor.user_id, payee_id)
            if payee is None:
                raise PayeeNotFound(payee_id=str(payee_id))
            return PayeeView(payee, self._person(uow, payee))

        return self._runner.read(read)

    def rename(self, actor: Actor, payee_id: PayeeId, nickname: str) -> PayeeView:
        actor.require_scope(Scope.PAYMENTS_WRITE)
        nickname = validate_nickname(nickname)

        def write(uow: UnitOfWork) -> None:
            if not uow.wallets.rename_payee(actor.tenant_id, actor.user_id, payee_id, nickname):
                raise PayeeNotFound(payee_id=str(payee_id))
            uow.commit()

        self._runner.write(write)
        return self.get(actor, payee_id)

    def delete(self, actor: Actor, payee_id: PayeeId) -> None:
        actor.require_scope(Scope.PAYMENTS_WRITE)

        def write(uow: UnitOfWork) -> None:
            if not uow.wallets.delete_payee(actor.tenant_id, actor.user_id, payee_id):
                raise PayeeNotFound(payee_id=str(payee_id))
            uow.commit()

        self._runner.write(write)

    @staticmethod
    def _person(uow: UnitOfWork, payee: Payee) -> UserSummary | None:
        person = uow.identity.summary(payee.tenant_id, payee.payee_user_id)
        return person if person is not None and person.status is UserStatus.ACTIVE else None
