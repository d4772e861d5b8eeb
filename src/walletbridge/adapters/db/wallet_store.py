"""Persistence of wallets, tenant wallet configuration and limit usage (SQLAlchemy Core inside the
caller's transaction); history, requests to pay and payees come from ``wallet_records``.

Limit usage is added by an upsert whose result the CHECK ``used_minor <= limit_minor`` guards: the
statement that would pass a limit fails, so no read-then-write race can overspend a limit. On
PostgreSQL a payment's usage statements go out together in one pipeline.

Tenant configuration is read often and changed rarely: ``configuration_generation`` changes
whenever this process writes any, so a cache keyed on it sees this process's own changes at once
(other processes' within the cache's time to live).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from sqlalchemy import Connection, Insert, select

from walletbridge.adapters.db.engine import driver_connection
from walletbridge.adapters.db.tables import account_balances
from walletbridge.adapters.db.tables_wallets import (
    tenant_currencies,
    tenant_fees,
    tenant_tiers,
    wallet_limit_overrides,
    wallet_limit_usage,
    wallets,
)
from walletbridge.adapters.db.throttle_store import window_full
from walletbridge.adapters.db.wallet_records import (
    WalletRecords,
    defer_writes,
    execute,
    flush,
    upsert,
)
from walletbridge.domain.actors import UserId
from walletbridge.domain.fees import FeeSchedule
from walletbridge.domain.ledger import AccountId, TenantId
from walletbridge.domain.limits import TierLimits
from walletbridge.domain.money import Currency
from walletbridge.domain.wallets import TenantConfiguration, Wallet, WalletId
from walletbridge.ports.platform import ThrottleExceeded
from walletbridge.ports.wallets import UsageOverLimit

_ADD_USAGE = (
    "INSERT INTO wallet_limit_usage (tenant_id, user_id, currency, period, used_minor, "
    "limit_minor) VALUES (%(t)s, %(u)s, %(c)s, %(p)s, %(a)s, {limit}) "
    "ON CONFLICT (tenant_id, user_id, currency, period) DO UPDATE SET "
    "used_minor = wallet_limit_usage.used_minor + excluded.used_minor, "
    "limit_minor = excluded.limit_minor"
)
# The user's own daily limit, when lower, read by the statement that enforces it: never stale.
# (PostgreSQL deduces one type per parameter: each use here has its own name.)
_OVERRIDDEN_LIMIT = (
    "coalesce((SELECT CASE WHEN daily_minor < %(l1)s THEN daily_minor ELSE %(l2)s END "
    "FROM wallet_limit_overrides WHERE tenant_id = %(t1)s AND user_id = %(u1)s "
    "AND currency = %(c1)s), %(l)s)"
)
_ADD_USAGE_AS_GIVEN = _ADD_USAGE.format(limit="%(l)s")
_ADD_USAGE_OVERRIDDEN = _ADD_USAGE.format(limit=_OVERRIDDEN_LIMIT)
_DAILY_OVERRIDE = (
    "SELECT daily_minor FROM wallet_limit_overrides "
    "WHERE tenant_id = %(t)s AND user_id = %(u)s AND currency = %(c)s"
)
_USAGE_CHECK = "ck_wallet_usage_within_limit"
_PERIOD = re.compile(r"\b(?:day|month):[0-9-]+")
_generations = itertools.count(1)
_generation = 0


def _bump_generation() -> None:
    global _generation
    _generation = next(_generations)


class SqlWalletStore(WalletRecords):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def configuration_generation(self) -> int:
        return _generation

    def defer_writes(self) -> None:
        defer_writes(self.connection)

    def flush_writes(self) -> None:
        flush(self.connection)

    # -- tenant configuration -----------------------------------------------------------------

    def put_configuration(self, tenant_id: TenantId, configuration: TenantConfiguration) -> None:
        _bump_generation()
        for currency in configuration.currencies:
            self._put(
                tenant_currencies,
                ["tenant_id", "currency"],
                {"tenant_id": tenant_id, "currency": currency.code, "exponent": currency.exponent},
            )
        for tier in configuration.tiers:
            self._put(
                tenant_tiers,
                ["tenant_id", "tier", "currency"],
                {
                    "tenant_id": tenant_id,
                    "tier": tier.tier,
                    "currency": tier.currency,
                    "per_transaction_minor": tier.per_transaction_minor,
                    "daily_minor": tier.daily_minor,
                    "monthly_minor": tier.monthly_minor,
                    "balance_cap_minor": tier.balance_cap_minor,
                },
            )
        for fee in configuration.fees:
            self._put(
                tenant_fees,
                ["tenant_id", "product", "currency"],
                {
                    "tenant_id": tenant_id,
                    "product": fee.product,
                    "currency": fee.currency,
                    "fixed_minor": fee.fixed_minor,
                    "basis_points": fee.basis_points,
                    "minimum_minor": fee.minimum_minor,
                    "maximum_minor": fee.maximum_minor,
                },
            )

    def _put(self, table: Any, keys: list[str], values: dict[str, Any]) -> None:
        statement = upsert(self.connection, table).values(**values)
        changes = {name: value for name, value in values.items() if name not in keys}
        self.connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))

    def currency(self, tenant_id: TenantId, code: str) -> Currency | None:
        row = self.connection.execute(
            select(tenant_currencies.c.exponent).where(
                tenant_currencies.c.tenant_id == tenant_id, tenant_currencies.c.currency == code
            )
        ).first()
        return Currency(code, int(row[0])) if row else None

    def currencies(self, tenant_id: TenantId) -> list[Currency]:
        rows = self.connection.execute(
            select(tenant_currencies.c.currency, tenant_currencies.c.exponent)
            .where(tenant_currencies.c.tenant_id == tenant_id)
            .order_by(tenant_currencies.c.currency)
        )
        return [Currency(row[0], int(row[1])) for row in rows]

    def tier_limits(self, tenant_id: TenantId, tier: int) -> list[TierLimits]:
        t = tenant_tiers.c
        rows = self.connection.execute(
            select(
                t.tier,
                t.currency,
                t.per_transaction_minor,
                t.daily_minor,
                t.monthly_minor,
                t.balance_cap_minor,
            )
            .where(t.tenant_id == tenant_id, t.tier == tier)
            .order_by(t.currency)
        )
        return [TierLimits(*(row[0], row[1], *(int(v) for v in row[2:]))) for row in rows]

    def fee_schedule(self, tenant_id: TenantId, product: str, currency: str) -> FeeSchedule | None:
        f = tenant_fees.c
        row = self.connection.execute(
            select(f.fixed_minor, f.basis_points, f.minimum_minor, f.maximum_minor).where(
                f.tenant_id == tenant_id, f.product == product, f.currency == currency
            )
        ).first()
        if row is None:
            return None
        return FeeSchedule(
            product=product,
            currency=currency,
            fixed_minor=int(row[0]),
            basis_points=int(row[1]),
            minimum_minor=int(row[2]),
            maximum_minor=None if row[3] is None else int(row[3]),
        )

    # -- wallets ------------------------------------------------------------------------------

    def insert_wallet(self, wallet: Wallet, created_at_us: int) -> None:
        statement: Insert = upsert(self.connection, wallets).values(
            id=wallet.id,
            tenant_id=wallet.tenant_id,
            user_id=wallet.user_id,
            home_currency=wallet.home_currency,
            created_at_us=created_at_us,
        )
        self.connection.execute(
            statement.on_conflict_do_nothing(index_elements=["tenant_id", "user_id"])  # type: ignore[attr-defined]
        )

    def wallet_of(self, tenant_id: TenantId, user_id: UserId) -> Wallet | None:
        row = self.connection.execute(
            select(wallets.c.id, wallets.c.home_currency).where(
                wallets.c.tenant_id == tenant_id, wallets.c.user_id == user_id
            )
        ).first()
        if row is None:
            return None
        return Wallet(WalletId(row[0]), tenant_id, user_id, row[1])

    # -- limits -------------------------------------------------------------------------------

    def add_usage(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        currency: str,
        uses: Sequence[tuple[str, int, int]],
        *,
        daily_period: str | None = None,
    ) -> None:
        postgres = self.connection.dialect.name == "postgresql"
        period = ""
        try:
            with driver_connection(self.connection).pipeline() if postgres else nullcontext():
                for period, amount_minor, limit_minor in uses:
                    overridden = period == daily_period
                    execute(
                        self.connection,
                        _ADD_USAGE_OVERRIDDEN if overridden else _ADD_USAGE_AS_GIVEN,
                        {
                            "t": tenant_id,
                            "u": user_id,
                            "c": currency,
                            "p": period,
                            "a": amount_minor,
                            "l": limit_minor,
                        }
                        | (
                            {
                                "t1": tenant_id,
                                "u1": user_id,
                                "c1": currency,
                                "l1": limit_minor,
                                "l2": limit_minor,
                            }
                            if overridden
                            else {}
                        ),
                    )
        except Exception as error:
            if window_full(error):  # a deferred ``hit_later`` went out first, and failed
                raise ThrottleExceeded("deferred") from error
            diag = getattr(error, "diag", None)
            constraint = getattr(diag, "constraint_name", None) or ""
            if constraint != _USAGE_CHECK and _USAGE_CHECK not in str(error):
                raise
            # A pipeline's error surfaces after the last statement: PostgreSQL names the failing
            # row (and so its period). SQLite fails the statement itself.
            found = _PERIOD.search(getattr(diag, "message_detail", None) or "")
            raise UsageOverLimit(found.group(0) if found else period) from error

    def usage(
        self, tenant_id: TenantId, user_id: UserId, currency: str, periods: Sequence[str]
    ) -> dict[str, int]:
        u = wallet_limit_usage.c
        rows = self.connection.execute(
            select(u.period, u.used_minor).where(
                u.tenant_id == tenant_id,
                u.user_id == user_id,
                u.currency == currency,
                u.period.in_(list(periods)),
            )
        )
        found = {row[0]: int(row[1]) for row in rows}
        return {period: found.get(period, 0) for period in periods}

    def daily_override(self, tenant_id: TenantId, user_id: UserId, currency: str) -> int | None:
        # Raw: every payment's planning reads it.
        row = execute(
            self.connection,
            _DAILY_OVERRIDE,
            {"t": tenant_id, "u": user_id, "c": currency},
        ).fetchone()
        return None if row is None else int(row[0])

    def set_daily_override(
        self, tenant_id: TenantId, user_id: UserId, currency: str, daily_minor: int
    ) -> None:
        self._put(
            wallet_limit_overrides,
            ["tenant_id", "user_id", "currency"],
            {
                "tenant_id": tenant_id,
                "user_id": user_id,
                "currency": currency,
                "daily_minor": daily_minor,
            },
        )

    def lock_balances(self, account_ids: Sequence[AccountId]) -> None:
        # SQLite holds the whole database's write lock already (BEGIN IMMEDIATE).
        if not account_ids or self.connection.dialect.name != "postgresql":
            return
        self.connection.execute(
            select(account_balances.c.account_id)
            .where(account_balances.c.account_id.in_(list(account_ids)))
            .order_by(account_balances.c.account_id, account_balances.c.shard)
            .with_for_update()
        ).all()
