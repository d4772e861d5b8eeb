"""Rate limits that hold across worker processes: an atomic counter per bucket and window in the
database.
"""

from __future__ import annotations

from walletbridge.ports import Clock, IdSource, TransactionRunner
from walletbridge.services.settings import ServiceSettings


class ThrottleService:
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
