"""Errors as RFC 9457 problem details (``application/problem+json``).

Every body has ``type``, ``title``, ``status``, ``detail`` and the extension ``code``, the stable
kebab-case code a client matches on. ``type`` stays ``about:blank`` (so ``title`` is the HTTP
status phrase) because there is no published page per problem to point at; ``code`` carries the
meaning instead. Server errors say nothing about their cause: the details go to the log, tied to
the response by its ``X-Request-ID``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import MoneyError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("walletbridge.api")

_HTTP_CODES = {
    HTTPStatus.NOT_FOUND: "not-found",
    HTTPStatus.METHOD_NOT_ALLOWED: "method-not-allowed",
    HTTPStatus.BAD_REQUEST: "request-invalid",
}


def problem(status: int, code: str, detail: str, **extensions: Any) -> Response[dict[str, Any]]:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extensions,
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


def status_for(code: str) -> int:
    """Not-found codes are 404; every other refusal is a well-formed request we cannot do."""
    if code.endswith("-not-found"):
        return HTTPStatus.NOT_FOUND
    return HTTPStatus.UNPROCESSABLE_ENTITY


def domain_error(_: Request[Any, Any, Any], error: DomainError) -> Response[dict[str, Any]]:
    return problem(status_for(error.code), error.code, error.message)


def money_error(_: Request[Any, Any, Any], error: MoneyError) -> Response[dict[str, Any]]:
    return problem(HTTPStatus.UNPROCESSABLE_ENTITY, error.code, error.message)


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, Any]]:
    if error.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return server_error(request, error)
    if isinstance(error, ValidationException):
        # Litestar's own detail repeats the URL with its query string; name the fields instead.
        return problem(
            error.status_code,
            "request-invalid",
            "The request's parameters are not valid.",
            errors=_field_errors(error.extra),
        )
    code = _HTTP_CODES.get(HTTPStatus(error.status_code), f"http-{error.status_code}")
    return problem(error.status_code, code, HTTPStatus(error.status_code).description)


def server_error(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled error", route=request.scope.get("path_template"), exc_info=error)
    return problem(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal-error",
        "The server could not complete the request; quote the X-Request-ID when reporting it.",
    )


def _field_errors(extra: object) -> list[dict[str, str]]:
    items = extra if isinstance(extra, list) else []
    return [
        {"key": str(item.get("key", "")), "message": str(item.get("message", ""))}
        for item in items
        if isinstance(item, dict)
    ]


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error,
    MoneyError: money_error,
    HTTPException: http_error,
    Exception: server_error,
}
