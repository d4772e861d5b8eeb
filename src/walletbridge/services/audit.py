"""Audit use cases: append a record in its own transaction (refusals seen at the edge) and read the
log.
"""

from __future__ import annotations

from walletbridge.ports import Clock, IdSource, TransactionRunner
from walletbridge.services.settings import ServiceSettings


class AuditService:
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
