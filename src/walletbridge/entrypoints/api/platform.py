"""Routes for the caller's own security events and the operator's audit log."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from walletbridge.bootstrap import Container


def platform_routes(container: Container) -> list[ControllerRouterHandler]:
    return []
