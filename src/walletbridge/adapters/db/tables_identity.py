"""Table definitions for users, credentials, verification codes and sessions (SQLAlchemy Core,
sharing the ledger's metadata).
"""

from __future__ import annotations

from walletbridge.adapters.db.tables import metadata

__all__ = ["metadata"]
