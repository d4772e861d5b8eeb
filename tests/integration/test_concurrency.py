"""Races on PostgreSQL with real concurrent clients: threads, each on its own connection.

QUALITY R-01 (overdraw race), R-02 (bank workload with snapshot reads), R-10 (injected
serialization failures and deadlocks, retried transparently), and same-key, capture and reversal
races. SQLite allows one writer and would prove nothing here.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Book
from walletbridge.bootstrap import Container
from walletbridge.domain import errors
from walletbridge.domain.ledger import AccountKind, EntryDraft, Leg, NewAccount

pytestmark = pytest.mark.postgres

R02_SECONDS = float(os.environ.get("WALLETBRIDGE_R02_SECONDS", "60"))


@pytest.fixture
def pg_book(pg_app: Container) -> Book:
    return Book(pg_app, pg_app.tenants.create(f"c-{secrets.token_hex(6)}", "Race bank", "EUR").id)


def run_together(calls: list[Callable[[], Any]], workers: int) -> Counter[str]:
    """Run every call, ``workers`` at a time, released together; count outcomes by kind."""
    start = threading.Barrier(workers)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    waiting = iter(range(workers))

    def one(call: Callable[[], Any]) -> None:
        if next(waiting, None) is not None:
            start.wait()
        try:
            call()
            kind = "ok"
        except errors.DomainError as error:
            kind = error.code
        except Exception as error:  # a server error: the test fails on it
            kind = f"error:{type(error).__name__}:{error}"
        with lock:
            outcomes[kind] += 1

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, calls))
    return outcomes


def deadlocks(app: Container) -> int:
    with app.engine.connect() as c:
        return int(
            c.execute(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        )


@pytest.mark.parametrize("payees", [1, 1000])
def test_only_ten_of_a_thousand_one_euro_transfers_from_ten_euros_succeed(
    pg_book: Book, payees: int
) -> None:
    payer = pg_book.wallet(1000)
    targets = [pg_book.wallet() for _ in range(payees)]
    calls = [(lambda t=targets[n % payees]: pg_book.send(payer, t, 100)) for n in range(1000)]
    outcomes = run_together(calls, workers=50)
    assert outcomes == Counter({"ok": 10, "insufficient-funds": 990})
    assert pg_book.posted(payer) == 0
    assert sum(pg_book.posted(t) for t in targets) == 1000
    assert pg_book.app.integrity.verify() == []


def test_fifty_concurrent_requests_with_one_key_post_exactly_once(pg_book: Book) -> None:
    payer, payee = pg_book.wallet(1000), pg_book.wallet()
    ids: list[Any] = []
    calls = [lambda: ids.append(pg_book.send(payer, payee, 7, key="same-key").id)] * 50
    outcomes = run_together(calls, workers=50)
    assert outcomes == Counter({"ok": 50})
    assert len(set(ids)) == 1
    assert (pg_book.posted(payer), pg_book.posted(payee)) == (993, 7)


def test_fifty_concurrent_captures_of_one_hold_capture_it_once(pg_book: Book) -> None:
    payer, shop = pg_book.wallet(1000), pg_book.wallet()
    hold = pg_book.app.ledger.reserve(
        pg_book.tenant,
        debit_account_id=payer.id,
        credit_account_id=shop.id,
        amount_minor=600,
        idempotency_key=pg_book.key(),
        expires_in_seconds=600,
    )
    calls = [
        (
            lambda n=n: pg_book.app.ledger.capture(
                pg_book.tenant, hold.id, idempotency_key=f"cap-{n}", amount_minor=100 + n
            )
        )
        for n in range(50)
    ]
    outcomes = run_together(calls, workers=50)
    assert outcomes == Counter({"ok": 1, "hold-already-captured": 49})
    balance = pg_book.app.ledger.balance(pg_book.tenant, payer.id)
    assert balance.pending_minor == 0
    assert balance.posted_minor + pg_book.posted(shop) == 1000


def test_fifty_concurrent_reversals_of_one_entry_reverse_it_once(pg_book: Book) -> None:
    payer, payee = pg_book.wallet(1000), pg_book.wallet()
    entry = pg_book.send(payer, payee, 300)
    calls = [
        (lambda n=n: pg_book.app.ledger.reverse(pg_book.tenant, entry.id, f"rev-{n}"))
        for n in range(50)
    ]
    outcomes = run_together(calls, workers=50)
    assert outcomes == Counter({"ok": 1, "entry-already-reversed": 49})
    assert (pg_book.posted(payer), pg_book.posted(payee)) == (1000, 0)


def test_crossing_multi_leg_entries_never_deadlock(pg_book: Book) -> None:
    wallets = [pg_book.wallet(100_000) for _ in range(4)]
    before = deadlocks(pg_book.app)
    rng = random.Random(3)

    def crossing() -> None:
        a, b, c = rng.sample(wallets, 3)
        pg_book.app.ledger.post_entry(
            EntryDraft(
                pg_book.tenant,
                pg_book.key(),
                legs=(Leg(a.id, "EUR", 2), Leg(b.id, "EUR", -1), Leg(c.id, "EUR", -1)),
            )
        )

    outcomes = run_together([crossing] * 1500, workers=24)
    assert outcomes == Counter({"ok": 1500})
    assert deadlocks(pg_book.app) == before
    assert sum(pg_book.posted(w) for w in wallets) == 400_000


def test_a_hot_account_takes_concurrent_credits_and_debits_without_going_below_its_floor(
    pg_book: Book,
) -> None:
    merchant = pg_book.app.ledger.open_account(
        NewAccount(pg_book.tenant, "EUR", AccountKind.LIABILITY, shard_count=8)
    )
    payers = [pg_book.wallet(1000) for _ in range(8)]
    payout = pg_book.wallet()
    calls: list[Callable[[], Any]] = [
        (lambda p=p: pg_book.send(p, merchant, 10)) for p in payers for _ in range(50)
    ]
    calls += [lambda: pg_book.send(merchant, payout, 15) for _ in range(300)]
    random.Random(5).shuffle(calls)
    outcomes = run_together(calls, workers=32)
    assert set(outcomes) <= {"ok", "insufficient-funds"}
    assert pg_book.posted(merchant) >= 0
    assert pg_book.posted(merchant) + pg_book.posted(payout) == 4000
    assert pg_book.app.integrity.verify() == []


def bank_workload(book: Book, seconds: float, clients: int = 20) -> dict[str, int]:
    """Jepsen-style: 8 accounts holding 100.00 in all; transfers of 1.00-5.00 between distinct
    accounts mixed with snapshot reads of every balance."""
    bank = [book.wallet() for _ in range(8)]
    for account in bank:
        book.send(book.bank, account, 1250)
    ids = [a.id for a in bank]
    stop = time.monotonic() + seconds
    tallies: Counter[str] = Counter()
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        local: Counter[str] = Counter()
        while time.monotonic() < stop:
            if rng.random() < 0.5:
                balances = book.app.ledger.balances(book.tenant, ids)
                local["reads"] += 1
                if len(balances) != 8:
                    local["unknown_accounts"] += 1
                if sum(b.posted_minor for b in balances) != 10_000:
                    local["wrong_totals"] += 1
                local["negative"] += sum(1 for b in balances if b.posted_minor < 0)
            else:
                a, b = rng.sample(bank, 2)
                try:
                    book.send(a, b, rng.randint(1, 5) * 100)
                    local["transfers"] += 1
                except errors.InsufficientFunds:
                    local["refused"] += 1
                except Exception:
                    local["server_errors"] += 1
        with lock:
            tallies.update(local)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(tallies)


def test_the_bank_workload_never_shows_a_wrong_total(pg_book: Book) -> None:
    tallies = bank_workload(pg_book, R02_SECONDS)
    assert tallies.get("wrong_totals", 0) == 0
    assert tallies.get("negative", 0) == 0
    assert tallies.get("unknown_accounts", 0) == 0
    assert tallies.get("server_errors", 0) == 0
    assert tallies["reads"] >= (10_000 if R02_SECONDS >= 60 else 1000)
    assert tallies["transfers"] > 0


@pytest.fixture
def injected_faults(pg_app: Container) -> Iterator[None]:
    """The server aborts 10 % of ledger writes with 40001 or 40P01, as a busy distributed
    engine would; the trigger fires on the entry row, in the middle of the pipeline."""
    with pg_app.engine.connect() as c:
        c.begin()
        # A sequence counts the faults: it is not rolled back with the failed transaction.
        c.execute(text("CREATE SEQUENCE wb_test_faults"))
        c.execute(
            text(
                "CREATE FUNCTION wb_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "DECLARE roll float8 := random(); BEGIN "
                "IF roll < 0.05 THEN PERFORM nextval('wb_test_faults'); "
                "RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; "
                "ELSIF roll < 0.10 THEN PERFORM nextval('wb_test_faults'); "
                "RAISE EXCEPTION 'injected' USING ERRCODE = '40P01'; END IF; RETURN NEW; END $$"
            )
        )
        c.execute(
            text(
                "CREATE TRIGGER wb_test_fault BEFORE INSERT ON entries "
                "FOR EACH ROW EXECUTE FUNCTION wb_test_fault()"
            )
        )
        c.commit()
    try:
        yield
    finally:
        with pg_app.engine.connect() as c:
            c.begin()
            c.execute(text("DROP TRIGGER wb_test_fault ON entries"))
            c.execute(text("DROP FUNCTION wb_test_fault()"))
            c.execute(text("DROP SEQUENCE wb_test_faults"))
            c.commit()


@pytest.mark.usefixtures("injected_faults")
def test_injected_serialization_failures_are_retried_without_a_single_error(
    pg_book: Book,
) -> None:
    payer = pg_book.wallet(1000)
    payee = pg_book.wallet()
    outcomes = run_together([lambda: pg_book.send(payer, payee, 100)] * 1000, workers=50)
    assert outcomes == Counter({"ok": 10, "insufficient-funds": 990})
    tallies = bank_workload(pg_book, min(R02_SECONDS, 15))
    assert tallies.get("server_errors", 0) == 0
    assert tallies.get("wrong_totals", 0) == 0
    assert pg_book.app.integrity.verify() == []
    with pg_book.app.engine.connect() as c:
        injected = c.execute(text("SELECT last_value FROM wb_test_faults")).scalar_one()
    assert injected > 50


def test_connections_killed_by_the_server_are_replaced_and_nothing_posts_twice(
    pg_book: Book,
) -> None:
    payer, payee = pg_book.wallet(10_000), pg_book.wallet()
    admin_url = pg_book.app.engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    import psycopg

    stop = threading.Event()

    def killer() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            while not stop.is_set():
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND application_name <> 'keep'"
                )
                time.sleep(0.2)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        keys = [f"killed-{n}" for n in range(200)]
        outcomes = run_together(
            [(lambda k=k: pg_book.send(payer, payee, 1, key=k)) for k in keys], 8
        )
    finally:
        stop.set()
        thread.join()
    assert outcomes == Counter({"ok": 200})
    assert (pg_book.posted(payer), pg_book.posted(payee)) == (9_800, 200)
