"""Liveness, readiness and metrics.

``/health`` answers as long as the process serves HTTP; it touches nothing, so a slow database
never gets a healthy process restarted. ``/ready`` says whether this instance should get traffic:
the database answers and its schema is at the newest Alembic revision this code ships.
"""

from __future__ import annotations

import functools
from http import HTTPStatus
from typing import Any

import structlog
from alembic.config import Config
from alembic.script import ScriptDirectory
from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Connection, inspect, text

from walletbridge.bootstrap import Container
from walletbridge.entrypoints.api.observability import HttpObserver
from walletbridge.entrypoints.api.problems import problem

# Named as a package resource rather than imported: entrypoints reach adapters only through
# bootstrap, and bootstrap offers no schema check yet.
MIGRATIONS = "walletbridge.adapters.db:migrations"
VERSION_TABLE = "alembic_version"
log = structlog.get_logger("walletbridge.api")


@functools.cache
def shipped_heads() -> frozenset[str]:
    """The head revisions of the migrations in this build (they cannot change while running)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_heads(connection: Connection) -> frozenset[str]:
    """The revisions the database is at. Read directly rather than through Alembic's
    ``MigrationContext``, which logs two INFO lines per call: noise on a probe run every few
    seconds. ``alembic_version`` is Alembic's default table, which our env.py keeps."""
    connection.execute(text("SELECT 1"))
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    return frozenset(str(row) for row in rows)


def readiness_problem(container: Container) -> str | None:
    """Why this instance is not ready, or None when it is."""
    try:
        heads = container.runner.read(lambda uow: database_heads(uow.connection))
    except Exception:
        log.warning("readiness: database unreachable", exc_info=True)
        return "The database does not answer."
    if heads != shipped_heads():
        return "The database schema is not at the latest revision; run `walletbridge migrate`."
    return None


def probe_routes(container: Container, observer: HttpObserver) -> list[HTTPRouteHandler]:
    @get("/health", sync_to_thread=False, tags=["operations"])
    def health() -> dict[str, str]:
        """Liveness: the process serves HTTP."""
        return {"status": "ok"}

    @get("/ready", sync_to_thread=True, tags=["operations"])
    def ready() -> Response[dict[str, Any]]:
        """Readiness: the database answers and its schema is current."""
        reason = readiness_problem(container)
        if reason is not None:
            return problem(HTTPStatus.SERVICE_UNAVAILABLE, "not-ready", reason)
        return Response({"status": "ready"})

    @get("/metrics", sync_to_thread=False, media_type=MediaType.TEXT, tags=["operations"])
    def metrics() -> Response[bytes]:
        """Prometheus text exposition."""
        return Response(generate_latest(observer.registry), media_type=CONTENT_TYPE_LATEST)

    return [health, ready, metrics]
