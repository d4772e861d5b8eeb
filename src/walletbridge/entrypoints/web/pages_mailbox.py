"""The development mailbox: the mail and text messages "sent" to an address, for people trying
the demo (that is where their verification code arrives).

It exists outside production only: in production ``routes`` mounts nothing, so the address is
the ordinary 404 page and no configuration mistake can serve it, and the page itself says that
it exists only in development and test. It needs no sign-in (someone signing up has no account
yet), which is why it must never exist in production: anyone could read anyone's codes.
Messages are read from the notification service's development mailbox and SMS outbox, newest
first; bodies are shown as text, escaped, never as HTML. Mail is delivered by the outbox relay
every couple of seconds, so a message may take a moment to appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import QueryParameter
from litestar.response import Template

from walletbridge.bootstrap import Container
from walletbridge.config import Environment
from walletbridge.domain.actors import RecipientKind
from walletbridge.domain.contacts import InvalidContact, normalise
from walletbridge.entrypoints.web.context import Visitor, page
from walletbridge.entrypoints.web.forms import Form

MAX_SHOWN = 50


@dataclass(frozen=True)
class Delivered:
    """One message as the page shows it (``subject`` is empty for a text message)."""

    subject: str
    body: str
    sent_at_us: int
    sender: str


def routes(container: Container) -> list[HTTPRouteHandler]:
    if container.settings.environment is Environment.PRODUCTION:
        return []
    notifications = container.notifications

    @get("/dev/mailbox", sync_to_thread=True)
    def mailbox(
        visitor: NamedDependency[Visitor],
        address: Annotated[str | None, QueryParameter(name="address", max_length=300)] = None,
    ) -> Template:
        form = Form.of({}, address=(address or "").strip())
        text = form.get("address")
        messages: list[Delivered] = []
        searched = ""
        if text:
            try:
                if "@" in text:
                    searched = normalise(RecipientKind.EMAIL, text)
                    messages = [
                        Delivered(m.subject, m.body, m.created_at_us, m.sender)
                        for m in notifications.mailbox(searched)
                    ]
                else:
                    searched = normalise(RecipientKind.PHONE, text)
                    messages = [
                        Delivered("", m.text, m.created_at_us, "")
                        for m in notifications.sms_outbox(searched)
                    ]
            except InvalidContact as error:
                form.fail(error, "address")
        messages.sort(key=lambda message: message.sent_at_us, reverse=True)
        status = 422 if form.errors else 200
        return page(
            visitor,
            "mailbox.html",
            status=status,
            form=form,
            searched=searched,
            messages=messages[:MAX_SHOWN],
        )

    return [mailbox]
