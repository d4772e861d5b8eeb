"""What the money pages (send, requests to pay, payees) share: reading a recipient, an amount and
a note from a form; the person's currencies; how a recipient's name is shown; the limit on
recipient look-ups; waiting out a double click on a form that moves money, and making what a
once-only form asks for (a request to pay, a payee) once; the step-up; where a payment's page
is; and how an htmx fragment is rendered (``fragment``, also used by the dashboard and the live
feed).

Look-ups reveal whether a contact has a wallet, so each *new* recipient a session asks about
(look-up, quote, confirm, request, payee) counts against a per-person limit; asking again about
one already seen costs nothing, so typing an amount after a recipient does not use the limit up.
The session keeps only keyed hashes of the recipients it has seen, never the contacts.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar.response import Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor, RecipientKind
from walletbridge.domain.contacts import normalise
from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import Money, MoneyError, parse_amount
from walletbridge.domain.payments import MAX_NOTE_CHARS, RecipientRef, RequestInFlight
from walletbridge.domain.throttle import RateLimited
from walletbridge.entrypoints.web.context import TOKEN_KEY, Msg, Visitor, plural, translate
from walletbridge.entrypoints.web.errors import error_page
from walletbridge.entrypoints.web.forms import KEY_FIELD, Form
from walletbridge.entrypoints.web.i18n import Formatter
from walletbridge.entrypoints.web.refusals import refusal_message
from walletbridge.services.idempotency import Outcome

LOOKUP_LIMIT = 20
LOOKUP_WINDOW_SECONDS = 600
PROBED_KEY = "probed_recipients"
PROBED_KEPT = 40
IN_FLIGHT_WAIT_SECONDS = 5.0
IN_FLIGHT_POLL_SECONDS = 0.1
ONCE_WINDOW_SECONDS = 3600

Created = TypeVar("Created")


def recipient_ref(text: str) -> RecipientRef:
    """A recipient as typed: an email address (has an ``@`` after the first character), a phone
    number (starts with ``+``, ``00`` or a digit) or a handle (an ``@`` in front is allowed).
    Raises ``InvalidContact`` for a malformed one."""
    value = text.strip()
    if "@" in value[1:]:
        kind = RecipientKind.EMAIL
    elif value[:1] == "+" or value[:1].isdigit():
        kind = RecipientKind.PHONE
    else:
        kind = RecipientKind.HANDLE
    return RecipientRef(kind, normalise(kind, value))


def read_recipient(form: Form, name: str = "to") -> RecipientRef | None:
    if not form.require(name):
        return None
    try:
        return recipient_ref(form.get(name))
    except DomainError as error:
        form.error(name, refusal_message(error))
        return None


@dataclass(frozen=True)
class Holdings:
    """The person's currencies (home currency first) and what is available in each."""

    home: str
    available: dict[str, Money]

    @property
    def codes(self) -> list[str]:
        return list(self.available)


def holdings_of(container: Container, actor: Actor) -> Holdings:
    wallet, balances = container.wallets.balances(actor)
    available: dict[str, Money] = {}
    home = wallet.home_currency
    ordered = sorted(balances, key=lambda b: (b.account.currency != home, b.account.currency))
    for balance in ordered:
        currency = container.currencies.get(balance.account.currency)
        available[currency.code] = Money(balance.available_minor, currency)
    if home not in available:
        available = {home: Money(0, container.currencies.get(home)), **available}
    return Holdings(home, available)


def read_amount(form: Form, container: Container, holdings: Holdings) -> Money | None:
    """The amount in the chosen currency, parsed strictly ("12.34"); errors go next to
    ``amount`` or ``currency``."""
    code = form.get("currency") or holdings.home
    if code not in holdings.available:
        form.error("currency", Msg("Choose one of your currencies."))
        return None
    if not form.require("amount"):
        return None
    try:
        return parse_amount(form.get("amount"), container.currencies.get(code))
    except MoneyError as error:
        form.fail(error, "amount")
        return None


