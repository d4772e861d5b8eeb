"""Identity use cases: sign-up with a verified email or phone, passwords, TOTP and recovery codes,
password reset, second-factor lockout, sessions and API tokens.
"""

from __future__ import annotations

from walletbridge.ports import Clock, IdSource, TransactionRunner
from walletbridge.services.settings import ServiceSettings


class IdentityService:
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
