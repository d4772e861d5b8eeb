"""Persistence of wallets, payees, payment requests, limits usage and wallet history."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlWalletStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
