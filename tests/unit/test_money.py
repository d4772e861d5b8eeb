"""Unit tests for walletbridge.domain.money and the ISO 4217 currency adapter."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walletbridge.adapters.currencies import Iso4217Catalog, lookup_currency
from walletbridge.domain.money import (
    MAX_AMOUNT_MINOR,
    AmountOutOfRange,
    Currency,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    MoneyError,
    TooManyDecimals,
    UnknownCurrency,
    allocate,
    convert,
    fee_for,
    format_amount,
    parse_amount,
    split_evenly,
)

EUR = Currency("EUR", 2)
USD = Currency("USD", 2)
JPY = Currency("JPY", 0)
KWD = Currency("KWD", 3)
CLF = Currency("CLF", 4)
CNY = Currency("CNY", 2)
# No ISO currency has exactly one decimal today; the domain does not care, so the tests
# use a made-up code to cover that exponent as well.
ONE_DECIMAL = Currency("XOD", 1)
CURRENCIES = [JPY, ONE_DECIMAL, EUR, KWD, CLF]

# Money bugs hide at boundaries, so the properties run many examples. Timing varies with the
# size of the integers involved, which is why there is no per-example deadline.
PROPERTY = settings(max_examples=10_000, deadline=None)

amounts_in_range = st.integers(min_value=-MAX_AMOUNT_MINOR, max_value=MAX_AMOUNT_MINOR)


# --- the value objects ------------------------------------------------------------------


def test_an_amount_is_written_with_exactly_the_currencys_decimals() -> None:
    assert Money(1234, EUR).to_decimal_string() == "12.34"
    assert Money(-5, EUR).to_decimal_string() == "-0.05"
    assert Money(0, EUR).to_decimal_string() == "0.00"
    assert Money(500, JPY).to_decimal_string() == "500"
    assert Money(-500, JPY).to_decimal_string() == "-500"
    assert Money(1, KWD).to_decimal_string() == "0.001"
    assert Money(123456, CLF).to_decimal_string() == "12.3456"
    assert format_amount(Money(1234, EUR)) == "12.34"


def test_amounts_of_the_same_currency_add_subtract_and_negate() -> None:
    assert Money(150, EUR) + Money(25, EUR) == Money(175, EUR)
    assert Money(150, EUR) - Money(200, EUR) == Money(-50, EUR)
    assert -Money(150, EUR) == Money(-150, EUR)
    assert Money(0, EUR).is_zero()
    assert not Money(1, EUR).is_zero()


def test_adding_amounts_of_different_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch) as caught:
        _ = Money(100, EUR) + Money(100, USD)
    assert caught.value.code == "currency-mismatch"
    with pytest.raises(CurrencyMismatch):
        _ = Money(100, EUR) - Money(100, USD)


def test_adding_something_that_is_not_money_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Money(100, EUR) + 1  # type: ignore[operator]


@pytest.mark.parametrize("amount", [1.0, True, Decimal(1), Fraction(1), "1"])
def test_an_amount_that_is_not_a_plain_int_is_refused(amount: object) -> None:
    with pytest.raises(AssertionError):
        Money(amount, EUR)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("eur", 2), ("EURO", 2), ("EU", 2), ("E1R", 2), ("ÉUR", 2), ("EUR", -1), ("EUR", 5)],
)
def test_a_currency_needs_three_uppercase_letters_and_an_exponent_from_0_to_4(
    code: str, exponent: int
) -> None:
    with pytest.raises(AssertionError):
        Currency(code, exponent)


def test_every_money_error_is_a_value_error_with_a_stable_code() -> None:
    codes = {
        InvalidAmount: "invalid-amount",
        TooManyDecimals: "amount-too-precise",
        AmountOutOfRange: "amount-out-of-range",
        CurrencyMismatch: "currency-mismatch",
        UnknownCurrency: "unknown-currency",
    }
    for error_class, code in codes.items():
        assert issubclass(error_class, MoneyError)
        assert issubclass(error_class, ValueError)
        assert error_class.code == code


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "expected_minor"),
    [
        ("12.34", EUR, 1234),
        ("1.1", EUR, 110),
        ("1.10", EUR, 110),
        ("1", EUR, 100),
        ("0.01", EUR, 1),
        ("500", JPY, 500),
        ("0.001", KWD, 1),
        ("1.0001", CLF, 10001),
        ("10000000000000.00", EUR, MAX_AMOUNT_MINOR),
    ],
)
def test_a_well_formed_amount_is_parsed_into_exact_minor_units(
    text: str, currency: Currency, expected_minor: int
) -> None:
    assert parse_amount(text, currency) == Money(expected_minor, currency)


def test_zero_and_negative_amounts_are_accepted_only_when_asked_for() -> None:
    assert parse_amount("0", EUR, allow_zero=True) == Money(0, EUR)
    assert parse_amount("0.00", EUR, allow_zero=True) == Money(0, EUR)
    assert parse_amount("-1.50", EUR, allow_negative=True) == Money(-150, EUR)


@pytest.mark.parametrize(
    "text",
    [
        "1,00",
        "1 000",
        " 1",
        "1 ",
        "1\n",
        "\t1",
        "1e3",
        "1E3",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "+1",
        "--1",
        "",
        "-",
        ".",
        ".5",
        "1.",
        "-.5",
        "01",
        "00.5",
        "-01",
        "0x10",
        "1_000",
        "1.2.3",
        "١",
        "١٢.٣٤",
        "１",
        "½",
    ],
)
def test_a_string_outside_the_strict_amount_grammar_is_refused(text: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text, EUR, allow_zero=True, allow_negative=True)
    assert caught.value.code == "invalid-amount"
    assert caught.value.text == text


@pytest.mark.parametrize("text", ["-0", "-0.00", "-0.0"])
def test_negative_zero_is_refused_even_when_zero_and_negatives_are_allowed(text: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text, EUR, allow_zero=True, allow_negative=True)
    assert caught.value.code == "invalid-amount"


@pytest.mark.parametrize("value", [100, 1.5, Decimal("1.00"), b"1.00", None])
def test_an_amount_that_is_not_a_string_is_refused(value: object) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(value, EUR)  # type: ignore[arg-type]
    assert caught.value.code == "invalid-amount"


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("0.001", EUR),
        ("1.100", EUR),
        ("1.5", JPY),
        ("1.0", JPY),
        ("0.0001", KWD),
        ("1.00001", CLF),
        ("0.000", EUR),
    ],
)
def test_an_amount_with_more_decimals_than_the_currency_allows_is_refused(
    text: str, currency: Currency
) -> None:
    with pytest.raises(TooManyDecimals) as caught:
        parse_amount(text, currency, allow_zero=True)
    assert caught.value.code == "amount-too-precise"
    assert caught.value.currency_code == currency.code
    assert caught.value.exponent == currency.exponent


@pytest.mark.parametrize("text", ["0", "0.00", "0.0"])
def test_a_zero_amount_is_refused_by_default(text: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text, EUR)
    assert caught.value.code == "invalid-amount"


def test_a_negative_amount_is_refused_by_default() -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount("-1.00", EUR)
    assert caught.value.code == "invalid-amount"


@pytest.mark.parametrize(
    ("text", "max_minor"),
    [
        ("10000000000000.01", MAX_AMOUNT_MINOR),
        ("-10000000000000.01", MAX_AMOUNT_MINOR),
        ("99999999999999999999999999999999", MAX_AMOUNT_MINOR),
        ("1" + "0" * 5000, MAX_AMOUNT_MINOR),
        ("100.01", 10_000),
    ],
)
def test_an_amount_above_the_limit_is_refused(text: str, max_minor: int) -> None:
    with pytest.raises(AmountOutOfRange) as caught:
        parse_amount(text, EUR, allow_negative=True, max_minor=max_minor)
    assert caught.value.code == "amount-out-of-range"
    assert caught.value.limit == max_minor


def test_an_amount_exactly_at_a_custom_limit_is_accepted() -> None:
    assert parse_amount("100.00", EUR, max_minor=10_000) == Money(10_000, EUR)


@PROPERTY
@given(amount_minor=amounts_in_range)
def test_formatting_then_parsing_gives_back_the_same_money(amount_minor: int) -> None:
    # Every exponent is checked for each drawn amount: the loop is cheaper than a draw.
    for currency in CURRENCIES:
        money = Money(amount_minor, currency)
        text = format_amount(money)
        assert parse_amount(text, currency, allow_zero=True, allow_negative=True) == money


# --- allocation -------------------------------------------------------------------------


def test_a_total_is_split_by_largest_remainder_with_ties_going_to_the_earliest_part() -> None:
    parts = allocate(Money(100, EUR), [1, 1, 1])
    assert [part.amount_minor for part in parts] == [34, 33, 33]
    parts = allocate(Money(5, EUR), [3, 7])
    assert [part.amount_minor for part in parts] == [2, 3]  # 1.5 and 3.5: the tie goes first
    parts = allocate(Money(10, EUR), [0, 1, 2])
    assert [part.amount_minor for part in parts] == [0, 3, 7]


def test_a_negative_total_is_split_as_the_mirror_image_of_the_positive_one() -> None:
    parts = allocate(Money(-100, EUR), [1, 1, 1])
    assert [part.amount_minor for part in parts] == [-34, -33, -33]


def test_splitting_evenly_gives_parts_one_unit_apart_at_most() -> None:
    parts = split_evenly(Money(10, JPY), 4)
    assert [part.amount_minor for part in parts] == [3, 3, 2, 2]
    assert all(part.currency == JPY for part in parts)


@pytest.mark.parametrize("weights", [[], [1, -1], [0, 0]])
def test_allocating_with_empty_negative_or_all_zero_weights_is_a_value_error(
    weights: list[int],
) -> None:
    with pytest.raises(ValueError, match=r"weight"):
        allocate(Money(100, EUR), weights)


def test_splitting_into_no_parts_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"0 parts"):
        split_evenly(Money(100, EUR), 0)


@PROPERTY
@given(
    total=amounts_in_range,
    weights=st.lists(st.integers(min_value=0, max_value=1_000), min_size=1, max_size=8).filter(any),
)
def test_allocated_parts_add_up_exactly_and_stay_within_one_unit_of_their_share(
    total: int, weights: list[int]
) -> None:
    parts = [part.amount_minor for part in allocate(Money(total, EUR), weights)]
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - Fraction(total * weight, weight_sum)) < 1

    even = [part.amount_minor for part in split_evenly(Money(total, EUR), len(weights))]
    assert sum(even) == total
    assert max(even) - min(even) <= 1


# --- fees -------------------------------------------------------------------------------


def test_a_percentage_fee_is_rounded_half_up_to_the_minor_unit() -> None:
    assert fee_for(Money(1000, EUR), basis_points=150) == Money(15, EUR)
    assert fee_for(Money(100, EUR), basis_points=50) == Money(1, EUR)  # 0.5 rounds up
    assert fee_for(Money(100, EUR), basis_points=49) == Money(0, EUR)  # 0.49 rounds down
    assert fee_for(Money(1000, EUR), basis_points=150, fixed_minor=25) == Money(40, EUR)


def test_a_fee_is_raised_to_the_minimum_and_lowered_to_the_maximum() -> None:
    assert fee_for(Money(1000, EUR), basis_points=10, minimum_minor=50) == Money(50, EUR)
    assert fee_for(Money(10**6, EUR), basis_points=100, maximum_minor=500) == Money(500, EUR)


def test_a_fee_is_never_above_the_amount_even_when_the_minimum_is() -> None:
    assert fee_for(Money(30, EUR), basis_points=0, minimum_minor=100) == Money(30, EUR)
    assert fee_for(Money(30, EUR), basis_points=20_000) == Money(30, EUR)
    assert fee_for(Money(0, EUR), basis_points=100, fixed_minor=25) == Money(0, EUR)


def test_a_fee_on_a_negative_amount_or_with_negative_settings_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"non-negative amount"):
        fee_for(Money(-100, EUR), basis_points=100)
    with pytest.raises(ValueError, match=r"basis_points"):
        fee_for(Money(100, EUR), basis_points=-1)
    with pytest.raises(ValueError, match=r"maximum_minor"):
        fee_for(Money(100, EUR), basis_points=1, minimum_minor=10, maximum_minor=5)


@PROPERTY
@given(
    amount=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR),
    basis_points=st.integers(min_value=0, max_value=20_000),
    fixed_minor=st.integers(min_value=0, max_value=10_000),
    minimum_minor=st.integers(min_value=0, max_value=10_000),
    extra_for_maximum=st.none() | st.integers(min_value=0, max_value=10_000),
)
def test_a_fee_is_always_between_zero_and_the_amount(
    amount: int,
    basis_points: int,
    fixed_minor: int,
    minimum_minor: int,
    extra_for_maximum: int | None,
) -> None:
    maximum_minor = None if extra_for_maximum is None else minimum_minor + extra_for_maximum
    fee = fee_for(
        Money(amount, EUR),
        basis_points=basis_points,
        fixed_minor=fixed_minor,
        minimum_minor=minimum_minor,
        maximum_minor=maximum_minor,
    )
    assert fee.currency == EUR
    assert 0 <= fee.amount_minor <= amount


# --- conversion -------------------------------------------------------------------------


def test_converting_multiplies_by_the_rate_and_moves_to_the_target_exponent() -> None:
    assert convert(Money(1000, EUR), Decimal("7.8"), CNY) == Money(7800, CNY)
    assert convert(Money(100, JPY), Decimal("0.0061"), EUR) == Money(61, EUR)
    assert convert(Money(100, EUR), Fraction(1, 3), KWD) == Money(333, KWD)


def test_converting_rounds_toward_zero_once() -> None:
    assert convert(Money(1, EUR), Decimal("0.5"), USD) == Money(0, USD)
    assert convert(Money(-199, EUR), Decimal("0.01"), JPY) == Money(0, JPY)
    assert convert(Money(-250, EUR), Decimal("1.5"), USD) == Money(-375, USD)


@pytest.mark.parametrize(
    "rate", [Decimal(0), Decimal("-1.5"), Decimal("NaN"), Decimal("Infinity"), Fraction(-1, 2)]
)
def test_a_rate_that_is_not_positive_and_finite_is_a_value_error(
    rate: Decimal | Fraction,
) -> None:
    with pytest.raises(ValueError, match=r"rate"):
        convert(Money(100, EUR), rate, USD)


def test_a_float_rate_is_refused() -> None:
    with pytest.raises(TypeError):
        convert(Money(100, EUR), 1.5, USD)  # type: ignore[arg-type]


@PROPERTY
@given(amount_minor=amounts_in_range, rate_units=st.integers(min_value=1, max_value=10**18))
def test_converting_there_and_back_never_returns_more_than_the_start(
    amount_minor: int, rate_units: int
) -> None:
    # The rate is rate_units / 10**9, so rates run from 0.000000001 to 1,000,000,000;
    # scaleb moves the decimal point without rounding, so the Decimal is exact, and the way
    # back uses the exact reciprocal. Every pair of exponents is checked for each draw.
    rate = Decimal(rate_units).scaleb(-9)
    inverse = 1 / Fraction(rate)
    for source in CURRENCIES:
        start = Money(amount_minor, source)
        for target in CURRENCIES:
            back = convert(convert(start, rate, target), inverse, source)
            assert back.currency == source
            assert abs(back.amount_minor) <= abs(amount_minor)
            assert back.amount_minor * amount_minor >= 0  # the sign never flips


# --- the ISO 4217 adapter ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exponent"), [("EUR", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("IQD", 3)]
)
def test_a_currency_takes_its_exponent_from_iso_4217(code: str, exponent: int) -> None:
    assert lookup_currency(code) == Currency(code, exponent)
    assert Iso4217Catalog().get(code) == Currency(code, exponent)


@pytest.mark.parametrize(
    "code", ["XAU", "XDR", "XXX", "eur", "Eur", " EUR", "EUR ", "ZZZ", "", "EURO", "€"]
)
def test_an_unknown_malformed_or_unitless_currency_code_is_refused(code: str) -> None:
    with pytest.raises(UnknownCurrency) as caught:
        lookup_currency(code)
    assert caught.value.code == "unknown-currency"
    with pytest.raises(UnknownCurrency):
        Iso4217Catalog().get(code)


def test_a_currency_code_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        lookup_currency(978)  # type: ignore[arg-type]


def test_looking_up_the_same_currency_twice_gives_the_cached_object() -> None:
    assert lookup_currency("EUR") is lookup_currency("EUR")
