"""Pages every visitor can reach: the bank chooser of the demo host, the language switch, and the
tenant's brand as a style sheet and a logo.

The brand colour reaches the page through ``/brand.css`` (a style sheet, so the strict
Content-Security-Policy needs no inline style). Colours are adjusted for WCAG AA: the text on a
brand-coloured button is white or near-black, whichever contrasts more, and the colour used for
links and outlines on white is darkened until it reaches 4.5:1.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, Template

from walletbridge.bootstrap import Container
from walletbridge.config import Environment
from walletbridge.entrypoints.web.context import (
    LOCALE_KEY,
    TENANT_KEY,
    Visitor,
    page_locale,
    translate,
)
from walletbridge.entrypoints.web.errors import error_page, safe_next
from walletbridge.entrypoints.web.forms import FormBody
from walletbridge.entrypoints.web.i18n import LOCALES, language_choices

DARK_TEXT = "#111418"


def routes(container: Container) -> list[HTTPRouteHandler]:
    identity = container.identity
    choosing_allowed = container.settings.environment is not Environment.PRODUCTION

    @get("/banks", sync_to_thread=True)
    def banks(request: Request[Any, Any, Any]) -> Template:
        locale = page_locale(request, "en")
        if not choosing_allowed:
            return error_page(request, 404, "Page not found", "There is nothing at this address.")
        choices = [(t, identity.brand(t.id)) for t in container.tenants.all()]
        return Template(
            template_name="banks.html",
            context={
                "locale": locale,
                "html_lang": locale,
                "choices": choices,
                "t": lambda message, **values: translate(locale, message, **values),
                "languages": language_choices(),
            },
            headers={"Cache-Control": "no-store"},
        )

    @post("/banks", sync_to_thread=True, status_code=200)
    def choose_bank(request: Request[Any, Any, Any], data: FormBody) -> Redirect | Template:
        chosen = str(data.get("tenant_id", ""))[:40]
        if not choosing_allowed or not chosen or not identity.tenant_exists(chosen):
            return error_page(request, 404, "Page not found", "There is no such bank here.")
        request.session.pop("auth_token", None)
        request.session[TENANT_KEY] = chosen
        return Redirect(path="/signin", status_code=303)

    @post("/language", sync_to_thread=True, status_code=200)
    def switch_language(request: Request[Any, Any, Any], data: FormBody) -> Redirect:
        chosen = str(data.get("locale", ""))
        if chosen in LOCALES:
            request.session[LOCALE_KEY] = chosen
        return Redirect(path=safe_next(str(data.get("next", "/"))), status_code=303)

    @get("/brand.css", sync_to_thread=True, media_type="text/css")
    def brand_css(visitor: NamedDependency[Visitor]) -> Response[str]:
        return Response(
            content=brand_stylesheet(visitor.brand.primary_colour),
            media_type="text/css",
            headers={"Cache-Control": "private, max-age=300"},
        )

    @get("/brand/logo.svg", sync_to_thread=True, media_type="image/svg+xml")
    def brand_logo(visitor: NamedDependency[Visitor]) -> Response[str]:
        brand = visitor.brand
        text = brand.logo_text or brand.display_name[:12]
        return Response(
            content=logo_svg(text, brand.primary_colour),
            media_type="image/svg+xml",
            headers={"Cache-Control": "private, max-age=300"},
        )

    return [banks, choose_bank, switch_language, brand_css, brand_logo]


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def darken_until(colour: str, background: str, ratio: float) -> str:
    """``colour`` darkened step by step until it contrasts ``ratio``:1 with ``background``."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    current = colour
    for _ in range(100):
        if contrast(current, background) >= ratio:
            return current
        r, g, b = (max(0, int(v * 0.92)) for v in (r, g, b))
        current = f"#{r:02x}{g:02x}{b:02x}"
    return "#000000"


def brand_stylesheet(primary: str) -> str:
    """Bootstrap's primary colour set to the brand's, with contrast kept at WCAG AA."""
    on_white = darken_until(primary, "#ffffff", 4.5)
    button = on_white
    button_text = (
        "#ffffff" if contrast(button, "#ffffff") >= contrast(button, DARK_TEXT) else DARK_TEXT
    )
    r, g, b = (int(on_white[i : i + 2], 16) for i in (1, 3, 5))
    return f""":root {{
  --wb-brand: {primary};
  --wb-brand-strong: {on_white};
  --wb-brand-text: {button_text};
  --bs-primary: {on_white};
  --bs-primary-rgb: {r}, {g}, {b};
  --bs-link-color: {on_white};
  --bs-link-color-rgb: {r}, {g}, {b};
  --bs-link-hover-color: {darken_until(on_white, "#ffffff", 7.0)};
}}
.btn-primary {{
  --bs-btn-bg: {button};
  --bs-btn-border-color: {button};
  --bs-btn-color: {button_text};
  --bs-btn-hover-bg: {darken_until(button, "#ffffff", 7.0)};
  --bs-btn-hover-border-color: {darken_until(button, "#ffffff", 7.0)};
  --bs-btn-hover-color: {button_text};
  --bs-btn-active-bg: {darken_until(button, "#ffffff", 7.0)};
  --bs-btn-active-color: {button_text};
  --bs-btn-disabled-bg: {button};
  --bs-btn-disabled-color: {button_text};
}}
.btn-outline-primary {{
  --bs-btn-color: {on_white};
  --bs-btn-border-color: {on_white};
  --bs-btn-hover-bg: {on_white};
  --bs-btn-hover-color: {button_text};
  --bs-btn-active-bg: {on_white};
}}
.progress {{ --bs-progress-bar-bg: {on_white}; }}
.wb-brandbar {{ border-top: 4px solid {primary}; }}
"""


def logo_svg(text: str, colour: str) -> str:
    fill = "#ffffff" if contrast(colour, "#ffffff") >= contrast(colour, DARK_TEXT) else DARK_TEXT
    width = max(48, 14 * len(text) + 24)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="32" '
        f'viewBox="0 0 {width} 32" role="img" aria-label="{escape(text)}">'
        f'<rect width="{width}" height="32" rx="6" fill="{colour}"/>'
        f'<text x="{width // 2}" y="21" text-anchor="middle" font-family="sans-serif" '
        f'font-size="15" font-weight="700" fill="{fill}">{escape(text)}</text></svg>'
    )
