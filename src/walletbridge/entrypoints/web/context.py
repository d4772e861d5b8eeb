"""Who is looking at a page, in which tenant and language, and how a page is rendered for them.

``Visitor`` is what every web handler receives (dependency ``visitor``): the tenant and its brand,
the page language, the request context for the audit log and, once signed in, the ``Actor``.
Handlers that need a signed-in person call ``visitor.member()`` first, which sends the browser to
the sign-in page otherwise (``SignInRequired``, handled in ``web.errors``).

The tenant comes from the host name (``IdentityService.add_host``). Outside production, a host
that maps to no tenant (``127.0.0.1`` in the demo) gets a bank chooser, and the choice is kept in
the session. The language is the one picked with the switch (kept in the session), else the best
match of ``Accept-Language``, else the tenant's default.

Messages are English msgids with ``{name}`` placeholders. ``Msg`` carries one with its values
from a handler to a template, where ``t()`` translates and fills it in the page's language.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.di import Provide
from litestar.response import Template

from walletbridge.bootstrap import Container
from walletbridge.config import Environment
from walletbridge.domain.actors import Actor, RequestContext
from walletbridge.domain.errors import DomainError, TenantNotFound
from walletbridge.domain.identity import AuthenticationRequired, TenantBrand
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.tenants import Tenant
from walletbridge.entrypoints.api.auth import (
    TENANT_CACHE_SECONDS,
    TenantResolver,
    request_context,
)
from walletbridge.entrypoints.web.i18n import LOCALES, Formatter, language_choices, negotiate
from walletbridge.entrypoints.web.i18n import translations as catalog_for
from walletbridge.entrypoints.web.security import rotate_session

TOKEN_KEY = "auth_token"  # noqa: S105 - the session key name, not a secret
LOCALE_KEY = "locale"
TENANT_KEY = "tenant_id"
NAME_KEY = "display_name"
FLASH_KEY = "flash"


class SignInRequired(Exception):
    """The page needs a signed-in person; the handler sends the browser to the sign-in page."""


class TenantChoiceRequired(Exception):
    """No tenant for this host and none chosen yet (development and demo only)."""


@dataclass(frozen=True)
class Msg:
    """A translatable message: an English msgid with ``{name}`` placeholders and its values."""

    msgid: str
    values: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, error: DomainError) -> Msg:
        return cls(error.template, dict(error.fields))


@dataclass(frozen=True)
class Visitor:
    request: Request[Any, Any, Any]
    tenant: Tenant
    brand: TenantBrand
    locale: str
    context: RequestContext
    actor: Actor | None

    @property
    def session(self) -> dict[str, Any]:
        return self.request.session

    @property
    def fmt(self) -> Formatter:
        return Formatter(self.locale)

    def t(self, message: str | Msg, **values: object) -> str:
        return translate(self.locale, message, **values)

    def member(self) -> Actor:
        if self.actor is None:
            raise SignInRequired()
        return self.actor


VOCABULARY_FIELDS = frozenset({"reason", "kind", "limit", "request_status", "channel", "scope"})
"""Fields of domain errors whose values are English words or phrases from the code (a reason, a
limit's name, a status), translated like msgids. Other values (handles, ids) are shown as they
are: a person's own words must never be "translated"."""
_AMOUNT_VALUE = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?) ([A-Z]{3})")


def translate(locale: str, message: str | Msg, **values: object) -> str:
    if isinstance(message, Msg):
        values = {**message.values, **values}
        message = message.msgid
    catalog = catalog_for(locale)
    text = catalog.gettext(message)
    if not values:
        return text
    shown = {name: _shown(locale, name, value) for name, value in values.items()}
    text, message = (_paired(locale, t, values, shown) for t in (text, message))
    try:
        return text.format(**shown)
    except (KeyError, IndexError, ValueError):
        return message.format(**shown)


_PAIR = re.compile(r"\{([a-z_]+)\} \{currency\}")


