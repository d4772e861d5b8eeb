"""The demo's people: brands, limits and fees for the two demo banks, customers with known
passwords, their wallets, opening balances and a few payments between them, and an operator.

``seed_people`` is idempotent like ``seed_demo``: a user whose handle exists is found rather than
created, and every movement carries a fixed idempotency key, so a second run changes nothing.
The passwords are printed by ``walletbridge demo`` and listed in the README; they exist for the
demo only.
"""

from __future__ import annotations

from dataclasses import dataclass

from walletbridge.domain.actors import Actor, RecipientKind, Role, SessionId, UserSummary
from walletbridge.domain.identity import ContactTaken, HandleTaken
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.money import Money
from walletbridge.domain.payments import RecipientRef
from walletbridge.domain.wallets import default_configuration
from walletbridge.ports import CurrencyCatalog, TransactionRunner, UnitOfWork
from walletbridge.services.demo import BANKS, DemoBank
from walletbridge.services.identity import IdentityService
from walletbridge.services.payment_plans import TransferOrder
from walletbridge.services.wallets import WalletService


@dataclass(frozen=True, slots=True)
class DemoPerson:
    handle: str
    display_name: str
    email: str
    phone: str
    opening_minor: int
    role: Role = Role.CUSTOMER
    kyc_tier: int = 2
    locale: str = "en"


@dataclass(frozen=True, slots=True)
class DemoBrand:
    display_name: str
    colour: str
    logo_text: str
    locale: str
    host: str
    password: str


BRANDS = {
    "cny-bank": DemoBrand(
        "Lotus Bank", "#c0392b", "LB", "zh-CN", "lotus.localhost", "lotus-demo-2026"
    ),
    "eur-bank": DemoBrand(
        "Harbour Bank", "#1f5f8b", "HB", "en", "harbour.localhost", "harbour-demo-2026"
    ),
}

PEOPLE = {
    "cny-bank": (
        DemoPerson(
            "li.wei", "李伟", "li.wei@lotus.example", "+8613800000001", 5_000_00, locale="zh-CN"
        ),
        DemoPerson(
            "wang.fang",
            "王芳",
            "wang.fang@lotus.example",
            "+8613800000002",
            2_000_00,
            locale="zh-CN",
        ),
        DemoPerson("zhang.min", "Zhang Min", "zhang.min@lotus.example", "+8613800000003", 800_00),
        DemoPerson(
            "ops.lotus",
            "Lotus Operations",
            "ops@lotus.example",
            "+8613800000009",
            0,
            role=Role.OPERATOR,
        ),
    ),
    "eur-bank": (
        DemoPerson("anna", "Anna Schmidt", "anna@harbour.example", "+4915100000001", 1_500_00),
        DemoPerson("ben", "Ben Dubois", "ben@harbour.example", "+33600000002", 600_00),
        DemoPerson("chloe", "Chloé Rossi", "chloe@harbour.example", "+393400000003", 300_00),
        DemoPerson(
            "ops.harbour",
            "Harbour Operations",
            "ops@harbour.example",
            "+4915100000009",
            0,
            role=Role.OPERATOR,
        ),
    ),
}

# (payer, payee, amount in minor units, note), paid in this order with fixed keys.
PAYMENTS = {
    "cny-bank": (
        ("li.wei", "wang.fang", 128_00, "火锅 AA"),
        ("wang.fang", "zhang.min", 45_50, "Coffee beans"),
        ("zhang.min", "li.wei", 300_00, "Concert tickets"),
    ),
    "eur-bank": (
        ("anna", "ben", 42_50, "Dinner on Friday"),
        ("ben", "chloe", 18_00, "Train tickets"),
        ("chloe", "anna", 9_90, "Flowers"),
    ),
}


@dataclass(frozen=True, slots=True)
class SeededPerson:
    tenant_id: TenantId
    person: DemoPerson
    user: UserSummary
    password: str


@dataclass(frozen=True, slots=True)
class PeopleServices:
    runner: TransactionRunner
    identity: IdentityService
    wallets: WalletService
    currencies: CurrencyCatalog


def seed_people(services: PeopleServices) -> list[SeededPerson]:
    """Seed the people of both demo banks (the banks themselves come from ``seed_demo``)."""
    seeded: list[SeededPerson] = []
    for bank in BANKS:
        seeded += _seed_bank(services, bank)
    return seeded


def _seed_bank(services: PeopleServices, bank: DemoBank) -> list[SeededPerson]:
    identity, wallets, currencies = services.identity, services.wallets, services.currencies
    tenant_id = TenantId(bank.tenant_id)
    brand = BRANDS[bank.tenant_id]
    currency = currencies.get(bank.currency)
    identity.set_brand(
        tenant_id,
        display_name=brand.display_name,
        primary_colour=brand.colour,
        logo_text=brand.logo_text,
        default_locale=brand.locale,
    )
    if identity.tenant_for_host(brand.host) is None:
        identity.add_host(tenant_id, brand.host)
    wallets.configure_tenant(tenant_id, default_configuration(currency))
    people = [
        _person(services, tenant_id, person, brand.password) for person in PEOPLE[bank.tenant_id]
    ]
    by_handle = {p.person.handle: p for p in people}
    for p in people:
        if p.person.opening_minor:
            wallets.fund_wallet(
                tenant_id,
                p.user.user_id,
                Money(p.person.opening_minor, currency),
                idempotency_key="demo:opening",
                memo="Opening balance",
            )
    for number, (payer, payee, amount_minor, note) in enumerate(PAYMENTS[bank.tenant_id], 1):
        _pay(
            wallets, by_handle[payer], by_handle[payee], Money(amount_minor, currency), note, number
        )
    return people


def _person(
    services: PeopleServices, tenant_id: TenantId, person: DemoPerson, password: str
) -> SeededPerson:
    try:
        user = services.identity.register_verified(
            tenant_id,
            handle=person.handle,
            display_name=person.display_name,
            password=password,
            email=person.email,
            phone=person.phone,
            role=person.role,
            kyc_tier=person.kyc_tier,
            locale=person.locale,
        )
    except (HandleTaken, ContactTaken):

        def find(uow: UnitOfWork) -> UserSummary | None:
            return uow.identity.recipient(tenant_id, RecipientKind.HANDLE, person.handle)

        found = services.runner.read(find)
        assert found is not None, "a taken handle names a user"
        user = found
    return SeededPerson(tenant_id, person, user, password)


def _pay(
    wallets: WalletService,
    payer: SeededPerson,
    payee: SeededPerson,
    amount: Money,
    note: str,
    number: int,
) -> None:
    actor = Actor(payer.tenant_id, payer.user.user_id, SessionId("demo-seed"))
    to = RecipientRef(RecipientKind.HANDLE, payee.person.handle)
    quote = wallets.payments.quote(actor, to, amount)
    order = TransferOrder(to=to, amount=amount, fee=quote.fee, note=note)
    wallets.payments.transfer(actor, order, f"demo:payment:{number}")
