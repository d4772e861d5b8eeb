"""The currency catalog agrees with the published ISO 4217 List One in shared/standards."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from walletbridge.adapters.currencies import lookup_currency
from walletbridge.domain.money import UnknownCurrency, parse_amount

LIST_ONE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "standards"
    / "iso4217"
    / ("iso4217-currencies.csv")
)


def rows() -> list[dict[str, str]]:
    if not LIST_ONE.exists():
        pytest.skip(f"the ISO 4217 reference file is not beside the repository: {LIST_ONE}")
    with LIST_ONE.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_currency_with_minor_units_has_the_published_exponent() -> None:
    checked = 0
    for row in rows():
        if row["minor_units"] in ("", "N.A."):
            with pytest.raises(UnknownCurrency):
                lookup_currency(row["alpha3"])
            continue
        assert lookup_currency(row["alpha3"]).exponent == int(row["minor_units"]), row
        checked += 1
    assert checked > 150


def test_one_more_decimal_than_published_is_refused_for_every_currency() -> None:
    for row in rows():
        if row["minor_units"] in ("", "N.A."):
            continue
        currency = lookup_currency(row["alpha3"])
        exponent = int(row["minor_units"])
        allowed = "1" if exponent == 0 else "1." + "0" * (exponent - 1) + "1"
        assert parse_amount(allowed, currency).amount_minor == (
            1 if exponent == 0 else 10**exponent + 1
        )
        with pytest.raises(ValueError, match=r".*"):
            parse_amount("1." + "0" * exponent + "1", currency)
