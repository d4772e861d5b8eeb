"""Money stories for P2P payments on both engines: quote then pay, the fee lands on the tenant,
limits of every kind refuse with what remains, the payee's balance cap, and bad amounts."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

import pytest

from tests.conftest import FakeClock
from tests.integration.wallet_people import EUR, PASSWORD, People, configuration, eur, people_for
from walletbridge.bootstrap import Container
from walletbridge.domain.actors import RecipientKind, Role, Scope, UserStatus
from walletbridge.domain.errors import InsufficientFunds
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.limits import LimitExceeded, PayeeLimitExceeded
from walletbridge.domain.money import Currency
from walletbridge.domain.payments import (
    FeeChanged,
    PayingYourself,
    RecipientNotFound,
    RecipientRef,
    TransferId,
    TransferNotFound,
)
from walletbridge.domain.throttle import RateLimited
from walletbridge.domain.wallets import CurrencyNotOffered, default_configuration
from walletbridge.services.idempotency import Outcome
from walletbridge.services.wallets import WalletService


@pytest.fixture
def people(app: Container, tenant: TenantId) -> People:
    return people_for(app, tenant)


def test_a_quote_names_the_recipient_the_fee_and_the_total(people: People) -> None:
    alice, bob = people.customer("alice"), people.customer("bob")
    quote = people.wallets.payments.quote(
        people.actor(alice), RecipientRef(RecipientKind.HANDLE, "@Bob"), eur("100.00")
    )
    assert quote.recipient.user_id == bob.user_id
    assert quote.fee == eur("0.50")
    assert quote.total == eur("100.50")


def test_paying_the_quoted_fee_moves_the_money_and_the_fee_lands_on_the_tenant(
    people: People,
) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "200.00")
    outcome = people.pay(alice, bob, "100.00", note="dinner")
    assert isinstance(outcome, Outcome)
    assert outcome.status_code == 201
    assert outcome.body["fee"] == {"amount": "0.50", "currency": "EUR"}
    assert outcome.body["total"] == {"amount": "100.50", "currency": "EUR"}
    assert people.posted(alice) == 99_50
    assert people.posted(bob) == 100_00
    assert people.fee_revenue() == 50


def test_a_fee_other_than_the_current_one_is_refused_naming_the_current_fee(
    people: People,
) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "200.00")
    with pytest.raises(FeeChanged) as refused:
        people.pay(alice, bob, "100.00", fee="0.10")
    assert refused.value.extensions == {"fee": "0.50", "currency": "EUR"}
    assert people.posted(alice) == 200_00


def test_a_fee_is_rounded_up_and_never_above_the_amount(app: Container, tenant: TenantId) -> None:
    people = people_for(app, tenant, config=configuration(basis_points=10, fixed_minor=5))
    alice, bob = people.customer(), people.customer()
    quote = people.wallets.payments.quote(
        people.actor(alice), RecipientRef(RecipientKind.HANDLE, bob.handle), eur("0.03")
    )
    assert quote.fee == eur("0.03")
    quote = people.wallets.payments.quote(
        people.actor(alice), RecipientRef(RecipientKind.HANDLE, bob.handle), eur("10.01")
    )
    assert quote.fee == eur("0.07")  # 1.001 cents rounds up to 2, plus 5 fixed


def test_recipients_are_found_by_email_and_phone(people: People) -> None:
    alice = people.customer()
    bob = people.customer(email="Bob@Example.com", phone="+33 6 12 34 56 78")
    for ref in (
        RecipientRef(RecipientKind.EMAIL, "bob@example.com"),
        RecipientRef(RecipientKind.PHONE, "+33612345678"),
    ):
        quote = people.wallets.payments.quote(people.actor(alice), ref, eur("1.00"))
        assert quote.recipient.user_id == bob.user_id


def test_paying_yourself_or_nobody_is_refused(people: People) -> None:
    alice = people.customer()
    people.fund(alice, "10.00")
    with pytest.raises(PayingYourself):
        people.pay(alice, alice, "1.00", fee="0.01")
    with pytest.raises(RecipientNotFound):
        people.wallets.payments.quote(
            people.actor(alice), RecipientRef(RecipientKind.HANDLE, "nobody_here"), eur("1.00")
        )


def test_a_disabled_recipient_is_not_found(app: Container, people: People) -> None:
    alice, bob = people.customer(), people.customer()
    operator = people.customer(role=Role.OPERATOR)
    app.identity.set_user_status(
        people.actor(operator, role=Role.OPERATOR, scopes=frozenset({Scope.OPERATOR})),
        bob.user_id,
        UserStatus.DISABLED,
    )
    with pytest.raises(RecipientNotFound):
        people.pay(alice, bob, "1.00", fee="0.01")


def test_insufficient_funds_refuses_and_moves_nothing(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "5.00")
    with pytest.raises(InsufficientFunds):
        people.pay(alice, bob, "5.00")
    assert people.posted(alice) == 5_00
    assert people.posted(bob) == 0


@pytest.mark.parametrize(
    ("limits", "amount", "kind", "remaining"),
    [
        ({"per_transaction_minor": 50_00}, "50.01", "per-transaction", "50.00"),
        ({"daily_minor": 60_00, "per_transaction_minor": 50_00}, "30.00", "daily", "20.00"),
        (
            {"monthly_minor": 60_00, "per_transaction_minor": 50_00, "daily_minor": 50_00},
            "30.00",
            "monthly",
            "20.00",
        ),
    ],
)
def test_a_payment_over_a_limit_names_the_limit_and_what_remains(
    app: Container,
    tenant: TenantId,
    limits: dict[str, int],
    amount: str,
    kind: str,
    remaining: str,
) -> None:
    clock = FakeClock()
    wallets = WalletService(app.runner, clock, app.ids, app.service_settings)
    people = people_for(app, tenant, wallets, configuration(basis_points=0, **limits))
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "500.00")
    if kind != "per-transaction":
        people.pay(alice, bob, "40.00")
    if kind == "monthly":
        clock.advance(24 * 3600)  # a new day, the same month
    with pytest.raises(LimitExceeded) as refused:
        people.pay(alice, bob, amount)
    assert refused.value.extensions == {"limit": kind, "remaining": remaining, "currency": "EUR"}
    assert refused.value.code == "limit-exceeded"


def test_the_payees_balance_cap_refuses_a_payment_that_would_pass_it(
    app: Container, tenant: TenantId
) -> None:
    people = people_for(app, tenant, config=configuration(basis_points=0, balance_cap_minor=100_00))
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "100.00")
    people.fund(bob, "90.00")
    with pytest.raises(PayeeLimitExceeded) as refused:
        people.pay(alice, bob, "10.01")
    assert refused.value.extensions == {"limit": "balance-cap", "currency": "EUR"}
    people.pay(alice, bob, "10.00")
    assert people.posted(bob) == 100_00


def test_history_rows_show_each_side_its_own_view(people: People) -> None:
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "20.00")
    people.pay(alice, bob, "10.00", note="rent")
    from walletbridge.services.history import HistoryFilter

    mine = people.wallets.history.page(people.actor(alice), HistoryFilter(kind="p2p")).items
    theirs = people.wallets.history.page(people.actor(bob), HistoryFilter()).items
    assert [(i["direction"], i["note"], i["fee"]) for i in mine] == [
        ("out", "rent", {"amount": "0.05", "currency": "EUR"})
    ]
    assert [(i["direction"], i["counterparty"]) for i in theirs] == [
        ("in", {"handle": alice.handle, "display_name": None})
    ]


def test_a_currency_the_tenant_does_not_offer_is_refused(people: People) -> None:
    alice = people.customer()
    with pytest.raises(CurrencyNotOffered):
        people.wallets.open_account(people.actor(alice), "USD")
    home, created_home = people.wallets.open_account(people.actor(alice), "EUR")
    assert (home.currency, created_home) == ("EUR", False)  # opened with the wallet
    people.wallets.configure_tenant(people.tenant, default_configuration(Currency("GBP", 2)))
    account, created = people.wallets.open_account(people.actor(alice), "GBP")
    again, created_again = people.wallets.open_account(people.actor(alice), "GBP")
    assert (again.id, created, created_again) == (account.id, True, False)


def test_a_tenant_without_wallet_configuration_cannot_take_payments(
    app: Container, people: People
) -> None:
    bare = app.tenants.create(f"t-{secrets.token_hex(6)}", "Bare bank", "EUR").id
    alice = app.identity.register_verified(
        bare, handle="alice", display_name="Alice", password=PASSWORD
    )
    with pytest.raises(CurrencyNotOffered):
        people.wallets.ensure_wallet(bare, alice.user_id)
    people.wallets.configure_tenant(bare, default_configuration(EUR))
    people.wallets.configure_tenant(bare, default_configuration(EUR))  # idempotent
    assert people.wallets.ensure_wallet(bare, alice.user_id).home_currency == "EUR"


def test_another_customers_transfer_is_not_found(people: People) -> None:
    alice, bob, mallory = people.customer(), people.customer(), people.customer()
    people.fund(alice, "10.00")
    sent = people.pay(alice, bob, "1.00")
    transfer_id = TransferId(uuid.UUID(str(sent.body["id"])))  # type: ignore[attr-defined]
    assert people.wallets.payments.transfer_detail(people.actor(bob), transfer_id)["id"] == str(
        transfer_id
    )
    with pytest.raises(TransferNotFound):
        people.wallets.payments.transfer_detail(people.actor(mallory), transfer_id)


def test_transfers_are_rate_limited_per_user(app: Container, tenant: TenantId) -> None:
    settings = replace(app.service_settings, transfers_per_minute=2)
    wallets = WalletService(app.runner, FakeClock(), app.ids, settings)
    people = people_for(app, tenant, wallets, configuration(basis_points=0))
    alice, bob = people.customer(), people.customer()
    people.fund(alice, "10.00")
    people.pay(alice, bob, "1.00")
    people.pay(alice, bob, "1.00")
    with pytest.raises(RateLimited):
        people.pay(alice, bob, "1.00")
    assert people.posted(bob) == 2_00


def test_a_new_kyc_tier_moves_the_balance_cap(app: Container, tenant: TenantId) -> None:
    people = people_for(app, tenant, config=configuration(basis_points=0, balance_cap_minor=100_00))
    operator = people.customer(role=Role.OPERATOR)
    bob = people.customer()
    people.fund(bob, "100.00")
    with pytest.raises(PayeeLimitExceeded):
        people.fund(bob, "0.01")
    app.identity.set_user_kyc_tier(
        people.actor(operator, role=Role.OPERATOR, scopes=frozenset({Scope.OPERATOR})),
        bob.user_id,
        2,
    )
    people.wallets.apply_kyc_tier(tenant, bob.user_id)
    people.fund(bob, "0.01")
    assert people.posted(bob) == 100_01