def read_note(form: Form) -> str | None:
    note = form.get("note")
    if not note:
        return None
    if len(note) > MAX_NOTE_CHARS or not note.isprintable():
        form.error(
            "note", Msg("A note is at most {n} characters on one line.", {"n": MAX_NOTE_CHARS})
        )
        return None
    return note


def read_payment(
    form: Form, container: Container, holdings: Holdings
) -> tuple[RecipientRef, Money, str | None] | None:
    """Recipient, amount and note, every error next to its field; None if any is wrong."""
    to, money, note = read_recipient(form), read_amount(form, container, holdings), read_note(form)
    if to is None or money is None or not form.ok:
        return None
    return to, money, note


def mask_name(name: str) -> str:
    """A name shown to someone who typed a contact: enough to recognise, not the full name.

    "Alice Wong" → "Alice W."; names written without spaces in CJK scripts keep all but their
    first character (the family name): "王小明" → "*小明"."""
    text = " ".join(name.split())
    if not text:
        return ""
    if " " not in text and any(unicodedata.east_asian_width(c) in "WF" for c in text):
        return "*" + text[1:] if len(text) > 1 else "*"
    first, *others = text.split(" ")
    return " ".join([first, *(f"{word[0]}." for word in others)])


def probe(container: Container, visitor: Visitor, actor: Actor, to: RecipientRef) -> None:
    """Count a look-up of a recipient this session has not asked about yet (``RateLimited``
    past the limit)."""
    # A key of its own, derived from the deployment secret, never the secret itself.
    secret = container.settings.secret_key.get_secret_value().encode()
    key = hashlib.sha256(b"walletbridge recipient look-ups\0" + secret).digest()
    seen = hashlib.blake2b(
        f"{to.kind.value}:{to.value}".encode(), key=key, digest_size=12
    ).hexdigest()
    probed = [str(item) for item in visitor.session.get(PROBED_KEY) or []]
    if seen in probed:
        return
    container.throttle.check(
        f"recipient-lookup:{actor.tenant_id}:{actor.user_id}",
        limit=LOOKUP_LIMIT,
        window_seconds=LOOKUP_WINDOW_SECONDS,
    )
    visitor.session[PROBED_KEY] = [*probed, seen][-PROBED_KEPT:]


def settle(call: Callable[[], Outcome]) -> Outcome:
    """Run a money-moving call; when the same key is still being worked on (a double click's
    other half), wait and ask again, so both submissions end on the same answer."""
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while True:
        try:
            return call()
        except RequestInFlight:
            if time.monotonic() >= deadline:
                raise
            time.sleep(IN_FLIGHT_POLL_SECONDS)


def submitted_once(container: Container, actor: Actor, key: str) -> bool:
    """True the first time a form with ``key`` arrives, False for its repeats (a double click
    on a form that moves no money but creates something). Counted atomically in the database,
    so two concurrent submissions cannot both pass."""
    if not key:
        return True
    try:
        container.throttle.check(
            f"form-once:{actor.tenant_id}:{actor.user_id}:{key}",
            limit=1,
            window_seconds=ONCE_WINDOW_SECONDS,
        )
    except RateLimited:
        return False
    return True


def renew_once_key(form: Form) -> None:
    """Give a new form, and one shown again after an error, a fresh once-only key: after a
    refusal the submitted key is spent, and sending the corrected form with it would count as a
    repeat."""
    if not form.get(KEY_FIELD) or not form.ok:
        form.fresh_key()


def create_once(
    container: Container,
    visitor: Visitor,
    actor: Actor,
    form: Form,
    to: RecipientRef,
    create: Callable[[], Created],
) -> Created | None:
    """Make what a form with a once-only key asks for (a request to pay, a payee) once: spend
    the key first (``submitted_once``), then count the look-up of ``to`` and call ``create``.
    None for a repeat of the form (a double click's second half, whose first half's answer is
    already on the list); a refusal is raised as the ``DomainError`` it is."""
    if not submitted_once(container, actor, form.key()):
        return None
    probe(container, visitor, actor, to)
    return create()


