"""Alembic environment: runs on the connection handed over by ``walletbridge.adapters.db.migrate``
or on ``sqlalchemy.url``; batch mode on SQLite so ALTERs work there too."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from walletbridge.adapters.db.engine import make_engine
from walletbridge.adapters.db.tables import metadata


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave the job queue's own tables (huey_*) out of autogenerate's comparison."""
    return not (type_ == "table" and reflected and name is not None and name.startswith("huey"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as fresh:
        _run(fresh)
    engine.dispose()