def _paired(locale: str, text: str, values: Mapping[str, object], shown: dict[str, object]) -> str:
    """Messages that name an amount and its currency apart ("{remaining} {currency}") show them
    as one formatted amount: "€12.00", "¥12.00"."""

    def join(match: re.Match[str]) -> str:
        name, currency = match.group(1), values.get("currency")
        amount = values.get(name)
        if (
            isinstance(amount, str)
            and isinstance(currency, str)
            and _AMOUNT_VALUE.fullmatch(f"{amount} {currency}")
        ):
            shown[f"{name}_with_currency"] = Formatter(locale).decimal_amount(amount, currency)
            return "{" + name + "_with_currency}"
        return match.group(0)

    return _PAIR.sub(join, text)


def _shown(locale: str, name: str, value: object) -> object:
    """A message's value as the reader should see it: amounts like "12.00 EUR" in the locale's
    format, and the code's own English vocabulary translated."""
    if not isinstance(value, str):
        return value
    amount = _AMOUNT_VALUE.fullmatch(value)
    if amount:
        return Formatter(locale).decimal_amount(amount.group(1), amount.group(2))
    if name in VOCABULARY_FIELDS and value:
        return catalog_for(locale).gettext(value)
    return value


def plural(locale: str, singular: str, plural_: str, n: int, **values: object) -> str:
    text = catalog_for(locale).ngettext(singular, plural_, n)
    return text.format(n=n, **values)


def page(visitor: Visitor, template: str, *, status: int = 200, **values: Any) -> Template:
    """A full page (or, for htmx, the same template: boosted requests swap the body)."""
    return Template(
        template_name=template,
        context={**base_context(visitor), **values},
        status_code=status,
        headers={"Cache-Control": "no-store", "Vary": "Cookie, Accept-Language"},
    )


KEPT_ACROSS_SIGN_IN = (LOCALE_KEY, TENANT_KEY)
"""What a browser session keeps when someone signs in or out: the language and the demo's bank
choice, which are not personal. Everything else starts afresh."""


def start_fresh_session(visitor: Visitor, **values: str) -> None:
    """Replace the session with a new one under a new id, keeping only ``KEPT_ACROSS_SIGN_IN``
    and setting ``values``: an id planted before sign-in, and whatever an earlier visitor left
    in the session, are worth nothing afterwards."""
    old = visitor.session if "session" in visitor.request.scope else {}
    kept = {key: old[key] for key in KEPT_ACROSS_SIGN_IN if old.get(key)}
    visitor.request.set_session({**kept, **values})
    rotate_session(visitor.request)


def sign_in_session(visitor: Visitor, token: str, display_name: str, **values: str) -> None:
    """The browser is now signed in with the identity service's session ``token``."""
    start_fresh_session(visitor, **{TOKEN_KEY: token, NAME_KEY: display_name, **values})


def flash(visitor: Visitor, message: str, **values: object) -> None:
    """A one-time confirmation shown at the top of the next page ("Payee saved.")."""
    pending = list(visitor.session.get(FLASH_KEY) or [])[-4:]
    pending.append({"msgid": message, "values": {k: str(v) for k, v in values.items()}})
    visitor.session[FLASH_KEY] = pending


def base_context(visitor: Visitor) -> dict[str, Any]:
    locale = visitor.locale
    session = visitor.session if "session" in visitor.request.scope else {}
    pending = session.pop(FLASH_KEY, None) or []
    flashes = [Msg(str(item.get("msgid", "")), dict(item.get("values") or {})) for item in pending]
    return {
        "flashes": flashes,
        "brand": visitor.brand,
        "locale": locale,
        "html_lang": locale,
        "languages": language_choices(),
        "signed_in": visitor.actor is not None,
        "display_name": session.get(NAME_KEY, ""),
        "fmt": visitor.fmt,
        "_": _gettext(locale),
        "t": _gettext(locale),
        "ngettext": _ngettext(locale),
        "path": visitor.request.url.path,
        "here_with_query": _here(visitor.request),
    }


