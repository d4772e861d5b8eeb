"""Persistence of the append-only audit log."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlAuditStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
