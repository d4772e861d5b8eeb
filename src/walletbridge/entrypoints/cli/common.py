"""What every command shares: settings, a container that is closed afterwards, and errors
printed as one line on stderr instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from walletbridge.bootstrap import Container, build
from walletbridge.config import Settings
from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import MoneyError
from walletbridge.entrypoints.log_config import configure_logging

EXIT_FINDINGS = 1
"""The command ran and found something wrong (``ledger verify``), or its surroundings did:
the database failed, the port is taken."""
EXIT_REFUSED = 2
"""The request itself was refused: a bad argument or a domain rule."""

console = Console(highlight=False)


def load_settings() -> Settings:
    settings = Settings()
    configure_logging(settings)
    return settings


def fail(message: str, code: int = EXIT_REFUSED) -> typer.Exit:
    """Print ``error: message`` to stderr; ``raise fail(...)`` ends the command with ``code``."""
    # typer.echo, not rich: a message may contain brackets that rich would read as markup.
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def open_container(settings: Settings | None = None) -> Iterator[Container]:
    """A container for one command, closed at the end; refusals become one-line errors."""
    container = build(settings or load_settings())
    try:
        yield container
    except (DomainError, MoneyError) as error:
        raise fail(error.message) from None
    except DBAPIError as error:
        first_line = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
        raise fail(f"database: {first_line}", EXIT_FINDINGS) from None
    finally:
        container.close()
