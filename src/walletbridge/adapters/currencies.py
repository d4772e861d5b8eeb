"""Currency lookup backed by the ISO 4217 table shipped in the third-party ``iso4217`` package.

This adapter turns a currency code into a domain ``Currency`` so that the domain layer never
imports third-party code. A code is supported when it is exactly three uppercase ASCII
letters, ISO 4217 lists it, and ISO 4217 gives it a minor unit. Codes without a minor unit
(XAU gold, XDR special drawing rights, XXX "no currency") cannot be counted in integer minor
units, so they are refused with ``UnknownCurrency`` like codes that do not exist. Lowercase or
padded spellings ("eur", " EUR") are refused too rather than normalised: the caller must send
the canonical code.

The exponent comes from ISO 4217 data, not from locale data such as CLDR. The two disagree
for some currencies (ISO 4217 gives the Iraqi dinar IQD three decimals, while CLDR formats it
with none), and a stored minor-unit amount must not change meaning with a display library.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import iso4217  # recent releases ship stubs; pyproject also tells mypy to tolerate old ones

from walletbridge.domain.money import Currency, UnknownCurrency

__all__ = ["Iso4217Catalog", "lookup_currency"]

# Checked before the table is consulted, because the iso4217 package itself is lenient in
# places (its pydantic validator upper-cases input) and we want one strict spelling.
_CODE_PATTERN = re.compile(r"[A-Z]{3}")


def lookup_currency(code: str) -> Currency:
    """The ISO 4217 currency for ``code``, or ``UnknownCurrency`` if it is not supported."""
    if not isinstance(code, str) or _CODE_PATTERN.fullmatch(code) is None:
        shown = code if isinstance(code, str) else repr(code)
        raise UnknownCurrency(shown, "is not three uppercase letters")
    return _lookup_valid_code(code)


# The cache sits behind the shape check so that it is keyed only by well-formed codes and
# keeps the typed signature above. Failed lookups raise and are therefore never cached, so
# the cache is bounded by the size of the ISO table and needs no maxsize.
@functools.cache
def _lookup_valid_code(code: str) -> Currency:
    try:
        entry = iso4217.Currency(code)
    except ValueError:
        raise UnknownCurrency(code, "is not an ISO 4217 currency") from None
    exponent = entry.exponent
    if exponent is None:
        raise UnknownCurrency(code, "has no minor unit in ISO 4217")
    if not 0 <= exponent <= 4:
        # Defensive: the Currency invariant allows 0..4, and a future table with a wider
        # exponent should surface as an unsupported currency rather than an AssertionError.
        raise UnknownCurrency(code, f"has an unsupported exponent {exponent}")
    return Currency(code, exponent)


@dataclass(frozen=True, slots=True)
class Iso4217Catalog:
    """A currency catalogue over ISO 4217; stateless, so one instance can be shared freely."""

    def get(self, code: str) -> Currency:
        return lookup_currency(code)
