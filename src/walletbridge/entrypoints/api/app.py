"""The HTTP API: a Litestar app built around one ``Container``.

Run it with ``walletbridge serve`` or any ASGI server as a factory:
``uvicorn --factory walletbridge.entrypoints.api.app:create_app``. OpenAPI lives at
``/api/schema`` (``/api/schema/openapi.json`` for the document itself).
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from walletbridge import __version__
from walletbridge.bootstrap import Container, build
from walletbridge.config import Settings
from walletbridge.entrypoints.api.auth import auth_dependencies
from walletbridge.entrypoints.api.demo import demo_routes
from walletbridge.entrypoints.api.identity import identity_routes
from walletbridge.entrypoints.api.observability import HttpObserver, RequestStart
from walletbridge.entrypoints.api.platform import platform_routes
from walletbridge.entrypoints.api.probes import probe_routes
from walletbridge.entrypoints.api.problems import EXCEPTION_HANDLERS
from walletbridge.entrypoints.api.wallets import wallet_routes
from walletbridge.entrypoints.log_config import configure_logging


def create_app(container: Container | None = None) -> Litestar:
    """The app; with no container, one is built from the environment (``WALLETBRIDGE_*``)."""
    container = container or build(Settings())
    configure_logging(container.settings)
    observer = HttpObserver()
    return Litestar(
        route_handlers=[
            *probe_routes(container, observer),
            *demo_routes(container),
            *identity_routes(container),
            *wallet_routes(container),
            *platform_routes(container),
        ],
        dependencies=auth_dependencies(container),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[RequestStart()],
        before_send=[observer.before_send],
        on_shutdown=[container.close],
        openapi_config=OpenAPIConfig(title="walletbridge", version=__version__, path="/api/schema"),
    )
