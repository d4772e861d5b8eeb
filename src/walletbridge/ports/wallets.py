"""Ports for wallets, person-to-person payments, limits and idempotency keys."""

from __future__ import annotations

from typing import Protocol


class WalletStore(Protocol):
    pass


class IdempotencyStore(Protocol):
    pass
