"""The composition root: the one place that knows which adapters stand behind which ports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from walletbridge.adapters.crypto import identity_crypto
from walletbridge.adapters.currencies import Iso4217Catalog
from walletbridge.adapters.db.engine import make_engine
from walletbridge.adapters.db.migrate import schema_is_current
from walletbridge.adapters.db.uow import SqlTransactionRunner
from walletbridge.adapters.notify import notification_adapters
from walletbridge.adapters.system import SystemClock, UuidV7Source
from walletbridge.config import Environment, Settings
from walletbridge.ports import Clock, CurrencyCatalog, IdSource
from walletbridge.services.audit import AuditService
from walletbridge.services.identity import IdentityService
from walletbridge.services.integrity import IntegrityService
from walletbridge.services.ledger import LedgerService
from walletbridge.services.notifications import NotificationService
from walletbridge.services.settings import ServiceSettings
from walletbridge.services.tenants import TenantService
from walletbridge.services.throttle import ThrottleService
from walletbridge.services.wallets import WalletService


@dataclass
class Container:
    settings: Settings
    engine: Engine
    runner: SqlTransactionRunner
    clock: Clock
    ids: IdSource
    ledger: LedgerService
    integrity: IntegrityService
    tenants: TenantService
    currencies: CurrencyCatalog
    service_settings: ServiceSettings
    identity: IdentityService
    wallets: WalletService
    audit: AuditService
    notifications: NotificationService
    throttle: ThrottleService

    def schema_is_current(self) -> bool:
        """The database answers and its schema is at the latest migration."""
        return schema_is_current(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings | None = None, *, clock: Clock | None = None, ids: IdSource | None = None
) -> Container:
    settings = settings or Settings()
    engine = make_engine(settings.effective_database_url, pool_size=settings.database_pool_size)
    runner = SqlTransactionRunner(engine, attempts=settings.write_retry_attempts)
    clock = clock or SystemClock()
    ids = ids or UuidV7Source()
    currencies = Iso4217Catalog()
    service_settings = service_settings_from(settings)
    common = (runner, clock, ids, service_settings)
    notify = notification_adapters(
        service_settings.var_dir,
        smtp_host=service_settings.smtp_host,
        smtp_port=service_settings.smtp_port,
    )
    return Container(
        settings=settings,
        engine=engine,
        runner=runner,
        clock=clock,
        ids=ids,
        ledger=LedgerService(runner, clock, ids),
        integrity=IntegrityService(runner, clock),
        tenants=TenantService(runner, clock, currencies),
        currencies=currencies,
        service_settings=service_settings,
        identity=IdentityService(
            *common,
            crypto=identity_crypto(
                service_settings.secret_key,
                fast_passwords=settings.environment is Environment.TEST,
            ),
        ),
        wallets=WalletService(*common),
        audit=AuditService(*common),
        notifications=NotificationService(
            *common,
            mailer=notify.mailer,
            sms=notify.sms,
            mailbox=notify.mailbox,
            sms_outbox=notify.sms_outbox,
        ),
        throttle=ThrottleService(*common),
    )


def service_settings_from(settings: Settings) -> ServiceSettings:
    return ServiceSettings(
        secret_key=settings.secret_key.get_secret_value().encode(),
        var_dir=settings.var_dir,
        development=settings.environment is not Environment.PRODUCTION,
        session_idle_seconds=settings.session_idle_seconds,
        session_absolute_seconds=settings.session_absolute_seconds,
        idempotency_retention_seconds=settings.idempotency_retention_seconds,
        mail_from=settings.mail_from,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        login_attempts_per_5_minutes=settings.rate_login_per_5_minutes,
        otp_sends_per_10_minutes=settings.rate_otp_sends_per_10_minutes,
        transfers_per_minute=settings.rate_transfers_per_minute,
        payees_per_hour=settings.rate_payees_per_hour,
    )
