"""An operator's change of a customer's KYC tier moves the wallet's balance cap with it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_wallet_api import Bank, bank  # noqa: F401 - the fixture is used by name
from tests.integration.identity_kit import person
from walletbridge.domain.actors import Role
from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import Money


def balance_cap(bank: Bank, who: Any) -> str:  # noqa: F811
    response = bank.call("GET", "/limits", who)
    assert response.status_code == 200, response.text
    (eur,) = [item for item in response.json()["items"] if item["currency"] == "EUR"]
    return str(eur["balance_cap"]["limit"]["amount"])


def test_a_higher_tier_raises_the_cap_the_wallet_enforces(bank: Bank) -> None:  # noqa: F811
    customer = bank.customer()
    operator = person(bank.app, bank.tenant, role=Role.OPERATOR)
    before = balance_cap(bank, customer)
    eur = bank.app.currencies.get("EUR")
    cap_minor = int(before.replace(".", ""))

    # At tier 1 the wallet fills up to its cap and refuses a credit above it...
    bank.app.wallets.fund_wallet(bank.tenant, customer.summary.user_id, Money(cap_minor, eur), "a")
    with pytest.raises(DomainError):
        bank.app.wallets.fund_wallet(bank.tenant, customer.summary.user_id, Money(1_00, eur), "b")
    full = bank.call("GET", "/wallet", customer).json()["accounts"][0]["posted"]["amount"]
    assert full == before

    response = bank.call(
        "PUT", f"/admin/users/{customer.user_id}/kyc-tier", operator, json={"tier": 3}
    )
    assert response.status_code == 200, response.text

    after = balance_cap(bank, customer)
    assert int(after.replace(".", "")) > cap_minor
    # ...and after the promotion the same wallet takes more.
    bank.app.wallets.fund_wallet(bank.tenant, customer.summary.user_id, Money(1_00, eur), "c")
    posted = bank.call("GET", "/wallet", customer).json()["accounts"][0]["posted"]["amount"]
    assert int(posted.replace(".", "")) == cap_minor + 1_00
