"""KYC tiers and the limits they set per currency: per transaction, per day, per month, and a
cap on the balance a wallet account may hold.

Invariant: usage never exceeds a limit. The domain states the rule; the database keeps it (usage
counters carry a CHECK ``used_minor <= limit_minor``, the wallet account's ceiling is the balance
cap), so two concurrent payments cannot both pass a check that only one of them fits.
Days and months are UTC calendar periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.instants import utc_moment

MAX_TIER = 9


class LimitKind(StrEnum):
    PER_TRANSACTION = "per-transaction"
    DAILY = "daily"
    MONTHLY = "monthly"
    BALANCE_CAP = "balance-cap"


class LimitExceeded(DomainError):
    code = "limit-exceeded"
    template = "The payment is over the {limit} limit; {remaining} {currency} remains."
    kind = ErrorKind.INVALID
    public = ("limit", "remaining", "currency")


class PayeeLimitExceeded(DomainError):
    """The payee's balance cap refuses the payment. What the payee could still receive would
    reveal their balance, so it is not named."""

    code = "limit-exceeded"
    template = "The recipient cannot receive this amount now (their balance limit)."
    kind = ErrorKind.INVALID
    public = ("limit", "currency")


class InvalidLimits(DomainError):
    code = "limits-invalid"
    template = "The limits are not valid: {reason}."


class DailyLimitRaise(DomainError):
    code = "limit-raise-refused"
    template = "A daily limit can only be lowered here, to at most {maximum} {currency}."
    public = ("maximum", "currency")


@dataclass(frozen=True, slots=True)
class TierLimits:
    """One tier's limits in one currency, in minor units."""

    tier: int
    currency: str
    per_transaction_minor: int
    daily_minor: int
    monthly_minor: int
    balance_cap_minor: int

    def validate(self) -> None:
        if not 0 <= self.tier <= MAX_TIER:
            raise InvalidLimits(reason=f"tiers are 0 to {MAX_TIER}")
        values = (
            self.per_transaction_minor,
            self.daily_minor,
            self.monthly_minor,
            self.balance_cap_minor,
        )
        if any(type(v) is not int or v < 0 or v > 10**15 for v in values):
            raise InvalidLimits(reason="limits are whole numbers of minor units, 0 to 10^15")
        if not self.per_transaction_minor <= self.daily_minor <= self.monthly_minor:
            raise InvalidLimits(reason="per-transaction <= daily <= monthly")


def day_period(at_us: int) -> str:
    return "day:" + utc_moment(at_us).strftime("%Y-%m-%d")


def month_period(at_us: int) -> str:
    return "month:" + utc_moment(at_us).strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class Usage:
    """How much of a period limit is used and what remains."""

    limit_minor: int
    used_minor: int

    @property
    def remaining_minor(self) -> int:
        return max(self.limit_minor - self.used_minor, 0)
