"""The ``walletbridge`` command end to end, on a fresh SQLite database per test."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from walletbridge.bootstrap import build
from walletbridge.config import Environment, Settings
from walletbridge.domain.identity import Channel
from walletbridge.domain.merkle import InclusionProof, check_proof
from walletbridge.entrypoints.cli.main import app
from walletbridge.services.demo import DemoLedger, seed_demo

VERIFIED = re.compile(r"ledger verified: (\d+) entries, (\d+) seals, 0 findings")


class Cli:
    """Runs ``walletbridge`` in-process against this test's own database."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "walletbridge.sqlite3"
        self.var_dir = tmp_path
        self.env = {
            "WALLETBRIDGE_DATABASE_URL": f"sqlite:///{self.db}",
            "WALLETBRIDGE_VAR_DIR": str(tmp_path),
            "WALLETBRIDGE_ENVIRONMENT": "test",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result

    def settings(self) -> Settings:
        """The same database, for arranging a test through the services."""
        return Settings(
            environment=Environment.TEST, database_url=f"sqlite:///{self.db}", var_dir=self.var_dir
        )

    def demo_ledger(self) -> DemoLedger:
        """The demo's entries, by seeding again: a replay, so it changes nothing."""
        container = build(self.settings())
        try:
            return seed_demo(container)
        finally:
            container.close()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    cli("demo")
    return cli


def test_migrate_then_demo_twice_changes_nothing(cli: Cli) -> None:
    assert "newest revision" in cli("migrate").stdout
    first = cli("demo").stdout
    second = cli("demo").stdout

    assert first == second
    for text in ("cny-bank", "eur-bank", "wallet:alice:EUR", "fees:CNY", "164.60", "15.00"):
        assert text in first
    match = VERIFIED.search(cli("ledger", "verify").stdout)
    assert match is not None
    assert match.groups() == ("26", "2")  # the ledger showcase, then the people's payments


def test_seal_verify_and_prove_a_real_entry(seeded: Cli) -> None:
    assert "nothing to seal" in seeded("ledger", "seal").stdout
    assert VERIFIED.search(seeded("ledger", "verify").stdout)
    entry = seeded.demo_ledger().entries[3]

    result = seeded("ledger", "prove", str(entry.id))

    data = json.loads(result.stdout)
    assert data["entry"]["entry_id"] == str(entry.id)
    assert check_proof(InclusionProof.from_json_dict(data)) == []


def test_seal_prints_the_seals_it_makes(seeded: Cli) -> None:
    container = build(seeded.settings())
    try:
        demo = seed_demo(container).tenant("eur-bank")
        container.ledger.transfer(
            demo.tenant.id,
            debit_account_id=demo.wallet("bob").id,
            credit_account_id=demo.wallet("alice").id,
            amount_minor=1_00,
            idempotency_key="test:after-seal",
        )
    finally:
        container.close()

    assert re.search(
        r"seal 3: entries 27\.\.27 \(1\), hash [0-9a-f]{64}", seeded("ledger", "seal").stdout
    )


@pytest.mark.parametrize(
    ("entry_id", "message"),
    [
        (str(uuid.UUID(int=0)), "does not exist"),
        ("not-an-id", "is not an entry id"),
    ],
)
def test_prove_refuses_unknown_or_malformed_ids(seeded: Cli, entry_id: str, message: str) -> None:
    result = seeded("ledger", "prove", entry_id, code=2)

    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_prove_refuses_an_unsealed_entry(seeded: Cli) -> None:
    container = build(seeded.settings())
    try:
        demo = seed_demo(container).tenant("cny-bank")
        entry = container.ledger.transfer(
            demo.tenant.id,
            debit_account_id=demo.wallet("alice").id,
            credit_account_id=demo.wallet("bob").id,
            amount_minor=5_00,
            idempotency_key="test:unsealed",
        )
    finally:
        container.close()

    result = seeded("ledger", "prove", str(entry.id), code=2)

    assert "is not sealed yet" in result.stderr


def test_verify_names_a_tampered_posting(seeded: Cli) -> None:
    with sqlite3.connect(seeded.db) as raw:
        # The immutability trigger refuses UPDATE on postings; an attacker with the file drops it.
        raw.execute("DROP TRIGGER postings_no_update")
        raw.execute(
            "UPDATE postings SET amount_minor = amount_minor + 100 "
            "WHERE rowid = (SELECT min(rowid) FROM postings)"
        )
    raw.close()

    result = seeded("ledger", "verify", code=1)

    assert "ledger NOT verified" in result.stdout
    for check in ("entry-balance", "balance", "seal-root"):
        assert re.search(rf"^{check}: ", result.stdout, re.MULTILINE), check


def test_commands_on_an_unmigrated_database_fail_in_one_line(cli: Cli) -> None:
    result = cli("ledger", "verify", code=1)

    assert result.stderr.startswith("error: database: no such table")
    assert "Traceback" not in result.output


def test_mailbox_shows_the_verification_code_the_worker_delivered(cli: Cli) -> None:
    cli("migrate")
    container = build(cli.settings())
    try:
        tenant = container.tenants.create("mail-bank", "Mail Bank", "EUR").id
        container.identity.start_signup(tenant, Channel.EMAIL, "Someone@Example.com")
        assert "nothing delivered" in cli("mailbox", "someone@example.com").output
        assert container.notifications.deliver_pending() == 1
    finally:
        container.close()

    shown = cli("mailbox", "someone@example.com").output
    assert re.search(r"verification code is \d{6}", shown)
