"""Request ids, Prometheus metrics and the access log.

Two pieces, because Litestar runs middleware only for requests that matched a route:

* ``RequestStart`` (middleware) notes when a matched request began and binds its request id to
  structlog's context, so log lines written while handling it carry the id;
* ``HttpObserver.before_send`` (an app-level hook, which sees every response, including 404s for
  unknown paths) stamps ``X-Request-ID``, counts the response and writes one access-log line.

Metrics are labelled by route *template* (``/accounts/{account_id:uuid}``), never by raw path, so
ids in URLs cannot blow up the number of series. The access log carries method, route template,
status, duration and request id: no client address, query string or body, which is where
personal data would be.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_STARTED = "walletbridge.started"
_REQUEST_ID = "walletbridge.request_id"
_STATUS = "walletbridge.status"
UNMATCHED_ROUTE = "<unmatched>"

access_log = structlog.get_logger("walletbridge.access")


def request_id_of(scope: Scope) -> str:
    """The client's request id when it is short and plain, else a fresh uuid4."""
    state: dict[str, Any] = scope.setdefault("state", {})
    known = state.get(_REQUEST_ID)
    if known is not None:
        return str(known)
    sent = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
    text = sent.decode("latin-1")
    chosen = text if _SANE_REQUEST_ID.fullmatch(text) else str(uuid.uuid4())
    state[_REQUEST_ID] = chosen
    return chosen


class RequestStart(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["state"][_STARTED] = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id_of(scope)):
            await next_app(scope, receive, send)


class HttpObserver:
    """Per-app metrics in a registry of their own, so several apps in one process never clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "walletbridge_http_requests",
            "HTTP responses sent, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "walletbridge_http_request_duration_seconds",
            "Time from routing a request to its last response byte, by route template.",
            ["method", "route"],
            registry=self.registry,
        )

    async def before_send(self, message: Message, scope: Scope) -> None:
        if scope["type"] != ScopeType.HTTP:
            return
        if message["type"] == "http.response.start":
            MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id_of(scope)
            scope["state"][_STATUS] = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self._finish(scope)

    def _finish(self, scope: Scope) -> None:
        state = scope["state"]
        method = scope.get("method", "")
        route = scope.get("path_template") or UNMATCHED_ROUTE
        status = int(state.get(_STATUS, 0))
        self.requests.labels(method, route, str(status)).inc()
        fields: dict[str, Any] = {"method": method, "route": route, "status": status}
        started = state.get(_STARTED)
        # Unmatched paths never reach the middleware that notes the start; there is nothing
        # worth timing there, so they are counted but not timed.
        if started is not None:
            duration = time.perf_counter() - started
            self.latency.labels(method, route).observe(duration)
            fields["duration_ms"] = round(duration * 1000, 2)
        access_log.info("http.request", request_id=state.get(_REQUEST_ID), **fields)
