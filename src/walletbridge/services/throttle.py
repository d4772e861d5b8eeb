"""Rate limits that hold across worker processes: an atomic counter per bucket and window in the
database.

A bucket is ``"<limit name>:<subject>"``, e.g. ``"login:alice@example.com"`` or
``f"transfers:{tenant_id}:{user_id}"``. The subject may be personal data (an email address, an IP),
so the database stores the name followed by a keyed hash of the whole bucket, never the subject
itself. ``RateLimited`` names the limit and says when to come back; it never echoes the subject.

``ThrottleService.check`` counts an attempt in a transaction of its own (use it before the work it
guards, e.g. before checking a password). ``count_attempt`` counts inside the caller's transaction
instead, so an attempt is counted only if the use case it guards commits.
"""

from __future__ import annotations

import hashlib
import hmac

from walletbridge.domain.ledger import TenantId
from walletbridge.domain.throttle import RateLimited, window_at
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.ports.platform import ThrottleExceeded
from walletbridge.services.settings import ServiceSettings

_BUCKET_LABEL = b"walletbridge/throttle-bucket/v1"


def stored_bucket(secret_key: bytes, bucket: str) -> str:
    """The bucket's name as stored: its limit name and a keyed hash of the whole bucket."""
    name = limit_name(bucket)
    key = hmac.new(secret_key, _BUCKET_LABEL, hashlib.sha256).digest()
    digest = hmac.new(key, bucket.encode(), hashlib.sha256).hexdigest()[:40]
    return f"{name[:60]}:{digest}"


def limit_name(bucket: str) -> str:
    name = bucket.split(":", 1)[0]
    assert name, "a bucket starts with its limit's name: '<name>:<subject>'"
    return name


def count_attempt(
    uow: UnitOfWork,
    *,
    now_us: int,
    secret_key: bytes,
    bucket: str,
    limit: int,
    window_seconds: int,
) -> int:
    """Count one attempt in ``bucket`` inside the caller's transaction and return the count so
    far; raise ``RateLimited`` (having counted nothing) when ``limit`` attempts were made already
    in this window."""
    window = window_at(now_us, window_seconds)
    try:
        return uow.throttle.hit(
            stored_bucket(secret_key, bucket), window.start_us, window.end_us, limit
        )
    except ThrottleExceeded:
        raise RateLimited(
            retry_after_seconds=window.retry_after_seconds(now_us), limit=limit_name(bucket)
        ) from None


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

    def check(self, bucket: str, *, limit: int, window_seconds: int) -> None:
        """Count one attempt in its own transaction; raise ``RateLimited`` past ``limit``."""
        now_us = self._clock.now_us()

        def hit(uow: UnitOfWork) -> None:
            count_attempt(
                uow,
                now_us=now_us,
                secret_key=self._settings.secret_key,
                bucket=bucket,
                limit=limit,
                window_seconds=window_seconds,
            )
            uow.commit()

        self._runner.write(hit)

    def count_in(self, uow: UnitOfWork, bucket: str, *, limit: int, window_seconds: int) -> int:
        """``count_attempt`` with this service's clock and key, inside ``uow``'s transaction."""
        return count_attempt(
            uow,
            now_us=self._clock.now_us(),
            secret_key=self._settings.secret_key,
            bucket=bucket,
            limit=limit,
            window_seconds=window_seconds,
        )

    # The documented limits (docs/api.md), their numbers from the settings.

    def check_login(self, tenant_id: TenantId, login: str) -> None:
        """Login attempts per login identifier (email, phone or handle, case-folded)."""
        self.check(
            f"login:{tenant_id}:{login.strip().lower()}",
            limit=self._settings.login_attempts_per_5_minutes,
            window_seconds=300,
        )

    def check_password_guess(self, tenant_id: TenantId, user_id: str) -> None:
        """Guesses at a signed-in user's own password (re-authentication, password change),
        counted like logins in one bucket per user wherever they come from."""
        self.check_login(tenant_id, f"reauth:{user_id}")

    def check_login_from_ip(self, tenant_id: TenantId, ip: str) -> None:
        """Login attempts per client IP, counted apart from the per-identifier limit."""
        self.check(
            f"login-ip:{tenant_id}:{ip}",
            limit=self._settings.login_attempts_per_5_minutes,
            window_seconds=300,
        )

    def check_otp_send(self, tenant_id: TenantId, address: str) -> None:
        self.check(
            f"otp-send:{tenant_id}:{address.strip().lower()}",
            limit=self._settings.otp_sends_per_10_minutes,
            window_seconds=600,
        )

    def check_transfer(self, tenant_id: TenantId, user_id: str) -> None:
        self.check(
            f"transfers:{tenant_id}:{user_id}",
            limit=self._settings.transfers_per_minute,
            window_seconds=60,
        )

    def check_payee_creation(self, tenant_id: TenantId, user_id: str) -> None:
        self.check(
            f"payees:{tenant_id}:{user_id}",
            limit=self._settings.payees_per_hour,
            window_seconds=3600,
        )

    def purge_expired(self) -> int:
        """Delete counters whose window has ended; return how many."""
        now_us = self._clock.now_us()

        def purge(uow: UnitOfWork) -> int:
            removed = uow.throttle.purge_expired(now_us)
            uow.commit()
            return removed

        return self._runner.write(purge)
