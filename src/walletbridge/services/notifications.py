"""The outbox relay: deliver outbox messages (mail, SMS, in-app activity) after commit, at least
once, each effect once per message id.
"""

from __future__ import annotations

from walletbridge.ports import Clock, IdSource, TransactionRunner
from walletbridge.services.settings import ServiceSettings


class NotificationService:
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
