"""Persistence of atomic rate-limit counters."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlThrottleStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
