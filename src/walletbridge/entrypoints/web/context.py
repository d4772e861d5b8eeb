"""Who is looking at a page, in which tenant and language, and how a page is rendered for them.

``Visitor`` is what every web handler receives (dependency ``visitor``): the tenant and its brand,
the page language, the request context for the audit log and, once signed in, the ``Actor``.
Handlers that need a signed-in person take ``member`` instead, which redirects to the sign-in
page otherwise (``SignInRequired``, handled in ``web.errors``).

The tenant comes from the host name (``IdentityService.add_host``). Outside production, a host
that maps to no tenant (``127.0.0.1`` in the demo) gets a bank chooser, and the choice is kept in
the session. The language is the one picked with the switch (kept in the session), else the best
match of ``Accept-Language``, else the tenant's default.

Messages are English msgids with ``{name}`` placeholders. ``Msg`` carries one with its values
from a handler to a template, where ``t()`` translates and fills it in the page's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.response import Template

from walletbridge.bootstrap import Container
from walletbridge.config import Environment
from walletbridge.domain.actors import Actor, RequestContext
from walletbridge.domain.errors import DomainError, TenantNotFound
from walletbridge.domain.identity import AuthenticationRequired, TenantBrand
from walletbridge.domain.tenants import Tenant
from walletbridge.entrypoints.api.auth import TenantResolver, request_context
from walletbridge.entrypoints.web.i18n import LANGUAGE_NAMES, LOCALES, Formatter, negotiate
from walletbridge.entrypoints.web.i18n import translations as catalog_for

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


def translate(locale: str, message: str | Msg, **values: object) -> str:
    if isinstance(message, Msg):
        values = {**message.values, **values}
        message = message.msgid
    text = catalog_for(locale).gettext(message)
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return message.format(**values)


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
        "visitor": visitor,
        "brand": visitor.brand,
        "locale": locale,
        "html_lang": locale,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        "signed_in": visitor.actor is not None,
        "display_name": session.get(NAME_KEY, ""),
        "fmt": visitor.fmt,
        "_": _gettext(locale),
        "t": _gettext(locale),
        "ngettext": _ngettext(locale),
        "path": visitor.request.url.path,
    }


def _gettext(locale: str) -> Callable[..., str]:
    def gettext(message: str | Msg, **values: object) -> str:
        return translate(locale, message, **values)

    return gettext


def _ngettext(locale: str) -> Callable[..., str]:
    def ngettext(singular: str, plural_: str, n: int, **values: object) -> str:
        return plural(locale, singular, plural_, n, **values)

    return ngettext


def web_dependencies(container: Container) -> dict[str, Provide]:
    resolver = TenantResolver(container)
    choose_allowed = container.settings.environment is not Environment.PRODUCTION

    def provide_visitor(request: Request[Any, Any, Any]) -> Visitor:
        session = request.session if "session" in request.scope else {}
        tenant = _tenant(request, session, resolver, choose_allowed)
        brand = container.identity.brand(tenant.id)
        chosen = session.get(LOCALE_KEY)
        locale = (
            chosen
            if chosen in LOCALES
            else negotiate(request.headers.get("accept-language"), brand.default_locale)
        )
        context = request_context(request)
        actor = None
        token = session.get(TOKEN_KEY)
        if isinstance(token, str) and token and len(token) <= 200:
            try:
                actor = container.identity.authenticate(tenant.id, token, context)
            except AuthenticationRequired:
                session.pop(TOKEN_KEY, None)
        return Visitor(request, tenant, brand, locale, context, actor)

    def provide_member(visitor: NamedDependency[Visitor]) -> Visitor:
        visitor.member()
        return visitor

    return {
        "visitor": Provide(provide_visitor, sync_to_thread=True),
        "member": Provide(provide_member, sync_to_thread=False),
    }


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
