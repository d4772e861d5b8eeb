"""The live activity feed: ``/activity`` (the person's feed as a page) and ``/activity/stream``
(server-sent events that bring each new feed item to an open page without a reload).

The feed is the outbox's ACTIVITY items (``NotificationService.activity_for``), which appear once
the relay has delivered them. Each item becomes one translated sentence ("Received €25.00 from
@anna") in the page's language; a kind this module does not know gets a generic line rather than
raw data.

The stream is an async generator that never holds a database connection while it waits: every
poll and every session check borrows a connection in a worker thread and gives it back. Where it
starts: after ``Last-Event-ID`` (the last item a reconnecting browser saw), else after the item
named by ``?after=`` (the newest item the page showed, which the page writes into its
``sse-connect`` address, or ``start`` when it showed none), else after the newest item now; an id
that is not one of the person's items counts as none. So an item that arrives between rendering
the page and connecting, or between two connections, is still sent. Every message carries
``id:`` = the last item the stream has delivered (the starting point until one comes), so the
browser's ``Last-Event-ID`` is current whatever message it saw last.

It polls about every second and sends per new item an ``activity`` event (the item's HTML, id =
item id) and, when money moved, a ``balance`` event the dashboard's balance card refreshes on. It
re-checks the session about every 30 s and ends with a ``signed-out`` event once the session was
revoked (the page closes the source on that event, see ``sse-close``); it sends a keep-alive
comment when it has been quiet for about 15 s, so proxies keep the connection open; and it ends
by itself after about five minutes (never before the session's idle window has passed, see
``StreamTiming.outlast_idle_window``), so no connection lives forever: the browser reconnects on
its own, resuming from the last id. (When htmx replaces a failed source with a new one, the new
one has no ``Last-Event-ID`` and starts from the page's ``after`` again; ``app.js`` drops an
item the list already shows.)

Re-checking the session reads the person's live sessions instead of authenticating again:
authenticating records activity, and an open tab must not keep a session fresh (active enough
to pay without a step-up) on its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Annotated
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage, Template

from walletbridge.bootstrap import Container
from walletbridge.domain.actors import Actor
from walletbridge.domain.instants import iso_utc
from walletbridge.domain.outbox import ActivityCursorInvalid, ActivityItem, Scalar
from walletbridge.entrypoints.web.context import Visitor, page, translate
from walletbridge.entrypoints.web.i18n import Formatter
from walletbridge.entrypoints.web.money_forms import fragment_values

PAGE_ITEMS = 100
DASHBOARD_ITEMS = 5
MONEY_KINDS = frozenset({"payment.received"})
"""Feed kinds that change the person's balance: the balance card refreshes on them."""
NO_STORE = {"Cache-Control": "no-store"}
FROM_START = "start"
"""``?after=`` of a page that showed no feed item: every item in the feed is new to it."""


@dataclass(frozen=True)
class StreamTiming:
    """How the stream paces itself, in seconds of wall-clock time (tests shorten them)."""

    poll_seconds: float = 1.0
    session_check_seconds: float = 30.0
    keepalive_seconds: float = 15.0
    lifetime_seconds: float = 300.0
    reconnect_ms: int = 3000
    """The ``retry`` hint: how long a browser waits before it reconnects after the end."""
    outlast_idle_window: bool = True
    """Live at least as long as the session's idle window. Connecting authenticates, which
    records activity while the session is fresh; a stream that reconnected within the window
    would keep an unattended tab's session fresh (able to pay without a step-up) for ever."""

    def lifetime_for(self, idle_seconds: int) -> float:
        if not self.outlast_idle_window:
            return self.lifetime_seconds
        return max(self.lifetime_seconds, idle_seconds + self.reconnect_ms / 1000 + 1)


TIMING = StreamTiming()
"""The timing every stream uses; read when a stream starts."""


@dataclass(frozen=True)
class FeedLine:
    """One feed item as the page shows it."""

    id: str
    kind: str
    text: str
    href: str | None
    at_us: int
    moves_money: bool

    @property
    def iso(self) -> str:
        return iso_utc(self.at_us)


def feed_line(item: ActivityItem, locale: str) -> FeedLine:
    data = item.payload
    amount = _amount(Formatter(locale), data)
    who = _handle(data.get("from_handle"))
    href: str | None = None
    if item.kind == "payment.received" and amount and who:
        text = translate(locale, "Received {amount} from {who}", amount=amount, who=who)
        transfer = _uuid(data.get("transfer_id"))
        href = f"/history/transfer/{transfer}" if transfer else "/history"
    elif item.kind == "payment-request.received" and amount and who:
        text = translate(locale, "{who} asked you for {amount}", amount=amount, who=who)
        href = "/requests"
    else:
        text = translate(locale, "There is new activity in your wallet.")
    return FeedLine(item.id, item.kind, text, href, item.created_at_us, item.kind in MONEY_KINDS)


def _amount(fmt: Formatter, data: Mapping[str, Scalar]) -> str | None:
    amount, currency = data.get("amount"), data.get("currency")
    if not isinstance(amount, str) or not isinstance(currency, str):
        return None
    if len(currency) != 3 or not currency.isalpha() or len(amount) > 40:
        return None
    try:
        Decimal(amount)
        return fmt.decimal_amount(amount, currency.upper())
    except (InvalidOperation, ValueError):
        return None


def _handle(value: Scalar | None) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 100:
        return None
    return "@" + value.removeprefix("@")


def _uuid(value: Scalar | None) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


Render = Callable[[FeedLine], str]


