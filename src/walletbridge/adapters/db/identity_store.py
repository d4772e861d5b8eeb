"""Persistence of identity (users, credentials, sessions)."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlIdentityStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
