"""The web app's browser-facing defences: response headers, the session cookie and CSRF.

- Every response gets HSTS (two years), ``nosniff``, a strict referrer policy and
  ``frame-ancestors 'none'``. Web pages also get a Content-Security-Policy that allows scripts
  and styles from this origin only: no inline script, no inline style, no ``eval``. The API's
  Swagger page (third-party, with its own inline script) keeps only the common headers.
- The session is server-side (the ``sessions`` store); the browser holds only a random id in a
  ``__Host-`` cookie that is Secure, HttpOnly and SameSite=Lax. ``rotate_session`` gives the
  session a new id on sign-in and sign-out, so an id planted before sign-in is worthless after.
- CSRF: Litestar's double-submit token on every unsafe request outside ``/api/`` (the API takes
  bearer tokens only, never the session cookie, so it needs no CSRF token).
"""

from __future__ import annotations

from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "__Host-wb-session"
CSRF_COOKIE = "__Host-wb-csrf"
CSRF_FIELD = "_csrf_token"
HSTS = "max-age=63072000; includeSubDomains"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    )
)
API_PREFIX = "/api/"
_ROTATE = "walletbridge.rotate_session"
_NEW_ID = "walletbridge.new_session_id"


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        is_page = not scope["path"].startswith(API_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["Strict-Transport-Security"] = HSTS
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                if is_page:
                    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                    headers["Cross-Origin-Opener-Policy"] = "same-origin"
                    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                else:
                    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give the browser a new session id when this response is sent (the old one is deleted)."""
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if not connection.scope.get(_ROTATE):
            return super().get_session_id(connection)
        new_id = connection.scope.get(_NEW_ID)
        if not isinstance(new_id, str):
            new_id = self.generate_session_id()
            connection.scope[_NEW_ID] = new_id  # type: ignore[literal-required]
        return new_id

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        old_id = connection.cookies.get(self.config.key)
        if connection.scope.get(_ROTATE) and old_id:
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(max_age_seconds: int) -> RotatingSessionConfig:
    return RotatingSessionConfig(
        key=SESSION_COOKIE,
        store="sessions",
        max_age=max_age_seconds,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
        exclude=["^/api/", "^/static/", "^/health", "^/ready", "^/metrics"],
    )


def csrf_config(secret: str) -> CSRFConfig:
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_path="/",
        cookie_secure=True,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=["^/api/"],
    )
