"""Refusals as the money pages show them: which domain error a refusal was, its message in the
person's language, and the form field it belongs next to.

A refusal stored against an idempotency key comes back, when the key is sent again, as a
``ReplayedRefusal`` that carries only the original's code and public fields, and an English
message no catalog can translate. ``error_classes`` maps every code to the ``DomainError``
classes that carry it (found by walking ``DomainError``'s subclasses), so the page can show the
original class's template, translated, filled in with those fields. A few refusals read better
said for a person than as the API words them (insufficient funds names an internal account id):
``PAGE_MESSAGES`` words those, the same for a first refusal and its replay.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache

# The modules below define DomainError subclasses; importing them makes the registry complete
# whichever page asks first.
import walletbridge.domain.actors
import walletbridge.domain.contacts
import walletbridge.domain.identity
import walletbridge.domain.limits
import walletbridge.domain.payments
import walletbridge.domain.throttle
import walletbridge.domain.wallets  # noqa: F401
from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.limits import PayeeLimitExceeded
from walletbridge.entrypoints.web.context import Msg
from walletbridge.entrypoints.web.forms import Form
from walletbridge.services.idempotency import Outcome, ReplayedRefusal, replayed_refusal

PAGE_MESSAGES: Mapping[str, Msg] = {
    "insufficient-funds": Msg("Your balance is not enough for this amount and its fee."),
    "balance-ceiling-exceeded": Msg(PayeeLimitExceeded.template),
    "contact-invalid": Msg(
        "Enter a handle, an email address, or a phone number with its country code "
        "(like +8613800138000)."
    ),
    "idempotency-request-in-flight": Msg(
        "This payment is still being processed. Check your history before you send it again."
    ),
    "idempotency-key-reused": Msg(
        "This form was already used for another payment. Check your history, then start again."
    ),
    "idempotency-key-missing": Msg("The form has expired. Check the payment and send it again."),
    "idempotency-key-invalid": Msg("The form has expired. Check the payment and send it again."),
}
"""Refusals whose API message is not one a person should read (it names internal ids)."""

FIELD_OF: Mapping[str, str] = {
    "recipient-not-found": "to",
    "self-payment": "to",
    "contact-invalid": "to",
    "payee-exists": "to",
    "insufficient-funds": "amount",
    "limit-exceeded": "amount",
    "balance-ceiling-exceeded": "amount",
    "payment-invalid": "amount",
    "currency-not-offered": "currency",
    "tenant-not-configured": "currency",
}
"""The form field a refusal concerns; anything else is said at the top of the form."""

FALLBACK = Msg("That was refused.")
"""What a refusal says when its own message cannot be shown. Payments, payees and requests to
pay all come here, so it names none of them."""


@cache
def error_classes() -> Mapping[str, tuple[type[DomainError], ...]]:
    """Every concrete ``DomainError`` class by its code (several classes may share a code).

    Replayed refusals are classes made at run time with the original's code; they are left out.
    """
    found: dict[str, list[type[DomainError]]] = {}
    pending: list[type[DomainError]] = list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop()
        if issubclass(cls, ReplayedRefusal):
            continue
        pending.extend(cls.__subclasses__())
        found.setdefault(cls.code, []).append(cls)
    # The class whose template uses the most of the fields is the most specific fit.
    return {
        code: tuple(sorted(classes, key=lambda c: (-len(placeholders(c.template)), c.__name__)))
        for code, classes in found.items()
    }


def placeholders(template: str) -> frozenset[str]:
    names = (name for _, name, _, _ in string.Formatter().parse(template) if name)
    return frozenset(name.split(".")[0].split("[")[0] for name in names)


def refusal_message(error: DomainError) -> Msg:
    """What to tell the person about ``error``, as a translatable message."""
    fields = dict(error.fields)
    worded = PAGE_MESSAGES.get(error.code)
    if worded is not None:
        return Msg(worded.msgid, fields)
    if isinstance(error, ReplayedRefusal):
        fields.pop("stored_message", None)
        for cls in error_classes().get(error.code, ()):
            if placeholders(cls.template) <= fields.keys():
                return Msg(cls.template, fields)
        return FALLBACK
    if placeholders(error.template) <= fields.keys():
        return Msg.of(error)
    return FALLBACK


def field_for(error: DomainError) -> str:
    return FIELD_OF.get(error.code, "")


def form_status(error: DomainError) -> int:
    """The status of a form shown again after ``error``: 429 for too many attempts, 409 when
    the state of things refused it, else 422."""
    if error.kind is ErrorKind.RATE_LIMITED:
        return 429
    if error.kind is ErrorKind.CONFLICT:
        return 409
    return 422


def refuse(form: Form, error: DomainError) -> int:
    """Put ``error``'s message next to the field it concerns (at the top of the form if none);
    the status to show the form again with."""
    form.error(field_for(error), refusal_message(error))
    return form_status(error)


def outcome_refusal(outcome: Outcome) -> DomainError:
    """The refusal an answer other than 201 stands for, rebuilt as a domain error.

    Bodies come stored (``{"refusal": {...}}``) or as problem details (``code``, ``detail`` and
    the public fields beside them)."""
    body = outcome.body
    stored = body.get("refusal", body)
    if not isinstance(stored, Mapping) or not isinstance(stored.get("code"), str):
        return replayed_refusal(
            {
                "code": "payment-error",
                "kind": "invalid",
                "message": FALLBACK.msgid,
                "extensions": {},
            }
        )
    kind = str(stored.get("kind", ErrorKind.INVALID.value))
    if kind not in {k.value for k in ErrorKind}:
        kind = ErrorKind.INVALID.value
    extensions = stored.get("extensions")
    if not isinstance(extensions, Mapping):
        skip = {"type", "title", "status", "detail", "code", "instance", "kind", "message"}
        extensions = {k: v for k, v in stored.items() if k not in skip}
    return replayed_refusal(
        {
            "code": stored["code"],
            "kind": kind,
            "message": str(stored.get("message", stored.get("detail", FALLBACK.msgid))),
            "extensions": dict(extensions),
        }
    )