def _here(request: Request[Any, Any, Any]) -> str:
    """This page's address to come back to after switching language: a GET keeps its query
    (filters); after a form post, the page the form lives on is its GET."""
    path = request.url.path
    if request.method == "GET" and request.url.query:
        return f"{path}?{request.url.query}"
    return path


def _gettext(locale: str) -> Callable[..., str]:
    def gettext(message: str | Msg, **values: object) -> str:
        return translate(locale, message, **values)

    return gettext


def _ngettext(locale: str) -> Callable[..., str]:
    def ngettext(singular: str, plural_: str, n: int, **values: object) -> str:
        return plural(locale, singular, plural_, n, **values)

    return ngettext


BACKGROUND_PATHS = ("/activity/stream", "/fragments/")


def is_background(request: Request[Any, Any, Any]) -> bool:
    """A request the page makes rather than a deliberate step of the person: the live feed and
    htmx GETs (a fragment refreshed by an event, the lookup as someone types). Counting these as
    activity would let an open page keep the session fresh on its own."""
    path = request.url.path
    if path.startswith(BACKGROUND_PATHS):
        return True
    return request.method == "GET" and request.headers.get("hx-request") == "true"


def page_locale(request: Request[Any, Any, Any], default: str) -> str:
    """The language a page speaks: the one picked with the switch (kept in the session), else
    the best match of ``Accept-Language``, else ``default``."""
    session = request.scope.get("session") or {}
    chosen = session.get(LOCALE_KEY) if isinstance(session, dict) else None
    if chosen in LOCALES:
        return str(chosen)
    return negotiate(request.headers.get("accept-language"), default)


class BrandCache:
    """Brands by tenant, kept for a few seconds per process like resolved tenants: every page
    needs one, and they change rarely."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._cache: dict[str, tuple[float, TenantBrand]] = {}

    def get(self, tenant_id: TenantId) -> TenantBrand:
        now = time.monotonic()
        hit = self._cache.get(tenant_id)
        if hit is not None and now - hit[0] < TENANT_CACHE_SECONDS:
            return hit[1]
        brand = self._container.identity.brand(tenant_id)
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[tenant_id] = (now, brand)
        return brand


def web_dependencies(container: Container) -> dict[str, Provide]:
    resolver = TenantResolver(container)
    brands = BrandCache(container)
    choose_allowed = container.settings.environment is not Environment.PRODUCTION

    def provide_visitor(request: Request[Any, Any, Any]) -> Visitor:
        session = request.session if "session" in request.scope else {}
        tenant = _tenant(request, session, resolver, choose_allowed)
        brand = brands.get(tenant.id)
        locale = page_locale(request, brand.default_locale)
        context = request_context(request)
        actor = None
        token = session.get(TOKEN_KEY)
        if isinstance(token, str) and token and len(token) <= 200:
            try:
                actor = container.identity.authenticate(
                    tenant.id, token, context, activity=not is_background(request)
                )
            except AuthenticationRequired:
                session.pop(TOKEN_KEY, None)
        return Visitor(request, tenant, brand, locale, context, actor)

    return {"visitor": Provide(provide_visitor, sync_to_thread=True)}


def _tenant(
    request: Request[Any, Any, Any],
    session: dict[str, Any],
    resolver: TenantResolver,
    choose_allowed: bool,
) -> Tenant:
    try:
        return resolver.resolve(None, request.headers.get("host", ""))
    except TenantNotFound:
        chosen = session.get(TENANT_KEY)
        if not choose_allowed:
            raise
        if isinstance(chosen, str) and chosen:
            try:
                return resolver.resolve(chosen, "")
            except TenantNotFound:
                session.pop(TENANT_KEY, None)
        raise TenantChoiceRequired() from None