def payment_path(outcome: Outcome) -> str:
    """The page of a payment just made: ``/history/transfer/{id}``, which finds the person's own
    history line of the transfer (the answer names the transfer; the history pages name lines)."""
    try:
        return f"/history/transfer/{uuid.UUID(str(outcome.body.get('id', '')))}"
    except ValueError:
        return "/history"


# -- showing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """What the recipient look-up says: ``state`` is "", found, missing, invalid, self or
    limited; ``name`` the recipient's masked name when found."""

    state: str = ""
    name: str = ""
    message: Msg | None = None


def not_found(visitor: Visitor) -> Template:
    return error_page(visitor.request, 404, "Page not found", "There is nothing at this address.")


def money_text(fmt: Formatter, value: object) -> str:
    """An answer's ``{"amount": "12.34", "currency": "EUR"}`` for the page."""
    if isinstance(value, Mapping):
        return fmt.decimal_amount(str(value.get("amount", "0")), str(value.get("currency", "")))
    return ""


def person_name(value: object) -> str:
    """The counterparty's masked name for a sentence that ends with its own full stop ("Sent
    €3.21 to Ben D."): the initial's dot is left out so the sentence does not end in two."""
    if not isinstance(value, Mapping):
        return ""
    return mask_name(str(value.get("display_name") or value.get("handle") or "")).rstrip(".")


# -- step-up ---------------------------------------------------------------------------------


def step_up_by_code(container: Container, actor: Actor) -> bool:
    """With TOTP on, the step-up asks for an authenticator code; otherwise for the password."""
    return container.identity.me(actor).totp_enabled


def step_up(container: Container, visitor: Visitor, actor: Actor, form: Form) -> Actor | None:
    """Make the session fresh again with what the step-up form holds, and return the fresh
    actor; ``None`` with the error next to its field when it is refused."""
    by_code = step_up_by_code(container, actor)
    name = "code" if by_code else "password"
    secret = form.get("code").replace(" ", "") if by_code else form.raw("password")
    if not secret:
        form.error(name, Msg("This field is required."))
        return None
    try:
        if by_code:
            container.identity.reauthenticate(actor, code=secret)
        else:
            # Password guesses count like logins, as the API's step-up does.
            container.throttle.check_password_guess(actor.tenant_id, actor.user_id)
            container.identity.reauthenticate(actor, password=secret)
    except DomainError as error:  # wrong secret, locked out, too many attempts
        form.fail(error, name)
        return None
    token = visitor.session.get(TOKEN_KEY)
    return container.identity.authenticate(actor.tenant_id, str(token or ""), visitor.context)


# -- fragments -------------------------------------------------------------------------------


def fragment_values(locale: str) -> dict[str, Any]:
    """What a fragment template needs: the page's translation functions (``_``/``t`` and
    ``ngettext``), ``fmt`` and ``locale``. No layout, and no flash messages taken from the
    session: a fragment fetched in the background must not eat another page's message."""

    def gettext(message: str | Msg, **values: object) -> str:
        return translate(locale, message, **values)

    def ngettext(singular: str, plural_: str, n: int, **values: object) -> str:
        return plural(locale, singular, plural_, n, **values)

    return {
        "_": gettext,
        "t": gettext,
        "ngettext": ngettext,
        "fmt": Formatter(locale),
        "locale": locale,
    }


def fragment(visitor: Visitor, template: str, *, status: int = 200, **values: Any) -> Template:
    """A piece of a page for htmx, rendered with ``fragment_values``; never cached."""
    return Template(
        template_name=template,
        context={**fragment_values(visitor.locale), **values},
        status_code=status,
        headers={"Cache-Control": "no-store", "Vary": "Cookie, Accept-Language"},
    )
