"""Helpers for the identity tests: a container on a fake clock, the outbox as a mailbox, and a
TOTP authenticator that reads the same clock."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import FakeClock, settings_for
from walletbridge.adapters.crypto.totp import PyOtpTotp
from walletbridge.adapters.db.tables_platform import outbox
from walletbridge.bootstrap import Container, build
from walletbridge.domain.actors import Actor, RequestContext, UserSummary
from walletbridge.domain.ledger import TenantId

PASSWORD = "violet-harbour-lantern-42"
CONTEXT = RequestContext(ip="127.0.0.1", user_agent="pytest", request_id="test")
_CODE = re.compile(r"\b(\d{6})\b")


def build_on_clock(database_url: str, tmp_path: Path) -> tuple[Container, FakeClock]:
    clock = FakeClock()
    return build(settings_for(database_url, tmp_path), clock=clock), clock


def new_tenant(app: Container) -> TenantId:
    return app.tenants.create(f"t-{secrets.token_hex(6)}", "Test bank", "EUR").id


def unique(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(5)}"


def messages(app: Container, tenant: TenantId, to: str) -> list[dict[str, Any]]:
    """Outbox payloads addressed to ``to`` in this tenant, newest first."""
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.topic, outbox.c.payload)
            .where(outbox.c.tenant_id == tenant)
            .order_by(outbox.c.created_at_us.desc(), outbox.c.id.desc())
        ).all()
    found = []
    for topic, payload in rows:
        data = json.loads(payload)
        if data.get("to") == to:
            found.append({"topic": topic, **data})
    return found


def text_of(message: dict[str, Any]) -> str:
    return str(message.get("body") or message.get("text") or "")


def code_sent_to(app: Container, tenant: TenantId, to: str) -> str:
    for message in messages(app, tenant, to):
        match = _CODE.search(text_of(message))
        if match:
            return match.group(1)
    raise AssertionError(f"no code was sent to {to}")


@dataclass
class Person:
    summary: UserSummary
    handle: str
    email: str
    phone: str
    token: str

    @property
    def user_id(self) -> str:
        return self.summary.user_id


def person(app: Container, tenant: TenantId, **kwargs: Any) -> Person:
    """A verified user, signed in."""
    handle = unique()
    email = f"{handle}@example.com"
    phone = f"+4915{secrets.randbelow(10**9):09d}"
    summary = app.identity.register_verified(
        tenant,
        handle=handle,
        display_name=f"User {handle}",
        password=PASSWORD,
        email=email,
        phone=phone,
        **kwargs,
    )
    result = app.identity.login(tenant, handle, PASSWORD, CONTEXT)
    assert result.token is not None
    return Person(summary, handle, email, phone, result.token.access_token)


def actor_of(app: Container, tenant: TenantId, token: str) -> Actor:
    return app.identity.authenticate(tenant, token, CONTEXT)


class Authenticator:
    """An authenticator app for one secret, reading the test's clock."""

    def __init__(self, secret: str, clock: FakeClock) -> None:
        self.secret = secret
        self.clock = clock

    def code(self, *, offset_steps: int = 0) -> str:
        return PyOtpTotp().code_at(self.secret, self.clock.now_us() + offset_steps * 30_000_000)

    def wrong_code(self) -> str:
        right = {self.code(offset_steps=n) for n in (-1, 0, 1)}
        return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in right)


def enrol_totp(app: Container, actor: Actor, clock: FakeClock) -> tuple[Authenticator, list[str]]:
    secret, _ = app.identity.begin_totp(actor)
    device = Authenticator(secret, clock)
    codes = app.identity.confirm_totp(actor, device.code())
    clock.advance(30)  # the enrolment code's step is spent
    return device, codes
