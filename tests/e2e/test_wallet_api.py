"""The wallet and P2P API through ``create_app`` and Litestar's test client, on both engines:
quote then pay with an idempotency key and replay it, limits, bad amounts (R-12), requests to
pay, payees, history with CSV export, batches, and the OpenAPI document."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from tests.conftest import FakeClock
from tests.integration.identity_kit import Person, build_on_clock, new_tenant, person
from tests.integration.wallet_people import configuration
from walletbridge.bootstrap import Container
from walletbridge.domain.money import Money
from walletbridge.entrypoints.api.app import create_app

V1 = "/api/v1"


class Bank:
    def __init__(self, app: Container, clock: FakeClock, client: TestClient[Any]) -> None:
        self.app, self.clock, self.client = app, clock, client
        self.tenant = new_tenant(app)
        app.wallets.configure_tenant(self.tenant, configuration())

    def customer(self, funded: str | None = None) -> Person:
        someone = person(self.app, self.tenant)
        if funded:
            whole, cents = funded.split(".")
            self.app.wallets.fund_wallet(
                self.tenant,
                someone.summary.user_id,
                Money(int(whole) * 100 + int(cents), self.app.currencies.get("EUR")),
                secrets.token_hex(6),
            )
        return someone

    def call(
        self,
        method: str,
        path: str,
        who: Person | None,
        *,
        key: str | None = None,
        **kwargs: Any,
    ) -> Any:
        headers = {"X-Tenant-ID": self.tenant}
        if who is not None:
            headers["Authorization"] = f"Bearer {who.token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.request(method, f"{V1}{path}", headers=headers, **kwargs)

    def entries(self) -> int:
        with self.app.engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM entries WHERE tenant_id = :t "
                        "AND idempotency_key LIKE 'p2p:%'"
                    ),
                    {"t": self.tenant},
                ).scalar_one()
            )


@pytest.fixture
def bank(database_url: str, tmp_path: Path) -> Iterator[Bank]:
    app, clock = build_on_clock(database_url, tmp_path)
    with TestClient(app=create_app(app)) as client:
        yield Bank(app, clock, client)
    app.close()


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def test_quote_then_pay_then_replay_gives_the_same_answer_and_one_posting(bank: Bank) -> None:
    alice, bob = bank.customer("100.00"), bank.customer()
    quote = bank.call(
        "POST",
        "/transfers/quotes",
        alice,
        json={"to": {"handle": bob.handle}, "amount": eur("20.00")},
    )
    assert quote.status_code == 200, quote.text
    assert quote.json()["fee"] == eur("0.10")
    order = {"to": {"handle": bob.handle}, "amount": eur("20.00"), "fee": eur("0.10"), "note": "hi"}
    first = bank.call("POST", "/transfers", alice, key="pay-1", json=order)
    again = bank.call("POST", "/transfers", alice, key="pay-1", json=order)
    assert first.status_code == again.status_code == 201, first.text
    assert first.content == again.content
    assert bank.entries() == 1
    other = bank.call("POST", "/transfers", alice, key="pay-1", json={**order, "note": "other"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency-key-reused"
    shown = bank.call("GET", f"/transfers/{first.json()['id']}", bob)
    assert shown.status_code == 200 and shown.json()["direction"] == "in"
    wallet = bank.call("GET", "/wallet", alice)
    assert wallet.headers["cache-control"] == "no-store"
    assert wallet.json()["accounts"][0]["available"] == eur("79.90")
    limits = bank.call("GET", "/limits", alice).json()
    assert limits["items"][0]["daily"]["used"] == eur("20.00")


def test_a_changed_fee_is_a_conflict_naming_the_current_fee(bank: Bank) -> None:
    alice, bob = bank.customer("100.00"), bank.customer()
    order = {"to": {"handle": bob.handle}, "amount": eur("20.00"), "fee": eur("0.00")}
    refused = bank.call("POST", "/transfers", alice, key="f-1", json=order)
    assert refused.status_code == 409
    assert refused.json()["code"] == "fee-changed" and refused.json()["fee"] == "0.10"


@pytest.mark.parametrize(
    ("key", "code"),
    [(None, "idempotency-key-missing"), ("k" * 256, "idempotency-key-invalid")],
)
def test_money_moving_posts_need_a_sound_idempotency_key(
    bank: Bank, key: str | None, code: str
) -> None:
    alice, bob = bank.customer("10.00"), bank.customer()
    order = {"to": {"handle": bob.handle}, "amount": eur("1.00"), "fee": eur("0.01")}
    refused = bank.call("POST", "/transfers", alice, key=key, json=order)
    assert refused.status_code == 400 and refused.json()["code"] == code
    assert bank.entries() == 0


@pytest.mark.parametrize(
    "amount",
    ["0", "-1", "-0.01", "-0", "1e309", "NaN", "Infinity", "0.001", " 1", "1,00", str(10**20)],
)
def test_bad_amounts_are_refused_and_post_nothing(bank: Bank, amount: str) -> None:
    alice, bob = bank.customer("10.00"), bank.customer()
    order = {"to": {"handle": bob.handle}, "amount": eur(amount), "fee": eur("0.01")}
    refused = bank.call("POST", "/transfers", alice, key=f"bad-{amount}", json=order)
    assert refused.status_code in (400, 422), refused.text
    assert bank.entries() == 0


def test_a_number_instead_of_a_decimal_string_is_a_bad_request(bank: Bank) -> None:
    alice, bob = bank.customer("10.00"), bank.customer()
    order = {"to": {"handle": bob.handle}, "amount": {"amount": 1e308, "currency": "EUR"}}
    refused = bank.call("POST", "/transfers/quotes", alice, json=order)
    assert refused.status_code == 400


def test_paying_yourself_and_unknown_fields_are_refused(bank: Bank) -> None:
    alice = bank.customer("10.00")
    order = {"to": {"handle": alice.handle}, "amount": eur("1.00"), "fee": eur("0.01")}
    assert bank.call("POST", "/transfers", alice, key="self", json=order).status_code == 422
    sneaky = {**order, "to": {"handle": "nobody_here"}, "payer_id": "someone"}
    assert bank.call("POST", "/transfers", alice, key="x", json=sneaky).status_code == 400
    ghost = {**order, "to": {"handle": "nobody_here"}}
    missing = bank.call("POST", "/transfers", alice, key="ghost", json=ghost)
    assert missing.status_code == 404 and missing.json()["code"] == "recipient-not-found"


def test_a_payment_over_the_limit_names_the_limit_and_what_remains(bank: Bank) -> None:
    alice, bob = bank.customer("5000.00"), bank.customer()
    order = {"to": {"handle": bob.handle}, "amount": eur("1000.01"), "fee": eur("5.01")}
    refused = bank.call("POST", "/transfers", alice, key="big", json=order)
    assert refused.status_code == 422
    body = refused.json()
    assert (body["code"], body["limit"], body["remaining"], body["currency"]) == (
        "limit-exceeded",
        "per-transaction",
        "1000.00",
        "EUR",
    )
    replay = bank.call("POST", "/transfers", alice, key="big", json=order)
    assert replay.status_code == 422 and replay.json() == body


def test_requests_to_pay_payees_and_history_through_the_api(bank: Bank) -> None:
    alice, bob = bank.customer(), bank.customer("50.00")
    asked = bank.call(
        "POST",
        "/payment-requests",
        alice,
        json={"from": {"handle": bob.handle}, "amount": eur("12.00"), "note": '=HYPERLINK("x")'},
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    incoming = bank.call("GET", "/payment-requests?direction=incoming", bob).json()
    assert [r["id"] for r in incoming["items"]] == [request_id]
    assert bank.call("GET", f"/payment-requests/{request_id}", bank.customer()).status_code == 404
    paid = bank.call(
        "POST", f"/payment-requests/{request_id}/accept", bob, key="acc", json={"fee": eur("0.06")}
    )
    assert paid.status_code == 201, paid.text
    assert bank.call("GET", f"/payment-requests/{request_id}", alice).json()["status"] == "paid"

    payee = bank.call(
        "POST", "/payees", bob, json={"to": {"handle": alice.handle}, "nickname": "Al"}
    )
    assert payee.status_code == 201, payee.text
    payee_id = payee.json()["id"]
    assert bank.call("GET", f"/payees/{payee_id}", alice).status_code == 404
    renamed = bank.call("PATCH", f"/payees/{payee_id}", bob, json={"nickname": "Alice"})
    assert renamed.json()["nickname"] == "Alice"
    assert bank.call("DELETE", f"/payees/{payee_id}", bob).status_code == 204

    history = bank.call("GET", "/transactions?type=request", bob)
    assert history.headers["cache-control"] == "no-store"
    item = history.json()["items"][0]
    assert item["balance_change"] == eur("-12.06")
    assert bank.call("GET", f"/transactions/{item['id']}", bob).json() == item
    assert bank.call("GET", f"/transactions/{item['id']}", alice).status_code == 404
    exported = bank.call("GET", "/transactions/export.csv?since=2000-01-01", bob)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "id"
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
    bad = bank.call("GET", "/transactions?min_amount=1.00", bob)
    assert bad.status_code == 400 and bad.json()["code"] == "filter-invalid"
    # Direction: alice was paid by bob's accepted request; bob only paid.
    paid_to_alice = bank.call("GET", "/transactions?direction=in", alice).json()["items"]
    assert paid_to_alice and all(i["direction"] == "in" for i in paid_to_alice)
    assert all(
        i["direction"] == "out"
        for i in bank.call("GET", "/transactions?direction=out", bob).json()["items"]
    )
    assert bank.call("GET", "/transactions?direction=in&type=request", bob).json()["items"] == []
    assert bank.call("GET", "/transactions?direction=sideways", bob).status_code == 400


def test_a_batch_is_all_or_nothing(bank: Bank) -> None:
    alice = bank.customer("5.00")
    payees = [bank.customer() for _ in range(3)]
    items = [
        {"to": {"handle": p.handle}, "amount": eur("2.00"), "fee": eur("0.01")} for p in payees
    ]
    refused = bank.call("POST", "/transfers/batch", alice, key="b1", json={"items": items})
    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["index"]) == ("batch-item-refused", 2)
    assert bank.entries() == 0
    done = bank.call("POST", "/transfers/batch", alice, key="b2", json={"items": items[:2]})
    assert done.status_code == 201 and len(done.json()["items"]) == 2
    assert bank.entries() == 2


def test_every_wallet_operation_is_documented(bank: Bank) -> None:
    schema = bank.client.get("/api/schema/openapi.json").json()
    wallet_paths = [
        p
        for p in schema["paths"]
        if p.startswith(
            (
                f"{V1}/wallet",
                f"{V1}/limits",
                f"{V1}/transfers",
                f"{V1}/payment-requests",
                f"{V1}/payees",
                f"{V1}/transactions",
            )
        )
    ]
    assert len(wallet_paths) >= 14
    for path in wallet_paths:
        for method, operation in schema["paths"][path].items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert operation.get("summary") and operation.get("description"), (path, method)
            assert operation.get("tags") and operation.get("security"), (path, method)
            assert "401" in operation["responses"], (path, method)
            if method == "post" and path.endswith(("/transfers", "/batch", "/accept")):
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" in names, path
                assert "requestBody" in operation


def test_accounts_and_a_lowered_daily_limit_through_the_api(bank: Bank) -> None:
    alice = bank.customer("10.00")
    home = bank.call("POST", "/wallet/accounts", alice, json={"currency": "EUR"})
    assert home.status_code == 200 and home.json()["available"] == eur("10.00")
    other = bank.call("POST", "/wallet/accounts", alice, json={"currency": "USD"})
    assert other.status_code == 422 and other.json()["code"] == "currency-not-offered"
    lowered = bank.call("PUT", "/limits/daily", alice, json={"amount": eur("5.00")})
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["items"][0]["daily"]["limit"] == eur("5.00")
    raised = bank.call("PUT", "/limits/daily", alice, json={"amount": eur("6.00")})
    assert raised.status_code == 422 and raised.json()["code"] == "limit-raise-refused"
    bob = bank.customer()
    order = {"to": {"handle": bob.handle}, "amount": eur("5.01"), "fee": eur("0.03")}
    refused = bank.call("POST", "/transfers", alice, key="over", json=order)
    assert refused.status_code == 422
    assert (refused.json()["limit"], refused.json()["remaining"]) == ("daily", "5.00")


def test_payment_request_lists_page_through_the_api(bank: Bank) -> None:
    alice, bob = bank.customer(), bank.customer()
    for amount in ("1.00", "2.00", "3.00"):
        made = bank.call(
            "POST",
            "/payment-requests",
            alice,
            json={"from": {"email": bob.email}, "amount": eur(amount)},
        )
        assert made.status_code == 201, made.text
    first = bank.call("GET", "/payment-requests?direction=outgoing&limit=2", alice).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = bank.call(
        "GET", f"/payment-requests?direction=outgoing&limit=2&cursor={first['next_cursor']}", alice
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    bad = bank.call("GET", "/payment-requests?cursor=not-a-cursor", alice)
    assert bad.status_code == 400 and bad.json()["code"] == "filter-invalid"
