"""Accounting stories, told against the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.conftest import Book
from walletbridge.bootstrap import Container
from walletbridge.domain import errors
from walletbridge.domain.ledger import (
    AccountKind,
    EntryDraft,
    Leg,
    NewAccount,
    TenantId,
)


def test_a_transfer_moves_money_from_payer_to_payee(book: Book) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    entry = book.send(alice, bob, 250)
    assert (book.posted(alice), book.posted(bob)) == (750, 250)
    assert sorted(p.amount_minor for p in entry.postings) == [-250, 250]


def test_the_same_key_and_request_returns_the_original_entry_and_posts_once(book: Book) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    first = book.send(alice, bob, 100, key="pay-1")
    replays = [book.send(alice, bob, 100, key="pay-1") for _ in range(5)]
    assert {r.id for r in replays} == {first.id}
    assert book.posted(alice) == 900


def test_the_same_key_with_a_different_request_is_a_conflict_and_changes_nothing(
    book: Book,
) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    book.send(alice, bob, 100, key="pay-1")
    with pytest.raises(errors.IdempotencyConflict):
        book.send(alice, bob, 101, key="pay-1")
    assert book.posted(alice) == 900


def test_a_replay_is_answered_even_when_the_balance_would_now_refuse_it(book: Book) -> None:
    alice, bob = book.wallet(100), book.wallet()
    first = book.send(alice, bob, 100, key="drain")
    assert book.send(alice, bob, 100, key="drain").id == first.id


def test_a_payment_beyond_the_available_balance_is_refused_and_changes_nothing(
    book: Book,
) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    with pytest.raises(errors.InsufficientFunds) as refused:
        book.send(alice, bob, 1001)
    assert refused.value.fields["account_id"] == str(alice.id)
    assert (book.posted(alice), book.posted(bob)) == (1000, 0)


def test_an_overdraft_allowance_lets_the_balance_go_down_to_the_negative_floor(
    book: Book,
) -> None:
    alice, bob = book.wallet(100, floor_minor=-500), book.wallet()
    book.send(alice, bob, 600)
    assert book.app.ledger.balance(book.tenant, alice.id).available_minor == 0
    with pytest.raises(errors.InsufficientFunds):
        book.send(alice, bob, 1)


def test_a_balance_cap_refuses_the_credit_that_would_exceed_it(book: Book) -> None:
    alice, capped = book.wallet(10_000), book.wallet(ceiling_minor=5_000)
    book.send(alice, capped, 5_000)
    with pytest.raises(errors.CeilingExceeded):
        book.send(alice, capped, 1)
    assert book.posted(capped) == 5_000


def test_raising_a_cap_takes_effect_and_lowering_below_the_balance_is_refused(
    book: Book,
) -> None:
    alice, capped = book.wallet(10_000), book.wallet(ceiling_minor=100)
    book.app.ledger.set_limits(book.tenant, capped.id, 0, 1000)
    book.send(alice, capped, 1000)
    with pytest.raises(errors.CeilingExceeded):
        book.app.ledger.set_limits(book.tenant, capped.id, 0, 999)


def test_a_hold_reduces_what_every_other_movement_can_spend(book: Book) -> None:
    alice, bob, shop = book.wallet(1000), book.wallet(), book.wallet()
    book.app.ledger.reserve(
        book.tenant,
        debit_account_id=alice.id,
        credit_account_id=shop.id,
        amount_minor=700,
        idempotency_key=book.key(),
        expires_in_seconds=60,
    )
    balance = book.app.ledger.balance(book.tenant, alice.id)
    assert (balance.posted_minor, balance.pending_minor, balance.available_minor) == (
        1000,
        700,
        300,
    )
    with pytest.raises(errors.InsufficientFunds):
        book.send(alice, bob, 301)
    book.send(alice, bob, 300)


def test_a_partial_capture_moves_the_captured_part_and_releases_the_rest(book: Book) -> None:
    alice, shop = book.wallet(1000), book.wallet()
    hold = book.app.ledger.reserve(
        book.tenant,
        debit_account_id=alice.id,
        credit_account_id=shop.id,
        amount_minor=700,
        idempotency_key=book.key(),
        expires_in_seconds=60,
    )
    book.app.ledger.capture(book.tenant, hold.id, idempotency_key=book.key(), amount_minor=250)
    balance = book.app.ledger.balance(book.tenant, alice.id)
    assert (balance.posted_minor, balance.pending_minor) == (750, 0)
    assert book.posted(shop) == 250


def test_a_reversal_restores_both_sides_and_happens_once(book: Book) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    entry = book.send(alice, bob, 400)
    book.app.ledger.reverse(book.tenant, entry.id, book.key())
    assert (book.posted(alice), book.posted(bob)) == (1000, 0)
    with pytest.raises(errors.EntryAlreadyReversed):
        book.app.ledger.reverse(book.tenant, entry.id, book.key())


def test_a_reversal_cannot_itself_be_reversed(book: Book) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    reversal = book.app.ledger.reverse(book.tenant, book.send(alice, bob, 1).id, book.key())
    with pytest.raises(errors.ReversalOfReversal):
        book.app.ledger.reverse(book.tenant, reversal.id, book.key())


def test_a_reversal_that_would_overdraw_the_payee_is_refused(book: Book) -> None:
    alice, bob, carol = book.wallet(1000), book.wallet(), book.wallet()
    entry = book.send(alice, bob, 400)
    book.send(bob, carol, 400)
    with pytest.raises(errors.InsufficientFunds):
        book.app.ledger.reverse(book.tenant, entry.id, book.key())


def test_a_three_leg_entry_with_a_fee_balances_and_lands_on_a_sharded_fee_account(
    book: Book,
) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    fees = book.app.ledger.open_account(
        NewAccount(book.tenant, "EUR", AccountKind.REVENUE, shard_count=8)
    )
    for _ in range(20):
        book.app.ledger.post_entry(
            EntryDraft(
                tenant_id=book.tenant,
                idempotency_key=book.key(),
                legs=(
                    Leg(alice.id, "EUR", 10),
                    Leg(bob.id, "EUR", -9),
                    Leg(fees.id, "EUR", -1),
                ),
            )
        )
    assert (book.posted(alice), book.posted(bob), book.posted(fees)) == (800, 180, 20)


def test_a_sharded_account_pays_out_only_what_all_its_shards_hold(book: Book) -> None:
    merchant = book.app.ledger.open_account(
        NewAccount(book.tenant, "EUR", AccountKind.LIABILITY, shard_count=4)
    )
    payer = book.wallet(1000)
    for _ in range(10):
        book.send(payer, merchant, 25)
    payout = book.wallet()
    book.send(merchant, payout, 240)
    with pytest.raises(errors.InsufficientFunds):
        book.send(merchant, payout, 11)
    book.send(merchant, payout, 10)
    assert book.posted(merchant) == 0


def test_a_sharded_account_cannot_be_held_against(book: Book) -> None:
    merchant = book.app.ledger.open_account(
        NewAccount(book.tenant, "EUR", AccountKind.LIABILITY, shard_count=2)
    )
    with pytest.raises(errors.HoldOnShardedAccount):
        book.app.ledger.reserve(
            book.tenant,
            debit_account_id=merchant.id,
            credit_account_id=book.wallet().id,
            amount_minor=1,
            idempotency_key=book.key(),
            expires_in_seconds=60,
        )


def test_the_balance_at_a_past_moment_counts_only_earlier_postings(book: Book) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    first = book.send(alice, bob, 100)
    book.send(alice, bob, 200)
    ledger = book.app.ledger
    assert ledger.balance_at(book.tenant, bob.id, first.posted_at_us) == 100
    assert ledger.balance_at(book.tenant, bob.id, first.posted_at_us - 1) == 0
    assert ledger.balance_at(book.tenant, bob.id, 2**62) == 300


def test_history_pages_through_every_posting_newest_first_without_repeats(book: Book) -> None:
    alice, bob = book.wallet(10_000), book.wallet()
    sent = [book.send(alice, bob, n).id for n in range(1, 24)]
    seen: list[Any] = []
    cursor = None
    while True:
        page = book.app.ledger.history(book.tenant, bob.id, limit=5, cursor=cursor)
        seen.extend(p.entry_id for p in page.postings)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(sent))


def test_a_cursor_this_ledger_did_not_issue_is_refused(book: Book) -> None:
    with pytest.raises(errors.InvalidEntry):
        book.app.ledger.history(book.tenant, book.wallet().id, cursor="garbage")


@pytest.mark.parametrize("amount", [0, -1, -100, 10**20, 2**63])
def test_a_non_positive_or_huge_amount_is_refused_and_posts_nothing(
    book: Book, amount: int
) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    with pytest.raises(errors.InvalidEntry):
        book.send(alice, bob, amount)
    assert (book.posted(alice), book.posted(bob)) == (1000, 0)


@pytest.mark.parametrize("amount", [1.0, True, "100"])
def test_an_amount_that_is_not_an_integer_is_refused(book: Book, amount: Any) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    with pytest.raises(errors.InvalidEntry):
        book.send(alice, bob, amount)
    assert book.posted(alice) == 1000


def test_a_self_transfer_is_refused(book: Book) -> None:
    alice = book.wallet(1000)
    with pytest.raises(errors.SelfTransfer):
        book.send(alice, alice, 1)


def test_an_unbalanced_entry_is_refused_before_it_reaches_the_database(book: Book) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    with pytest.raises(errors.UnbalancedEntry):
        book.app.ledger.post_entry(
            EntryDraft(
                book.tenant,
                book.key(),
                legs=(Leg(alice.id, "EUR", 10), Leg(bob.id, "EUR", -9)),
            )
        )


def test_moving_between_currencies_in_one_transfer_is_refused(book: Book) -> None:
    euros = book.wallet(1000)
    yen = book.app.ledger.open_account(NewAccount(book.tenant, "JPY", AccountKind.LIABILITY))
    with pytest.raises(errors.InvalidEntry):
        book.send(euros, yen, 1)
    with pytest.raises(errors.AccountCurrencyMismatch):
        book.app.ledger.post_entry(
            EntryDraft(
                book.tenant, book.key(), legs=(Leg(euros.id, "JPY", 1), Leg(yen.id, "JPY", -1))
            )
        )


def test_an_account_of_another_tenant_is_not_found(app: Container, book: Book) -> None:
    other = Book(app, app.tenants.create(f"o-{secrets.token_hex(5)}", "Other", "EUR").id)
    theirs = other.wallet(500)
    with pytest.raises(errors.AccountNotFound):
        book.send(book.wallet(1000), theirs, 1)
    with pytest.raises(errors.AccountNotFound):
        app.ledger.balance(book.tenant, theirs.id)


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\tkey"])
def test_an_idempotency_key_must_be_1_to_255_printable_ascii_characters(
    book: Book, key: str
) -> None:
    with pytest.raises(errors.InvalidEntry):
        book.send(book.wallet(1000), book.wallet(), 1, key=key)


def test_a_255_character_key_is_accepted(book: Book) -> None:
    book.send(book.wallet(1000), book.wallet(), 1, key="k" * 255)


def test_an_untouched_ledger_verifies_clean_after_sealing(app: Container, book: Book) -> None:
    alice, bob = book.wallet(1000), book.wallet()
    entry = book.send(alice, bob, 10)
    assert app.integrity.seal()
    assert app.integrity.verify() == []
    from walletbridge.domain.merkle import check_proof

    assert check_proof(app.integrity.prove(str(entry.id))) == []


def test_an_unsealed_entry_has_no_proof_yet(app: Container, tenant: TenantId) -> None:
    book = Book(app, tenant)
    app.integrity.seal()
    entry = book.send(book.wallet(10), book.wallet(), 1)
    with pytest.raises(errors.EntryNotSealed):
        app.integrity.prove(str(entry.id))
    with pytest.raises(errors.EntryNotFound):
        app.integrity.prove("01a20830-0000-7000-8000-000000000000")


def test_accounts_opened_together_are_opened_all_or_none(app: Container, tenant: TenantId) -> None:
    ledger = app.ledger
    ledger.open_account(NewAccount(tenant, "EUR", AccountKind.LIABILITY, code="taken"))
    fresh = NewAccount(tenant, "EUR", AccountKind.LIABILITY, code="fresh")
    clash = NewAccount(tenant, "EUR", AccountKind.LIABILITY, code="taken")
    with pytest.raises(errors.InvalidAccount, match="already in use"):
        ledger.open_accounts([fresh, clash])
    assert ledger.account_by_code(tenant, "fresh") is None
    opened = ledger.open_accounts([fresh, NewAccount(tenant, "JPY", AccountKind.ASSET)])
    assert ledger.account_by_code(tenant, "fresh") == opened[0]
