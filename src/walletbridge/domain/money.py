"""Money: amounts of one currency, counted in integer minor units.

This module owns the representation of money in walletbridge and every piece of arithmetic
that touches it: parsing and formatting decimal strings, splitting a total into parts,
computing fees and converting between currencies.

Invariant: an amount is always a Python ``int`` of minor units (cents, fils, yen) paired with
exactly one ``Currency``. No float is ever created, accepted or returned, and amounts of
different currencies are never combined; every rounding step is explicit, happens once,
and is documented on the function that performs it.

The domain layer imports only the standard library. Where a currency's exponent comes from
(ISO 4217 data) is the business of ``walletbridge.adapters.currencies``.

Errors raised for bad amounts form this tree; each class carries a stable kebab-case
``code`` that callers may show to clients or match on, plus a human-readable message::

    ValueError
    └── MoneyError                  code "money-error" (never raised itself)
        ├── InvalidAmount           code "invalid-amount"       .text, .reason
        ├── TooManyDecimals         code "amount-too-precise"   .currency_code, .exponent
        ├── AmountOutOfRange        code "amount-out-of-range"  .limit
        ├── CurrencyMismatch        code "currency-mismatch"    .left_code, .right_code
        └── UnknownCurrency         code "unknown-currency"     .currency_code

Wrong arguments that are not amounts (empty weight lists, a negative rate, a negative fee
setting) raise a plain ``ValueError``, and arguments of the wrong type raise ``TypeError``,
because those are mistakes in the calling code rather than in user input. Broken invariants
of the value objects themselves (a float amount, a lowercase currency code) are assertions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

__all__ = [
    "MAX_AMOUNT_MINOR",
    "AmountOutOfRange",
    "Currency",
    "CurrencyMismatch",
    "InvalidAmount",
    "Money",
    "MoneyError",
    "TooManyDecimals",
    "UnknownCurrency",
    "allocate",
    "convert",
    "fee_for",
    "format_amount",
    "parse_amount",
    "split_evenly",
]

# The largest absolute amount, in minor units, that parse_amount accepts by default. It is
# a business limit (ten trillion euros) that leaves a factor of about 9,000 of headroom below
# the signed 64-bit maximum, so sums of many maximal amounts still fit a BIGINT column.
MAX_AMOUNT_MINOR = 10**15

# ISO 4217 exponents range from 0 (JPY) to 4 (CLF, UYW); anything larger is a data error.
_MAX_EXPONENT = 4


class MoneyError(ValueError):
    """Base class for refused amounts; ``code`` is stable, ``message`` is for humans."""

    code: ClassVar[str] = "money-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAmount(MoneyError):
    """The text is not an acceptable amount: bad syntax, or a sign or zero not allowed here."""

    code = "invalid-amount"

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{text!r} is not a valid amount: {reason}")
        self.text = text
        self.reason = reason


class TooManyDecimals(MoneyError):
    """The amount has more fractional digits than the currency has minor-unit digits."""

    code = "amount-too-precise"

    def __init__(self, currency_code: str, exponent: int) -> None:
        if exponent == 0:
            detail = "takes no decimal places"
        elif exponent == 1:
            detail = "takes at most 1 decimal place"
        else:
            detail = f"takes at most {exponent} decimal places"
        super().__init__(f"{currency_code} {detail}")
        self.currency_code = currency_code
        self.exponent = exponent


class AmountOutOfRange(MoneyError):
    """The absolute amount is larger than the stated limit (in minor units)."""

    code = "amount-out-of-range"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the amount must not exceed {limit} minor units in absolute value")
        self.limit = limit


class CurrencyMismatch(MoneyError):
    """Two amounts of different currencies were combined."""

    code = "currency-mismatch"

    def __init__(self, left_code: str, right_code: str) -> None:
        super().__init__(f"cannot combine {left_code} with {right_code}")
        self.left_code = left_code
        self.right_code = right_code


class UnknownCurrency(MoneyError):
    """The currency code is not one walletbridge can hold money in."""

    code = "unknown-currency"

    def __init__(self, currency_code: str, detail: str = "is not a supported currency") -> None:
        super().__init__(f"{currency_code!r} {detail}")
        self.currency_code = currency_code


@dataclass(frozen=True, slots=True)
class Currency:
    """A currency code and its number of minor-unit digits (2 for EUR: 1 EUR = 100 cents)."""

    code: str
    exponent: int

    def __post_init__(self) -> None:
        assert (
            type(self.code) is str
            and len(self.code) == 3
            and self.code.isascii()
            and self.code.isalpha()
            and self.code.isupper()
        ), f"a currency code is three uppercase ASCII letters, not {self.code!r}"
        assert type(self.exponent) is int and 0 <= self.exponent <= _MAX_EXPONENT, (
            f"a currency exponent is an int from 0 to {_MAX_EXPONENT}, not {self.exponent!r}"
        )


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``amount_minor`` minor units of ``currency``.

    There is deliberately no ordering and no multiplication here: comparing or scaling money
    goes through the named functions below so that each rounding decision is visible.
    """

    amount_minor: int
    currency: Currency

    def __post_init__(self) -> None:
        # `type(...) is int` rather than isinstance, because bool is a subclass of int and
        # True must never quietly mean one cent.
        assert type(self.amount_minor) is int, (
            f"amounts are int minor units, not {type(self.amount_minor).__name__}"
        )
        assert isinstance(self.currency, Currency), "money needs a Currency"

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(self.currency.code, other.currency.code)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def to_decimal_string(self) -> str:
        """The amount in major units with exactly ``exponent`` decimals: "12.34", "-0.05"."""
        exponent = self.currency.exponent
        sign = "-" if self.amount_minor < 0 else ""
        whole, fraction = divmod(abs(self.amount_minor), 10**exponent)
        if exponent == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{fraction:0{exponent}d}"


