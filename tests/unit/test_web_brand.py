"""A tenant's brand colour reaches the page without breaking WCAG AA contrast."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from walletbridge.entrypoints.web.pages_common import (
    brand_stylesheet,
    contrast,
    darken_until,
    logo_svg,
)

colours = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")


def test_contrast_matches_the_wcag_formula_at_its_known_points() -> None:
    assert round(contrast("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast("#ffffff", "#ffffff"), 2) == 1.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54


@given(colours)
def test_the_brand_colour_on_white_is_darkened_to_at_least_4_5_to_1(colour: str) -> None:
    adjusted = darken_until(colour, "#ffffff", 4.5)
    assert contrast(adjusted, "#ffffff") >= 4.5
    if contrast(colour, "#ffffff") >= 4.5:
        assert adjusted == colour


@given(colours)
def test_button_text_on_the_brand_colour_reaches_aa(colour: str) -> None:
    sheet = brand_stylesheet(colour)
    button = re.search(r"--bs-btn-bg: (#[0-9a-f]{6})", sheet)
    text = re.search(r"--bs-btn-color: (#[0-9a-f]{6})", sheet)
    assert button and text
    assert contrast(button.group(1), text.group(1)) >= 4.5


def test_the_logo_escapes_its_text() -> None:
    svg = logo_svg("<b>&", "#0a7d5a")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
