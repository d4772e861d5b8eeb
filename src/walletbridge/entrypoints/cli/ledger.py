"""``walletbridge ledger``: verify, seal and prove the ledger's integrity."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer

from walletbridge.bootstrap import Container
from walletbridge.domain.ledger import Seal
from walletbridge.entrypoints.cli.common import EXIT_FINDINGS, fail, open_container

ledger_app = typer.Typer(
    help="Check the ledger's integrity, seal it and prove entries are in it.",
    no_args_is_help=True,
)


def counts(container: Container) -> tuple[int, int]:
    """Entries and seals, read in one snapshot."""
    entries, seals = container.integrity.summary()
    return entries, len(seals)


def describe(seal: Seal) -> str:
    return (
        f"seal {seal.seal_no}: entries {seal.first_seq}..{seal.last_seq} "
        f"({seal.entry_count}), hash {seal.seal_hash.hex()}"
    )


@ledger_app.command()
def verify() -> None:
    """Check every entry, balance, hold and seal; exit 1 if anything is off."""
    with open_container() as container:
        findings = container.integrity.verify()
        entries, seals = counts(container)
    for finding in findings:
        typer.echo(str(finding))
    summary = f"{entries} entries, {seals} seals, {len(findings)} findings"
    if findings:
        typer.echo(f"ledger NOT verified: {summary}")
        raise typer.Exit(EXIT_FINDINGS)
    typer.echo(f"ledger verified: {summary}")


@ledger_app.command()
def seal() -> None:
    """Seal every entry posted since the last seal."""
    with open_container() as container:
        made = container.integrity.seal()
    for item in made:
        typer.echo(describe(item))
    if not made:
        typer.echo("nothing to seal: every entry is sealed already")


@ledger_app.command()
def prove(
    entry_id: Annotated[str, typer.Argument(help="The entry's id (a UUID).")],
) -> None:
    """Print the inclusion proof of a sealed entry as JSON."""
    try:
        canonical = str(uuid.UUID(entry_id))
    except ValueError:
        raise fail(f"{entry_id!r} is not an entry id (a UUID)") from None
    with open_container() as container:
        proof = container.integrity.prove(canonical)
    typer.echo(json.dumps(proof.to_json_dict(), indent=2))
