"""Persistence of idempotency keys and their stored responses."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlIdempotencyStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
