"""Refusals read naturally in the page's language: amounts inside messages are formatted for the
locale, the code's vocabulary is translated, and a person's own words are left alone."""

from __future__ import annotations

from walletbridge.entrypoints.web.context import Msg, translate

OVER_LIMIT = "The payment is over the {limit} limit; {remaining} {currency} remains."


def test_an_amount_named_apart_from_its_currency_is_shown_as_one_formatted_amount() -> None:
    message = Msg(OVER_LIMIT, {"limit": "daily", "remaining": "1234.50", "currency": "EUR"})
    assert translate("en", message) == "The payment is over the daily limit; €1,234.50 remains."
    assert translate("zh-CN", message) == "此笔付款超出每日限额，剩余额度为 €1,234.50。"


def test_an_amount_with_its_currency_in_one_value_is_formatted_too() -> None:
    assert translate("en", "Left: {left}", left="12.00 CNY") == "Left: CN¥12.00"
    assert translate("zh-CN", "Left: {left}", left="12.00 CNY") == "Left: ¥12.00"


def test_only_vocabulary_fields_are_translated_never_a_persons_words() -> None:
    assert translate("zh-CN", "{limit}", limit="daily") == "每日"
    assert translate("zh-CN", "{nickname}", nickname="daily") == "daily"


def test_a_value_that_only_looks_half_like_an_amount_is_left_as_it_is() -> None:
    message = Msg(OVER_LIMIT, {"limit": "daily", "remaining": "lots", "currency": "EUR"})
    assert translate("en", message) == "The payment is over the daily limit; lots EUR remains."
