"""Wallet use cases: wallets and their accounts per currency, balances, limits, fees, person-to-
person payments (quote, confirm, batch), requests to pay, payees and history.
"""

from __future__ import annotations

from walletbridge.ports import Clock, IdSource, TransactionRunner
from walletbridge.services.settings import ServiceSettings


class WalletService:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        ids: IdSource,
        settings: ServiceSettings,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._settings = settings
