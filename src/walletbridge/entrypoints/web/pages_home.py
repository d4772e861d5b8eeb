"""The dashboard (``/``): balances per currency, the limits that remain, recent transactions, the
live feed and the ways to send or request money; and ``/fragments/balances``, the balance card
alone, which the dashboard fetches again when the live feed reports money in (an htmx request in
the background: it does not count as the person's activity, so it never keeps the session
fresh; nothing here relies on it doing so).

Limits come from ``WalletService.limits_json`` (what ``GET /api/v1/limits`` answers): per
currency the per-transaction limit, the daily and monthly limits with what is used and what
remains, and the balance cap against the balance. Each used share is drawn as a progress bar
whose width is a class in steps of 5 % (the Content-Security-Policy allows no inline style) and
whose value is also given as text, for people who do not see the bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.response import Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.entrypoints.web.context import Msg, Visitor, page
from walletbridge.entrypoints.web.i18n import Formatter
from walletbridge.entrypoints.web.money_forms import fragment
from walletbridge.entrypoints.web.pages_feed import DASHBOARD_ITEMS, latest_lines, stream_url
from walletbridge.entrypoints.web.pages_history import recent_lines

RECENT_ITEMS = 10
WIDTH_STEP = 5


@dataclass(frozen=True)
class BalanceView:
    currency: str
    available: str
    posted: str
    pending: str
    has_pending: bool


@dataclass(frozen=True)
class UsageView:
    """One limit: how much of it is used (or, for the balance cap, held) and what remains."""

    label: Msg
    used: str
    limit: str
    remaining: str
    percent: int
    cap: bool = False
    """The balance cap: "used" is the balance, "remaining" what can still come in."""

    @property
    def width_class(self) -> str:
        """``wb-w-0`` … ``wb-w-100``: the percentage rounded to the nearest step of 5."""
        step = min(100, max(0, round(self.percent / WIDTH_STEP) * WIDTH_STEP))
        return f"wb-w-{step}"


@dataclass(frozen=True)
class LimitsView:
    currency: str
    per_transaction: str
    usages: tuple[UsageView, ...]


def balance_views(container: Container, actor: Actor, fmt: Formatter) -> list[BalanceView]:
    _, balances = container.wallets.balances(actor)
    views = []
    for balance in sorted(balances, key=lambda b: b.account.currency):
        code = balance.account.currency
        exponent = container.currencies.get(code).exponent
        views.append(
            BalanceView(
                currency=code,
                available=fmt.amount(balance.available_minor, code, exponent),
                posted=fmt.amount(balance.posted_minor, code, exponent),
                pending=fmt.amount(balance.pending_minor, code, exponent),
                has_pending=balance.pending_minor != 0,
            )
        )
    return views


def _share(part: str, whole: str) -> int:
    """``part`` of ``whole`` in whole percent (100 when the whole is zero: nothing is left)."""
    total = Decimal(whole)
    if total <= 0:
        return 100
    return int(min(Decimal(100), max(Decimal(0), Decimal(part) * 100 / total)))


def _usage(label: Msg, usage: dict[str, Any], fmt: Formatter, used_key: str = "used") -> UsageView:
    def shown(key: str) -> str:
        return fmt.decimal_amount(usage[key]["amount"], usage[key]["currency"])

    return UsageView(
        label=label,
        used=shown(used_key),
        limit=shown("limit"),
        remaining=shown("remaining"),
        percent=_share(usage[used_key]["amount"], usage["limit"]["amount"]),
        cap=used_key == "balance",
    )


def limits_views(
    container: Container, actor: Actor, fmt: Formatter
) -> tuple[int, list[LimitsView]]:
    found = container.wallets.limits_json(actor)
    items = found["items"]
    assert isinstance(items, list)
    views = []
    for item in items:
        per = item["per_transaction"]
        views.append(
            LimitsView(
                currency=str(item["currency"]),
                per_transaction=fmt.decimal_amount(per["amount"], per["currency"]),
                usages=(
                    _usage(Msg("Today"), item["daily"], fmt),
                    _usage(Msg("This month"), item["monthly"], fmt),
                    _usage(Msg("Balance cap"), item["balance_cap"], fmt, used_key="balance"),
                ),
            )
        )
    tier = found["tier"]
    assert isinstance(tier, int)
    return tier, views


def routes(container: Container) -> list[HTTPRouteHandler]:
    @get("/", sync_to_thread=True, name="home")
    def home(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        fmt = visitor.fmt
        tier, limits = limits_views(container, actor, fmt)
        lines = latest_lines(container, actor, visitor.locale, DASHBOARD_ITEMS)
        return page(
            visitor,
            "home.html",
            balances=balance_views(container, actor, fmt),
            tier=tier,
            limits=limits,
            recent=recent_lines(container, actor, visitor.locale, RECENT_ITEMS),
            lines=lines,
            stream_url=stream_url(lines),
        )

    @get("/fragments/balances", sync_to_thread=True)
    def balances_fragment(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        views = balance_views(container, actor, visitor.fmt)
        return fragment(visitor, "home_balances.html", balances=views)

    return [home, balances_fragment]
