"""What the web app shows when a page cannot be served as asked.

- Not signed in (or the session ended): a redirect to the sign-in page that comes back here
  afterwards (``next``, same-site paths only). htmx requests get ``HX-Redirect`` instead, so the
  whole page moves rather than a fragment.
- No tenant chosen yet (demo host): a redirect to the bank chooser.
- A domain error nobody handled in place, a missing page, a refused CSRF token: a readable page
  in the visitor's language, with the status the API would use for the same refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from walletbridge.domain.errors import DomainError
from walletbridge.entrypoints.api.problems import STATUS_BY_KIND
from walletbridge.entrypoints.web.context import (
    Msg,
    SignInRequired,
    TenantChoiceRequired,
    page_locale,
    translate,
)
from walletbridge.entrypoints.web.security import API_PREFIX

log = structlog.get_logger("walletbridge.web")


def safe_next(target: str | None) -> str:
    """A path on this site to go to after signing in; anything else becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:500]


def _redirect(request: Request[Any, Any, Any], location: str) -> Response[Any]:
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=204, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def sign_in_required(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request") == "true":
        # A fragment's own address is no place to come back to: the page it was part of is.
        current = urlsplit(request.headers.get("hx-current-url", ""))
        here = current.path + (f"?{current.query}" if current.query else "") or "/"
    target = "/signin" if here in ("/", "/signin") else f"/signin?next={quote(safe_next(here))}"
    return _redirect(request, target)


def tenant_choice_required(
    request: Request[Any, Any, Any], _: TenantChoiceRequired
) -> Response[Any]:
    return _redirect(request, "/banks")


def error_page(
    request: Request[Any, Any, Any], status: int, title: str, message: str | Msg
) -> Template:
    locale = page_locale(request, "en")
    return Template(
        template_name="error.html",
        context={
            "locale": locale,
            "html_lang": locale,
            "title": translate(locale, title),
            "message": translate(locale, message),
            "status": status,
            "back": translate(locale, "Back to the start"),
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
        media_type=MediaType.HTML,
    )


def domain_error(request: Request[Any, Any, Any], error: DomainError) -> Template:
    status = STATUS_BY_KIND[error.kind]
    return error_page(request, status, "That did not work", Msg.of(error))


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Template:
    status = error.status_code
    if isinstance(error, NotFoundException) or status == 404:
        return error_page(request, 404, "Page not found", "There is nothing at this address.")
    if isinstance(error, PermissionDeniedException) and "CSRF" in str(error.detail):
        return error_page(
            request,
            403,
            "The form has expired",
            "Go back, reload the page and send the form again.",
        )
    if status >= 500:
        log.error("web.http-error", status=status)
        return error_page(request, status, "Something went wrong", "Please try again.")
    return error_page(request, status, "That did not work", "The request could not be served.")


def server_error(request: Request[Any, Any, Any], error: Exception) -> Template:
    log.exception("web.unhandled", error_type=type(error).__name__)
    return error_page(
        request,
        500,
        "Something went wrong",
        "Please try again. If you were sending money, check your history before you send it again.",
    )


WEB_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    SignInRequired: sign_in_required,
    TenantChoiceRequired: tenant_choice_required,
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: server_error,
}


def for_pages_or_api(
    api_handler: Callable[[Request[Any, Any, Any], Any], Response[Any]],
    page_handler: Callable[[Request[Any, Any, Any], Any], Response[Any]],
) -> Callable[[Request[Any, Any, Any], Any], Response[Any]]:
    """An app-level handler that answers ``/api/`` with problem details and pages with HTML:
    refusals raised before routing (no route, a CSRF check) reach the app, not a router."""

    def handle(request: Request[Any, Any, Any], error: Any) -> Response[Any]:
        if request.url.path.startswith(API_PREFIX) or request.url.path == "/api":
            return api_handler(request, error)
        return page_handler(request, error)

    return handle
