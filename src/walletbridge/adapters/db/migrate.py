"""Run Alembic migrations programmatically (``walletbridge migrate``, tests, ``make run``)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.connect() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.connect() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


@functools.cache
def shipped_heads() -> frozenset[str]:
    """The head revisions of the migrations in this build (they cannot change while running)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_heads(connection: Connection) -> frozenset[str]:
    """The revisions the database is at, read directly: Alembic's ``MigrationContext`` logs two
    INFO lines per call, noise on a readiness probe run every few seconds."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    return frozenset(str(row) for row in rows)


def schema_is_current(engine: Engine) -> bool:
    """True when the database answers and is at the migrations' head."""
    with engine.connect() as connection:
        return database_heads(connection) == shipped_heads()