def item_renderer(visitor: Visitor) -> Render:
    """Renders ``activity_item.html`` to a string, as the stream sends it."""
    engine = visitor.request.app.template_engine
    assert engine is not None, "the web app is configured with templates"
    template = engine.get_template("activity_item.html")
    values = fragment_values(visitor.locale)

    def render(line: FeedLine) -> str:
        return str(template.render(**values, line=line, live=True))

    return render


def latest_lines(container: Container, actor: Actor, locale: str, limit: int) -> list[FeedLine]:
    """The newest ``limit`` feed items, newest first."""
    items = container.notifications.activity_for(actor.tenant_id, actor.user_id, None, limit)
    return [feed_line(item, locale) for item in reversed(items)]


def stream_url(lines: list[FeedLine]) -> str:
    """The ``sse-connect`` address of a page showing ``lines`` (newest first): the stream starts
    after the newest of them, so nothing that arrives before it connects is missed."""
    return "/activity/stream?" + urlencode({"after": lines[0].id if lines else FROM_START})


class LiveFeed:
    """One browser's stream of its person's feed."""

    def __init__(
        self,
        container: Container,
        actor: Actor,
        locale: str,
        render: Render,
        timing: StreamTiming,
    ) -> None:
        self._container = container
        self._actor = actor
        self._locale = locale
        self._render = render
        self._timing = timing
        self._lifetime_seconds = timing.lifetime_for(container.settings.session_idle_seconds)

    def starting_point(self, last_event_id: str | None, after: str | None = None) -> str | None:
        """The item the stream starts after (None: from the start of the feed): the one the
        browser saw last, else the one its page showed last (``FROM_START``: it showed none),
        else the newest now. An id that is not one of this person's items counts as none."""
        if last_event_id and self._is_theirs(last_event_id):
            return last_event_id
        if after == FROM_START:
            return None
        if after and self._is_theirs(after):
            return after
        newest = self._container.notifications.activity_for(
            self._actor.tenant_id, self._actor.user_id, None, 1
        )
        return newest[-1].id if newest else None

    def _is_theirs(self, item_id: str) -> bool:
        feed, actor = self._container.notifications, self._actor
        try:
            feed.activity_for(actor.tenant_id, actor.user_id, item_id, 1)
        except ActivityCursorInvalid:
            return False
        return True

    def signed_in(self) -> bool:
        live = self._container.identity.sessions(self._actor)
        return any(session.id == self._actor.session_id for session in live)

    def poll(self, after: str | None) -> tuple[str | None, list[tuple[FeedLine, str]]]:
        """The items after ``after`` with their HTML, and the new ``after``."""
        feed, actor = self._container.notifications, self._actor
        try:
            items = feed.activity_for(actor.tenant_id, actor.user_id, after, PAGE_ITEMS)
        except ActivityCursorInvalid:
            return self.starting_point(None), []
        lines = [feed_line(item, self._locale) for item in items]
        return (items[-1].id if items else after), [(line, self._render(line)) for line in lines]

    async def events(self, after: str | None) -> AsyncIterator[ServerSentEventMessage]:
        """The messages of the stream; each carries ``id`` = ``after``, the last item delivered
        (the starting point before any), so the browser always resumes from the right place."""
        timing = self._timing
        started = checked = sent = time.monotonic()
        yield ServerSentEventMessage(
            data=None, comment="connected", id=after, retry=timing.reconnect_ms
        )
        while True:
            await anyio.sleep(timing.poll_seconds)
            now = time.monotonic()
            if now - started >= self._lifetime_seconds:
                return
            if now - checked >= timing.session_check_seconds:
                checked = now
                if not await anyio.to_thread.run_sync(self.signed_in):
                    yield ServerSentEventMessage(
                        data=self._signed_out(), event="signed-out", id=after
                    )
                    return
            after, fresh = await anyio.to_thread.run_sync(self.poll, after)
            for line, html in fresh:
                yield ServerSentEventMessage(data=html, event="activity", id=line.id)
            if any(line.moves_money for line, _ in fresh):
                yield ServerSentEventMessage(data="", event="balance", id=after)
            if fresh:
                sent = now
            elif now - sent >= timing.keepalive_seconds:
                sent = now
                yield ServerSentEventMessage(data=None, comment="keep-alive", id=after)

    def _signed_out(self) -> str:
        text = translate(self._locale, "You were signed out. Sign in again to see new activity.")
        return f'<li class="list-group-item list-group-item-warning">{escape(text)}</li>'


def routes(container: Container) -> list[HTTPRouteHandler]:
    @get("/activity", sync_to_thread=True)
    def activity(visitor: NamedDependency[Visitor]) -> Template:
        actor = visitor.member()
        lines = latest_lines(container, actor, visitor.locale, PAGE_ITEMS)
        return page(visitor, "activity.html", lines=lines, stream_url=stream_url(lines))

    @get("/activity/stream", sync_to_thread=True)
    def stream(
        visitor: NamedDependency[Visitor],
        last_event_id: Annotated[
            str | None, HeaderParameter(name="last-event-id", max_length=64, required=False)
        ] = None,
        after: Annotated[str | None, QueryParameter(max_length=64, required=False)] = None,
    ) -> ServerSentEvent | Response[bytes]:
        # No person, no stream. 204 is how a server tells EventSource not to reconnect.
        if visitor.actor is None:
            return Response(b"", status_code=204, headers=NO_STORE)
        feed = LiveFeed(container, visitor.actor, visitor.locale, item_renderer(visitor), TIMING)
        start = feed.starting_point(last_event_id, after)
        return ServerSentEvent(feed.events(start), headers=NO_STORE)

    return [activity, stream]
