"""Who is calling: tenant resolution, bearer tokens and browser sessions, turned into an ``Actor``.

``auth_dependencies`` gives the Litestar dependencies every controller uses: ``tenant`` (the
resolved ``Tenant``), ``context`` (a ``RequestContext``) and ``actor`` (the authenticated
``Actor``; asking for it on a route makes the route require authentication).

The tenant comes from the ``X-Tenant-ID`` header (API clients) or else from the request's host
name as mapped by ``IdentityService.add_host``; neither → 404 ``tenant-not-found``. The actor
comes from ``Authorization: Bearer <token>`` (never from the web app's session cookie). A token
of another tenant is not valid here. Resolved tenants are cached for a few seconds per process:
they change rarely, and every request needs one.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, RequestContext
from walletbridge.domain.errors import TenantNotFound
from walletbridge.domain.identity import AuthenticationRequired, normalise_host
from walletbridge.domain.tenants import Tenant
from walletbridge.entrypoints.api.observability import request_id_of
from walletbridge.entrypoints.api.platform import remember_caller

TENANT_CACHE_SECONDS = 10.0

TenantHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-Tenant-ID",
        description="The tenant (white-label programme); browsers are resolved by host name.",
        max_length=40,
        required=False,
    ),
]


class TenantResolver:
    def __init__(self, container: Container) -> None:
        self._container = container
        self._cache: dict[tuple[str, str], tuple[float, Tenant]] = {}

    def resolve(self, header: str | None, host: str) -> Tenant:
        key = ("id", header.strip()) if header else ("host", normalise_host(host))
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < TENANT_CACHE_SECONDS:
            return hit[1]
        tenant = self._lookup(key)
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[key] = (now, tenant)
        return tenant

    def _lookup(self, key: tuple[str, str]) -> Tenant:
        kind, value = key
        if kind == "host":
            found = self._container.identity.tenant_for_host(value)
            if found is None:
                raise TenantNotFound(tenant_id=value)
            value = found
        return self._container.tenants.get(value)


def request_context(request: Request[Any, Any, Any]) -> RequestContext:
    user_agent = request.headers.get("user-agent")
    return RequestContext(
        ip=request.client.host if request.client else None,
        user_agent=user_agent[:300] if user_agent else None,
        request_id=request_id_of(request.scope),
    )


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The bearer token from the Authorization header. The API never reads the browser's
    session cookie: a cookie rides along on cross-site requests, a header does not, so the
    API needs no CSRF token (the web pages, which do use the cookie, check one)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def auth_dependencies(container: Container) -> dict[str, Provide]:
    resolver = TenantResolver(container)

    def provide_tenant(request: Request[Any, Any, Any], x_tenant_id: TenantHeader = None) -> Tenant:
        tenant = resolver.resolve(x_tenant_id, request.headers.get("host", ""))
        remember_caller(request, tenant_id=tenant.id)  # so a refusal is audited in its tenant
        return tenant

    def provide_context(request: Request[Any, Any, Any]) -> RequestContext:
        return request_context(request)

    def provide_actor(
        request: Request[Any, Any, Any],
        tenant: NamedDependency[Tenant],
        context: NamedDependency[RequestContext],
    ) -> Actor:
        token = bearer_token(request)
        if token is None or len(token) > 200:
            raise AuthenticationRequired()
        actor = container.identity.authenticate(tenant.id, token, context)
        remember_caller(request, actor=actor)
        return actor

    return {
        "tenant": Provide(provide_tenant, sync_to_thread=True),
        "context": Provide(provide_context, sync_to_thread=False),
        "actor": Provide(provide_actor, sync_to_thread=True),
    }
