"""The HTTP API and the web app: one Litestar app built around one ``Container``.

Run it with ``walletbridge serve`` or any ASGI server as a factory:
``uvicorn --factory walletbridge.entrypoints.api.app:create_app``. OpenAPI lives at
``/api/schema`` (``/api/schema/openapi.json`` for the document itself).
"""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from walletbridge import __version__
from walletbridge.bootstrap import Container, build
from walletbridge.config import Settings
from walletbridge.entrypoints.api.auth import auth_dependencies
from walletbridge.entrypoints.api.demo import demo_routes
from walletbridge.entrypoints.api.identity import identity_routes
from walletbridge.entrypoints.api.observability import HttpObserver, RequestStart
from walletbridge.entrypoints.api.platform import (
    litestar_stores,
    platform_routes,
    refusal_auditor,
)
from walletbridge.entrypoints.api.probes import probe_routes
from walletbridge.entrypoints.api.problems import EXCEPTION_HANDLERS
from walletbridge.entrypoints.api.problems import http_error as api_http_error
from walletbridge.entrypoints.api.problems import server_error as api_server_error
from walletbridge.entrypoints.api.wallets import wallet_routes
from walletbridge.entrypoints.log_config import configure_logging
from walletbridge.entrypoints.web import errors as page_errors
from walletbridge.entrypoints.web.app import web_parts
from walletbridge.entrypoints.web.security import add_security_headers

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
ASSETS_PATH = "/api/schema/assets"


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI 3.1 document at ``/api/schema/openapi.json`` and a browsable Swagger UI at
    ``/api/schema/swagger``, served from vendored files so it works with no internet."""
    return OpenAPIConfig(
        title="walletbridge",
        version=__version__,
        path="/api/schema",
        description=(
            "The walletbridge wallet API. Amounts are decimal strings with their ISO 4217 "
            "currency; errors are RFC 9457 problem details with a stable `code`; money-moving "
            "POSTs take an `Idempotency-Key`. See docs/api.md."
        ),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An opaque token from /api/v1/auth/login or /api/v1/auth/tokens.",
                )
            }
        ),
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                path=["/swagger", "/"],
                favicon="<link rel='icon' href='data:,'>",
            )
        ],
    )


def create_app(container: Container | None = None) -> Litestar:
    """The app; with no container, one is built from the environment (``WALLETBRIDGE_*``)."""
    container = container or build(Settings())
    configure_logging(container.settings)
    observer = HttpObserver()
    web = web_parts(container)
    app = Litestar(
        route_handlers=[
            *probe_routes(container, observer),
            # The ledger showcase answers without authentication, so production leaves it out.
            *(demo_routes(container) if container.settings.environment != "production" else []),
            *identity_routes(container),
            *wallet_routes(container),
            *platform_routes(container),
            create_static_files_router(
                path=ASSETS_PATH, directories=[SWAGGER_UI], include_in_schema=False
            ),
            *web.routes,
        ],
        dependencies=auth_dependencies(container),
        exception_handlers={
            **EXCEPTION_HANDLERS,
            HTTPException: page_errors.for_pages_or_api(api_http_error, page_errors.http_error),
            Exception: page_errors.for_pages_or_api(api_server_error, page_errors.server_error),
        },
        middleware=[RequestStart(), *web.middleware],
        csrf_config=web.csrf,
        template_config=web.templates,
        before_send=[observer.before_send, add_security_headers],
        on_shutdown=[container.close],
        openapi_config=openapi_config(),
        stores=litestar_stores(container),
    )
    # problems.py calls this for every 401 and 403, so refusals reach the audit log.
    app.state["on_refusal"] = refusal_auditor(container)
    return app
