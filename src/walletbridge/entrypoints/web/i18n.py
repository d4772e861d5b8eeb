"""Languages of the web app: which one a page speaks, its catalog, and locale-aware formatting.

The msgids are English, so English needs no catalog of its own beyond the template one; zh-CN
has ``translations/zh_CN/LC_MESSAGES/*.po``. The ``.po`` files are read with Babel when the app
starts (no compiled ``.mo`` files are kept in the repository). Several ``.po`` files per locale
are merged into one catalog, so each area of the app keeps its strings in its own file.

Amounts are formatted from integer minor units with the currency's ISO 4217 exponent (never the
locale's idea of it), through ``Decimal``; dates are shown in the locale's display time zone.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from walletbridge.domain.identity import SUPPORTED_LOCALES
from walletbridge.domain.instants import utc_moment
from walletbridge.domain.money import Money

TRANSLATIONS = Path(__file__).parent / "translations"
LOCALES: tuple[str, ...] = SUPPORTED_LOCALES
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}
DISPLAY_ZONES = {"en": "UTC", "zh-CN": "Asia/Shanghai"}
"""Where a locale's readers are assumed to be when times are shown (the zone is printed too)."""
_FRACTION = re.compile(r"\.0+")
_LETTER_BESIDE_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def language_choices() -> list[tuple[str, str]]:
    """The languages a person can pick, as (code, name in that language)."""
    return [(code, LANGUAGE_NAMES[code]) for code in LOCALES]


def babel_name(locale: str) -> str:
    """``zh-CN`` → ``zh_CN``: the name Babel and the catalog folders use."""
    return locale.replace("-", "_")


def negotiate(accept_language: str | None, default: str) -> str:
    """The supported locale an ``Accept-Language`` header prefers most, else ``default``.

    Quality values are honoured; ``zh``, ``zh-Hans`` and ``zh-SG`` count as zh-CN, any ``en-*``
    as en. Malformed parts are skipped rather than refused: the header is a hint.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        found = _supported(tag.strip())
        if found is not None and quality > 0:
            ranked.append((-quality, position, found))
    return min(ranked)[2] if ranked else default


def _supported(tag: str) -> str | None:
    lowered = tag.lower()
    if lowered == "zh" or lowered.startswith(("zh-cn", "zh-hans", "zh-sg")):
        return "zh-CN"
    if lowered == "en" or lowered.startswith("en-"):
        return "en"
    return None


@cache
def translations(locale: str) -> NullTranslations:
    """The merged catalog of ``locale`` (cached for the life of the process)."""
    folder = TRANSLATIONS / babel_name(locale) / "LC_MESSAGES"
    merged: NullTranslations = NullTranslations()
    files = sorted(folder.glob("*.po")) if folder.is_dir() else []
    for path in files:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=babel_name(locale))
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        loaded = Translations(buffer)
        if isinstance(merged, Translations):
            merged.merge(loaded)
        else:
            merged = loaded
    return merged


@cache
def _babel_locale(locale: str) -> Locale:
    """Babel's locale data, parsed once per process (every amount on a page needs it)."""
    return Locale.parse(babel_name(locale))


@dataclass(frozen=True)
class Formatter:
    """Numbers, money and instants as people of ``locale`` write them."""

    locale: str

    @property
    def _babel(self) -> Locale:
        return _babel_locale(self.locale)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(DISPLAY_ZONES.get(self.locale, "UTC"))

    def money(self, money: Money) -> str:
        return self.amount(money.amount_minor, money.currency.code, money.currency.exponent)

    def amount(self, amount_minor: int, currency: str, exponent: int) -> str:
        value = Decimal(amount_minor).scaleb(-exponent)
        # The locale's currency pattern with exactly ``exponent`` decimals: 1.000 KWD keeps its
        # three, ¥123 has none, whatever the locale's two-decimal default says.
        standard = self._babel.currency_formats["standard"].pattern
        pattern = _FRACTION.sub("." + "0" * exponent if exponent else "", standard)
        text = format_currency(
            value, currency, format=pattern, locale=self._babel, currency_digits=False
        )
        # CLDR's currency spacing, which Babel does not apply: a symbol made of letters ("KWD")
        # is kept apart from the digits by a no-break space; "$", "¥" and "€" are not.
        return _LETTER_BESIDE_DIGIT.sub("\u00a0", text)

    def decimal_amount(self, text: str, currency: str) -> str:
        """An API-style decimal string ("12.34") with its currency, formatted for the locale."""
        value = Decimal(text)
        exponent = max(0, -int(value.as_tuple().exponent))
        return self.amount(int(value.scaleb(exponent)), currency, exponent)

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self._babel)

    def instant(self, at_us: int) -> str:
        moment = utc_moment(at_us)
        return format_datetime(moment, "medium", tzinfo=self.zone, locale=self._babel)

    def iso_instant(self, text: str) -> str:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return format_datetime(moment, "medium", tzinfo=self.zone, locale=self._babel)

    def day(self, at_us: int) -> str:
        moment = utc_moment(at_us).astimezone(self.zone)
        return format_date(moment, "medium", locale=self._babel)

    def zone_name(self) -> str:
        return DISPLAY_ZONES.get(self.locale, "UTC")
