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
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.types import ExceptionHandlersMap

from walletbridge.domain.errors import DomainError, ErrorKind
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


# The one table from a refusal's kind to its HTTP status.
STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.INVALID: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorKind.BAD_REQUEST: HTTPStatus.BAD_REQUEST,
    ErrorKind.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorKind.CONFLICT: HTTPStatus.CONFLICT,
    ErrorKind.UNAUTHENTICATED: HTTPStatus.UNAUTHORIZED,
    ErrorKind.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorKind.RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
}


def example_response(
    container: type | None, example: Any, what: str, media_type: str | None = None
) -> ResponseSpec:
    """An OpenAPI success response with its example body, for a route's ``responses``."""
    spec = ResponseSpec(
        data_container=container,
        description=what,
        examples=None if example is None else [Example(summary=what, value=example)],
    )
    if media_type is not None:
        spec.media_type = media_type
    return spec


def problem_spec(status: int, code: str, detail: str, **extensions: Any) -> ResponseSpec:
    """An OpenAPI response for one refusal, with an example body, for a route's ``responses``."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extensions,
    }
    return ResponseSpec(
        data_container=None,
        description=f"`{code}`: {detail}",
        media_type=PROBLEM_JSON,
        examples=[Example(summary=code, value=body)],
    )


def status_for(error: DomainError) -> int:
    return STATUS_BY_KIND[error.kind]


def domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[dict[str, Any]]:
    status = status_for(error)
    response = problem(status, error.code, error.message, **error.extensions)
    retry_after = error.fields.get("retry_after_seconds")
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    if status == HTTPStatus.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = 'Bearer realm="walletbridge"'
    hook = request.app.state.get("on_refusal")
    if hook is not None and status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        hook(request, error)
    return response


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
