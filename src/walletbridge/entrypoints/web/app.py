"""The web app's parts, which ``entrypoints.api.app.create_app`` mounts beside the API.

One Litestar app serves both: the API under ``/api/`` (bearer tokens, JSON, problem details) and
the pages everywhere else (server-side sessions, CSRF, Jinja templates, HTML error pages). The
pages call the same services as the API, in the same process, so web, API and worker are one
process tree under ``walletbridge run``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from walletbridge.bootstrap import Container
from walletbridge.entrypoints.web.context import web_dependencies
from walletbridge.entrypoints.web.errors import WEB_EXCEPTION_HANDLERS
from walletbridge.entrypoints.web.security import csrf_config, session_config

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass(frozen=True)
class WebParts:
    routes: list[ControllerRouterHandler]
    middleware: list[DefineMiddleware]
    csrf: CSRFConfig
    templates: TemplateConfig[JinjaTemplateEngine]


def page_routes(container: Container) -> list[HTTPRouteHandler]:
    """The handlers of every ``pages_*`` module in this package (each exposes ``routes``)."""
    handlers: list[HTTPRouteHandler] = []
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("pages_"))
    for name in names:
        module = importlib.import_module(f"{__package__}.{name}")
        handlers.extend(module.routes(container))
    return handlers


def web_parts(container: Container) -> WebParts:
    settings = container.settings
    router = Router(
        path="/",
        route_handlers=page_routes(container),
        dependencies=web_dependencies(container),
        exception_handlers=WEB_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        include_in_schema=False,
        cache_control=None,
        name="static",
    )
    return WebParts(
        routes=[router, static],
        middleware=[
            session_config(
                settings.session_absolute_seconds, settings.secret_key.get_secret_value()
            ).middleware
        ],
        csrf=csrf_config(settings.secret_key.get_secret_value()),
        templates=TemplateConfig(engine=JinjaTemplateEngine.from_environment(jinja_environment())),
    )


def jinja_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
