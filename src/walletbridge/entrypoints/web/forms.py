"""Form handling shared by every page: what was typed, what is wrong with it, and where to say so.

A ``Form`` keeps the submitted values (so nothing typed is lost when the page comes back with an
error; passwords and codes are the exception, they are never echoed) and one message per field.
A domain error is put next to the field it concerns (``fail``); errors that concern no single
field go to the top of the form (field ``""``).

Money-moving forms carry an idempotency key, minted when the form is rendered and sent back as a
hidden field: a double click, or a resubmitted page, reaches the service with the same key, so it
pays once. A form shown again after a refusal gets a new key.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from litestar.enums import RequestEncodingType
from litestar.params import Body

from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import MoneyError
from walletbridge.entrypoints.web.context import Msg

FormBody = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
"""A submitted form, field name → value (a repeated field keeps its last value)."""
KEY_FIELD = "idempotency_key"
SECRET_FIELDS = frozenset(
    {"password", "current_password", "new_password", "code", "recovery_code", "token"}
)
MAX_FIELD_LENGTH = 2000

MONEY_MESSAGES: Mapping[str, str] = {
    "invalid-amount": "Enter an amount greater than zero, such as 12.34.",
    "amount-too-precise": "{currency} amounts have at most {exponent} decimal places.",
    "amount-out-of-range": "That amount is too large.",
    "unknown-currency": "{currency} is not a currency this wallet holds.",
    "currency-mismatch": "The amounts are in different currencies.",
}


def new_form_key() -> str:
    return secrets.token_urlsafe(18)


@dataclass
class Form:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, Msg] = field(default_factory=dict)

    @classmethod
    def of(cls, data: Mapping[str, object] | None, **defaults: str) -> Form:
        values = dict(defaults)
        for name, value in (data or {}).items():
            if isinstance(value, list):
                value = value[-1] if value else ""
            values[name] = str(value)[:MAX_FIELD_LENGTH]
        return cls(values)

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def raw(self, name: str) -> str:
        """The value exactly as typed (passwords: no stripping)."""
        return self.values.get(name, "")

    def shown(self, name: str) -> str:
        """The value to put back into the field: empty for secrets."""
        return "" if name in SECRET_FIELDS else self.values.get(name, "")

    def require(self, *names: str) -> bool:
        for name in names:
            if not self.get(name):
                self.error(name, Msg("This field is required."))
        return self.ok

    def error(self, name: str, message: Msg) -> None:
        self.errors.setdefault(name, message)

    def fail(self, error: DomainError | MoneyError, name: str = "") -> None:
        if isinstance(error, MoneyError):
            self.error(name, money_message(error))
        else:
            self.error(name, Msg.of(error))

    @property
    def ok(self) -> bool:
        return not self.errors

    def fresh_key(self) -> None:
        self.values[KEY_FIELD] = new_form_key()

    def key(self) -> str:
        return self.get(KEY_FIELD)[:255]


def money_message(error: MoneyError) -> Msg:
    values: dict[str, object] = {
        "currency": getattr(error, "currency_code", ""),
        "exponent": getattr(error, "exponent", ""),
    }
    return Msg(MONEY_MESSAGES.get(error.code, "Enter an amount such as 12.34."), values)
