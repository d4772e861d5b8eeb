"""Persistence of the transactional outbox."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlOutboxStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
