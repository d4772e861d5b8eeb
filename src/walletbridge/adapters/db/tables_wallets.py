"""Table definitions for wallets, limits, fees, payees, payment requests, wallet history and
idempotency keys (SQLAlchemy Core, sharing the ledger's metadata).
"""

from __future__ import annotations

from walletbridge.adapters.db.tables import metadata

__all__ = ["metadata"]
