"""Routes for sign-up, verification, login, second factor, TOTP, recovery codes, password reset,
sessions and tokens, profile, and the operator's user actions.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from walletbridge.bootstrap import Container


def identity_routes(container: Container) -> list[ControllerRouterHandler]:
    return []
