"""Routes for wallet, balances, limits, transfers (quote, confirm, batch), requests to pay, payees,
history and CSV export.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from walletbridge.bootstrap import Container


def wallet_routes(container: Container) -> list[ControllerRouterHandler]:
    return []
