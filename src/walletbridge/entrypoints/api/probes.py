"""Liveness, readiness and metrics.

``/health`` answers as long as the process serves HTTP; it touches nothing, so a slow database
never gets a healthy process restarted. ``/ready`` says whether this instance should get traffic:
the database answers and its schema is at the newest Alembic revision this code ships.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from walletbridge.bootstrap import Container
from walletbridge.entrypoints.api.observability import HttpObserver
from walletbridge.entrypoints.api.problems import problem

log = structlog.get_logger("walletbridge.api")


def readiness_problem(container: Container) -> str | None:
    """Why this instance is not ready, or None when it is."""
    try:
        current = container.schema_is_current()
    except Exception:
        log.warning("readiness: database unreachable", exc_info=True)
        return "The database does not answer."
    if not current:
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