def format_amount(money: Money) -> str:
    """Format an amount as a plain decimal string; the inverse of ``parse_amount``."""
    return money.to_decimal_string()


# The only accepted spelling of an amount: an optional leading minus, then either a lone 0 or
# digits without a leading zero, then optionally a dot followed by at least one digit.
# [0-9] is spelled out (not \d) so that non-ASCII digits such as "١" or "１" never match, and
# the pattern is applied with fullmatch so that a trailing newline is not silently accepted
# the way "$" would accept it. Signs other than "-", exponents, grouping separators,
# underscores, whitespace, NaN and Infinity are all outside the grammar.
_AMOUNT_PATTERN = re.compile(r"(?P<sign>-?)(?P<whole>0|[1-9][0-9]*)(?:\.(?P<fraction>[0-9]+))?")


def parse_amount(
    text: str,
    currency: Currency,
    *,
    allow_zero: bool = False,
    allow_negative: bool = False,
    max_minor: int = MAX_AMOUNT_MINOR,
) -> Money:
    """Parse a strict decimal string such as "12.34" into ``Money`` without any rounding.

    The grammar is ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?`` matched against the whole string.
    Checks run in this order, and the first failure is raised:

    1. not a ``str``, or not in the grammar        -> InvalidAmount
    2. negative zero ("-0", "-0.00")               -> InvalidAmount
    3. negative while ``allow_negative`` is False  -> InvalidAmount
    4. more fractional digits than the exponent    -> TooManyDecimals
       (trailing zeros count, so "1.0" is refused for JPY and "1.100" for EUR)
    5. absolute value above ``max_minor``          -> AmountOutOfRange
    6. zero while ``allow_zero`` is False          -> InvalidAmount
    """
    assert type(max_minor) is int and max_minor >= 0, "max_minor is a non-negative int"
    if not isinstance(text, str):
        raise InvalidAmount(repr(text), f"expected a string, got {type(text).__name__}")
    match = _AMOUNT_PATTERN.fullmatch(text)
    if match is None:
        raise InvalidAmount(text, "expected digits with an optional '-' and '.' like 12.34")
    negative = match["sign"] == "-"
    whole = match["whole"]
    fraction = match["fraction"] or ""
    if negative and whole == "0" and fraction.strip("0") == "":
        raise InvalidAmount(text, "negative zero is not an amount")
    if negative and not allow_negative:
        raise InvalidAmount(text, "a negative amount is not allowed here")
    if len(fraction) > currency.exponent:
        raise TooManyDecimals(currency.code, currency.exponent)
    # The whole part has no leading zeros, so a whole part with more digits than max_minor is
    # out of range already; checking the length first keeps int() away from huge digit strings.
    if len(whole) > len(str(max_minor)):
        raise AmountOutOfRange(max_minor)
    magnitude = int(whole + fraction.ljust(currency.exponent, "0"))
    if magnitude > max_minor:
        raise AmountOutOfRange(max_minor)
    if magnitude == 0 and not allow_zero:
        raise InvalidAmount(text, "a zero amount is not allowed here")
    return Money(-magnitude if negative else magnitude, currency)


