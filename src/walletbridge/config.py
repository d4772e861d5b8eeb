"""Settings: one pydantic-settings object, prefix ``WALLETBRIDGE_``, built once and passed down.

Nothing here connects to anything. Secrets are ``SecretStr``; outside development the settings
refuse the built-in development secret so a deployment cannot run with it by accident.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "walletbridge-development-secret-do-not-use"  # noqa: S105 - refused below


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WALLETBRIDGE_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    var_dir: Path = Path("var")
    database_url: str = ""
    """Empty means the embedded SQLite file ``<var_dir>/walletbridge.sqlite3``."""
    database_pool_size: int = Field(default=10, ge=1, le=200)
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    web_workers: int = Field(default=1, ge=1, le=64)
    write_retry_attempts: int = Field(default=8, ge=1, le=100)
    seal_interval_seconds: int = Field(default=60, ge=1)
    hold_expiry_interval_seconds: int = Field(default=30, ge=1)
    outbox_interval_seconds: int = Field(default=2, ge=1)
    session_idle_seconds: int = Field(default=300, ge=30)
    session_absolute_seconds: int = Field(default=12 * 3600, ge=300)
    idempotency_retention_seconds: int = Field(default=48 * 3600, ge=24 * 3600)
    mail_from: str = "walletbridge <no-reply@walletbridge.invalid>"
    smtp_host: str = ""
    """Empty: mail goes to the development mailbox under ``<var_dir>/mail``."""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    rate_login_per_5_minutes: int = Field(default=10, ge=1)
    rate_otp_sends_per_10_minutes: int = Field(default=5, ge=1)
    rate_transfers_per_minute: int = Field(default=60, ge=1)
    rate_payees_per_hour: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _refuse_development_secret_outside_development(self) -> Settings:
        if (
            self.environment is Environment.PRODUCTION
            and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET
        ):
            raise ValueError("WALLETBRIDGE_SECRET_KEY must be set outside development")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'walletbridge.sqlite3').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
