"""The web app's browser-facing defences: response headers, the session cookie and CSRF.

- Every response (``add_security_headers``, a ``before_send`` hook) gets HSTS (two years),
  ``nosniff``, a strict referrer policy and ``frame-ancestors 'none'``. Web pages also get a
  Content-Security-Policy that allows scripts and styles from this origin only: no inline
  script, no inline style, no ``eval``. The API's Swagger page (third-party, with its own inline
  script) keeps only the common headers.
- The session is server-side (the ``sessions`` store); the browser holds only a random id in a
  ``__Host-`` cookie that is Secure, HttpOnly and SameSite=Lax. ``rotate_session`` gives the
  session a new id on sign-in and sign-out, so an id planted before sign-in is worthless after.
- CSRF: Litestar's double-submit token on every unsafe request outside ``/api/`` (the API takes
  bearer tokens only, never the session cookie, so it needs no CSRF token).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.types import Message, Scope

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
NONCE_BYTES = 12


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: Litestar runs it for every response, including those made before
    any route matched (a missing page, a refused CSRF token), which middleware would miss."""
    if scope["type"] != ScopeType.HTTP or message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["Strict-Transport-Security"] = HSTS
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    if scope["path"].startswith(API_PREFIX):
        if "content-security-policy" not in headers:
            headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        return
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give the browser a new session id when this response is sent (the old one is deleted)."""
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    """Server-side sessions whose id can be rotated, kept sealed in the store.

    The store never sees a session id or a session in the clear: the key is an HMAC of the id,
    and the data is AES-GCM-encrypted under a key derived from the id and the deployment secret.
    Someone who reads the database (or a backup) finds neither a cookie to replay nor the
    identity token a signed-in session holds; without the cookie, a row is noise.
    """

    config: RotatingSessionConfig

    def _derived(self, purpose: bytes, session_id: str) -> bytes:
        return hmac.new(
            self.config.sealing_secret, purpose + session_id.encode(), "sha256"
        ).digest()

    def _storage_key(self, session_id: str) -> str:
        return self._derived(b"session-key:", session_id).hex()

    async def get(self, session_id: str, store: Store) -> bytes | None:
        key = self._storage_key(session_id)
        sealed = await super().get(key, store)
        if sealed is None or len(sealed) < NONCE_BYTES:
            return None
        cipher = AESGCM(self._derived(b"session-data:", session_id))
        try:
            return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key.encode())
        except InvalidTag:
            return None

    async def set(self, session_id: str, data: bytes, store: Store) -> None:
        key = self._storage_key(session_id)
        nonce = os.urandom(NONCE_BYTES)
        cipher = AESGCM(self._derived(b"session-data:", session_id))
        await super().set(key, nonce + cipher.encrypt(nonce, data, key.encode()), store)

    async def delete(self, session_id: str, store: Store) -> None:
        await super().delete(self._storage_key(session_id), store)

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


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
    sealing_secret: bytes = b""
    """Derived from the deployment secret; keys and seals the sessions in the store."""


def session_config(max_age_seconds: int, secret: str) -> RotatingSessionConfig:
    assert secret, "sessions are sealed under the deployment secret"
    return RotatingSessionConfig(
        key=SESSION_COOKIE,
        store="sessions",
        max_age=max_age_seconds,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
        exclude=["^/api/", "^/static/", "^/health", "^/ready", "^/metrics"],
        sealing_secret=hashlib.sha256(b"walletbridge web sessions\0" + secret.encode()).digest(),
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