def allocate(total: Money, weights: Sequence[int]) -> list[Money]:
    """Split ``total`` into ``len(weights)`` parts proportional to integer ``weights``.

    Uses the largest-remainder method: every part first gets the floor of its exact share,
    then the minor units left over go one each to the parts with the largest remainders,
    ties going to the earliest part. The parts therefore add up to ``total`` exactly, each
    part is within one minor unit of its exact share, and a zero weight always gets zero.
    A negative total is split as its absolute value and negated, so that
    ``allocate(-t, w) == [-p for p in allocate(t, w)]``.

    Raises ValueError for empty weights, a negative weight or only zero weights, and
    TypeError for a weight that is not an int.
    """
    if len(weights) == 0:
        raise ValueError("allocate needs at least one weight")
    for weight in weights:
        if type(weight) is not int:
            raise TypeError(f"weights are ints, not {type(weight).__name__}")
        if weight < 0:
            raise ValueError(f"weights must not be negative, got {weight}")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("at least one weight must be positive")

    magnitude = abs(total.amount_minor)
    shares = [divmod(magnitude * weight, weight_sum) for weight in weights]
    parts = [floor_share for floor_share, _ in shares]
    leftover = magnitude - sum(parts)
    # Sorting on (-remainder, index) puts larger remainders first and breaks ties in favour of
    # the earlier part, which makes the result deterministic for equal weights.
    by_remainder = sorted(range(len(weights)), key=lambda index: (-shares[index][1], index))
    for index in by_remainder[:leftover]:
        parts[index] += 1

    sign = -1 if total.amount_minor < 0 else 1
    return [Money(sign * part, total.currency) for part in parts]


def split_evenly(total: Money, n: int) -> list[Money]:
    """Split ``total`` into ``n`` parts that differ by at most one minor unit, larger first."""
    if type(n) is not int:
        raise TypeError(f"n is an int, not {type(n).__name__}")
    if n < 1:
        raise ValueError(f"cannot split into {n} parts")
    return allocate(total, [1] * n)


def fee_for(
    amount: Money,
    *,
    basis_points: int,
    fixed_minor: int = 0,
    minimum_minor: int = 0,
    maximum_minor: int | None = None,
) -> Money:
    """The fee charged on ``amount``: a percentage plus a fixed part, clamped.

    ``basis_points`` is hundredths of a percent (150 = 1.5 %). The percentage part is rounded
    half-up to the currency's minor unit, ``fixed_minor`` is added, the result is raised to
    ``minimum_minor`` and lowered to ``maximum_minor`` (when given), and finally clamped to
    ``[0, amount]`` whatever the settings say, because a fee is never negative and never
    more than the amount it is charged on. That last clamp wins over the minimum: a minimum
    fee of 1.00 on an amount of 0.50 yields 0.50.

    Fees are defined for non-negative amounts only; a negative amount raises ValueError, as
    do negative settings or a maximum below the minimum.
    """
    for name, value in (
        ("basis_points", basis_points),
        ("fixed_minor", fixed_minor),
        ("minimum_minor", minimum_minor),
    ):
        if type(value) is not int:
            raise TypeError(f"{name} is an int, not {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    if maximum_minor is not None:
        if type(maximum_minor) is not int:
            raise TypeError(f"maximum_minor is an int, not {type(maximum_minor).__name__}")
        if maximum_minor < minimum_minor:
            raise ValueError("maximum_minor must not be below minimum_minor")
    if amount.amount_minor < 0:
        raise ValueError("a fee is only defined for a non-negative amount")

    # Half-up on a non-negative quotient: floor(a * bp / 10_000 + 1/2), in integers only.
    percentage = (2 * amount.amount_minor * basis_points + 10_000) // 20_000
    fee = max(percentage + fixed_minor, minimum_minor)
    if maximum_minor is not None:
        fee = min(fee, maximum_minor)
    fee = min(max(fee, 0), amount.amount_minor)
    return Money(fee, amount.currency)


def convert(amount: Money, rate: Decimal | Fraction, target: Currency) -> Money:
    """Convert ``amount`` into ``target`` at ``rate`` target units per source unit.

    For 1 EUR = 7.8 CNY the rate from EUR to CNY is 7.8. The product is computed exactly as a
    Fraction and rounded once, toward zero, at the target's minor unit. Rounding toward zero
    means a conversion never creates value: converting A -> B at ``r`` and back at exactly
    ``1 / r`` never returns more (in absolute value) than the starting amount.

    Raises ValueError for a rate that is zero, negative, NaN or infinite, and TypeError for a
    rate that is neither a Decimal nor a Fraction (floats in particular are refused).
    """
    if not isinstance(rate, Decimal | Fraction):
        raise TypeError(f"a rate is a Decimal or a Fraction, not {type(rate).__name__}")
    if isinstance(rate, Decimal) and not rate.is_finite():
        raise ValueError(f"a rate must be finite, got {rate}")
    exact_rate = Fraction(rate)
    if exact_rate <= 0:
        raise ValueError(f"a rate must be positive, got {rate}")
    # The exact result is numerator / denominator in target minor units. Integer floor
    # division of the magnitude, with the sign put back afterwards, truncates toward zero;
    # doing it on ints rather than Fraction objects keeps it exact and several times faster.
    numerator = amount.amount_minor * exact_rate.numerator * 10**target.exponent
    denominator = exact_rate.denominator * 10**amount.currency.exponent
    magnitude = abs(numerator) // denominator
    return Money(-magnitude if numerator < 0 else magnitude, target)
