"""Table definitions for outbox, audit log, throttle counters and the key-value store behind
sessions (SQLAlchemy Core, sharing the ledger's metadata).
"""

from __future__ import annotations

from walletbridge.adapters.db.tables import metadata

__all__ = ["metadata"]
