"""structlog set-up shared by the API, the worker and the CLI.

Logs go to stderr, because stdout belongs to command output (``walletbridge ledger prove``
prints JSON there). Tracebacks never show local variables: structlog's default renders them,
and locals hold SQL parameters, request data and settings — personal data and secrets that must
not reach a log. Production writes one JSON object per line; elsewhere lines are for people.
"""

from __future__ import annotations

import sys
from typing import Any

import structlog
from structlog.typing import Processor

from walletbridge.config import Environment, Settings


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    # Resolved per logger, not once: test runners swap sys.stderr between invocations.
    return structlog.PrintLogger(sys.stderr)


def configure_logging(settings: Settings) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Processor]
    if settings.environment is Environment.PRODUCTION:
        transformer = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        renderer = [
            structlog.processors.ExceptionRenderer(transformer),
            structlog.processors.JSONRenderer(),
        ]
    else:
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            )
        ]
    structlog.configure(processors=[*shared, *renderer], logger_factory=_stderr_logger)
