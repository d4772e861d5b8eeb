"""Fee schedules: what a tenant charges for a product (``p2p``) in one currency.

Invariant: a fee is a whole number of minor units between 0 and the amount it is charged on. The
percentage part is rounded up (in the payer's disfavour, so the tenant never loses a fraction of
a minor unit on any payment), then the fixed part is added, the result is clamped to the
schedule's minimum and maximum, and finally to ``[0, amount]`` whatever the schedule says.
"""

from __future__ import annotations

from dataclasses import dataclass

from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import Money

P2P = "p2p"
MAX_BASIS_POINTS = 10_000


class InvalidFeeSchedule(DomainError):
    code = "fee-schedule-invalid"
    template = "The fee schedule is not valid: {reason}."


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    product: str
    currency: str
    fixed_minor: int = 0
    basis_points: int = 0
    minimum_minor: int = 0
    maximum_minor: int | None = None

    def validate(self) -> None:
        for name in ("fixed_minor", "basis_points", "minimum_minor"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise InvalidFeeSchedule(
                    reason="the fixed fee, basis points and minimum are non-negative whole numbers",
                    field=name,
                )
        if self.basis_points > MAX_BASIS_POINTS:
            raise InvalidFeeSchedule(reason="basis_points is at most 10000 (100 %)")
        if self.maximum_minor is not None and self.maximum_minor < self.minimum_minor:
            raise InvalidFeeSchedule(reason="the maximum is below the minimum")

    def fee_minor(self, amount_minor: int) -> int:
        """The fee on ``amount_minor`` (positive), in the same currency's minor units."""
        assert type(amount_minor) is int and amount_minor >= 0
        # Ceiling division in integers: -(-a // b).
        percentage = -(-amount_minor * self.basis_points // MAX_BASIS_POINTS)
        fee = max(percentage + self.fixed_minor, self.minimum_minor)
        if self.maximum_minor is not None:
            fee = min(fee, self.maximum_minor)
        return min(max(fee, 0), amount_minor)

    def fee(self, amount: Money) -> Money:
        assert amount.currency.code == self.currency
        return Money(self.fee_minor(amount.amount_minor), amount.currency)


def free(product: str, currency: str) -> FeeSchedule:
    """The schedule a tenant without one for this product and currency applies: no fee."""
    return FeeSchedule(product=product, currency=currency)
