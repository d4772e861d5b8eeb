"""Wallet rules without a database: fees (R-11), limits and their periods, idempotency keys,
stored refusals, and CSV cells that cannot run as formulas."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walletbridge.domain.errors import ErrorKind
from walletbridge.domain.fees import P2P, FeeSchedule, InvalidFeeSchedule
from walletbridge.domain.limits import InvalidLimits, TierLimits, day_period, month_period
from walletbridge.domain.money import Currency, Money
from walletbridge.domain.payments import (
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    InvalidPayment,
    request_hash,
    validate_idempotency_key,
    validate_note,
)
from walletbridge.domain.wallets import CurrencyNotOffered, default_configuration
from walletbridge.services.history import neutralise
from walletbridge.services.idempotency import ReplayedRefusal, replayed_refusal

EUR = Currency("EUR", 2)
schedules = st.builds(
    FeeSchedule,
    product=st.just(P2P),
    currency=st.just("EUR"),
    fixed_minor=st.integers(0, 10_000),
    basis_points=st.integers(0, 10_000),
    minimum_minor=st.integers(0, 10_000),
    maximum_minor=st.one_of(st.none(), st.integers(10_000, 100_000)),
)


@given(schedule=schedules, amount=st.integers(1, 10**15))
def test_a_fee_is_never_negative_nor_above_the_amount(schedule: FeeSchedule, amount: int) -> None:
    fee = schedule.fee_minor(amount)
    assert 0 <= fee <= amount


@given(amount=st.integers(1, 10**12), basis_points=st.integers(1, 10_000))
def test_the_percentage_part_is_rounded_up_never_down(amount: int, basis_points: int) -> None:
    fee = FeeSchedule(P2P, "EUR", basis_points=basis_points).fee_minor(amount)
    exact_times_10k = amount * basis_points
    assert fee * 10_000 >= exact_times_10k
    assert (fee - 1) * 10_000 < exact_times_10k


def test_a_fee_schedule_is_clamped_and_validated() -> None:
    schedule = FeeSchedule(P2P, "EUR", fixed_minor=30, basis_points=100, maximum_minor=500)
    assert schedule.fee(Money(100_000_00, EUR)) == Money(500, EUR)
    assert schedule.fee_minor(10) == 10  # never above the amount, whatever the fixed part
    with pytest.raises(InvalidFeeSchedule):
        FeeSchedule(P2P, "EUR", basis_points=10_001).validate()
    with pytest.raises(InvalidFeeSchedule):
        FeeSchedule(P2P, "EUR", minimum_minor=10, maximum_minor=5).validate()


def test_limits_must_nest_per_transaction_within_daily_within_monthly() -> None:
    with pytest.raises(InvalidLimits):
        TierLimits(1, "EUR", 100, 50, 1_000, 1_000).validate()
    TierLimits(1, "EUR", 50, 100, 1_000, 1_000).validate()


def test_periods_are_utc_calendar_days_and_months() -> None:
    last_microsecond_of_january = 1_769_904_000_000_000 - 1  # 2026-02-01T00:00:00Z - 1 us
    assert day_period(last_microsecond_of_january) == "day:2026-01-31"
    assert month_period(last_microsecond_of_january) == "month:2026-01"
    assert month_period(last_microsecond_of_january + 1) == "month:2026-02"


def test_the_default_configuration_is_valid_and_refuses_unoffered_currencies() -> None:
    configuration = default_configuration(EUR)
    configuration.validate()
    assert {tier.tier for tier in configuration.tiers} == {0, 1, 2, 3}
    broken = default_configuration(Currency("CNY", 2))
    from dataclasses import replace

    with pytest.raises(CurrencyNotOffered):
        replace(broken, fees=configuration.fees).validate()


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (None, IdempotencyKeyMissing),
        ("", IdempotencyKeyInvalid),
        ("k" * 256, IdempotencyKeyInvalid),
        ("caf\u00e9", IdempotencyKeyInvalid),
        ("tab\there", IdempotencyKeyInvalid),
    ],
)
def test_idempotency_keys_are_1_to_255_printable_ascii(key: str | None, error: type) -> None:
    with pytest.raises(error):
        validate_idempotency_key(key)
    assert validate_idempotency_key("k" * 255) == "k" * 255


def test_a_request_hash_depends_on_every_field_but_not_on_key_order() -> None:
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


def test_notes_are_short_single_lines() -> None:
    assert validate_note("rent") == "rent"
    for bad in ("x" * 141, "two\nlines"):
        with pytest.raises(InvalidPayment):
            validate_note(bad)


def test_a_stored_refusal_is_raised_again_with_its_code_kind_and_public_fields() -> None:
    refusal = replayed_refusal(
        {
            "code": "limit-exceeded",
            "kind": "invalid",
            "message": "The payment is over the {daily} limit",
            "extensions": {"limit": "daily", "remaining": "1.00", "currency": "EUR"},
        }
    )
    assert isinstance(refusal, ReplayedRefusal)
    assert refusal.code == "limit-exceeded"
    assert refusal.kind is ErrorKind.INVALID
    assert refusal.message == "The payment is over the {daily} limit"
    assert refusal.extensions == {"limit": "daily", "remaining": "1.00", "currency": "EUR"}


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_could_run_as_formulas_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


def test_ordinary_csv_cells_are_left_alone() -> None:
    assert neutralise("Concert tickets") == "Concert tickets"
    assert neutralise("12.50") == "12.50"
