"""The settings the use cases read: a frozen value that ``bootstrap`` builds from ``Settings``.

Services never import ``walletbridge.config`` (it is pydantic); they get this instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    secret_key: bytes
    """The deployment's master secret; keys for sealing personal data and for blind indexes are
    derived from it, each with its own label."""
    var_dir: Path
    development: bool
    session_idle_seconds: int = 300
    """Idle time after which a payment needs the user to prove it is them again."""
    session_absolute_seconds: int = 12 * 3600
    verification_code_ttl_seconds: int = 600
    second_factor_max_failures: int = 5
    second_factor_block_seconds: int = 900
    password_reset_ttl_seconds: int = 3600
    idempotency_retention_seconds: int = 48 * 3600
    mail_from: str = "walletbridge <no-reply@walletbridge.invalid>"
    smtp_host: str = ""
    """Empty: mail is written as files under ``<var_dir>/mail`` (the development mailbox)."""
    smtp_port: int = 25
    # Rate limits (attempts per window); documented in docs/api.md. Benchmarks raise them.
    login_attempts_per_5_minutes: int = 10
    otp_sends_per_10_minutes: int = 5
    transfers_per_minute: int = 60
    payees_per_hour: int = 20
