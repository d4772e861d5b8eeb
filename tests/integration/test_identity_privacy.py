"""S-13 on SQLite and PostgreSQL: email addresses, phone numbers and TOTP secrets are not readable
in the database (sealed with AES-GCM under each user's own data key), and passwords are argon2id
hashes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.integration.identity_kit import actor_of, build_on_clock, new_tenant, person
from walletbridge.adapters.db.tables_identity import users, verifications
from walletbridge.bootstrap import Container
from walletbridge.domain.identity import Channel


@pytest.fixture
def clocked(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, FakeClock]]:
    app, clock = build_on_clock(database_url, tmp_path)
    yield app, clock
    app.close()


def raw_text(row: object) -> str:
    """Every column of a raw row as text and as bytes decoded leniently."""
    parts = []
    for value in tuple(row):  # type: ignore[arg-type]
        if isinstance(value, bytes | memoryview):
            parts.append(bytes(value).decode("latin-1"))
        parts.append(str(value))
    return " ".join(parts)


def test_email_phone_and_totp_secret_are_not_readable_in_the_database(
    clocked: tuple[Container, FakeClock],
) -> None:
    app, _ = clocked
    bank = new_tenant(app)
    someone = person(app, bank)
    secret, _ = app.identity.begin_totp(actor_of(app, bank, someone.token))
    with app.engine.connect() as connection:
        row = connection.execute(
            select(users).where(users.c.id == uuid.UUID(someone.summary.user_id))
        ).one()
    text = raw_text(row)
    for plain in (someone.email, someone.phone, someone.phone.lstrip("+"), secret):
        assert plain not in text
    assert row.password_hash.startswith("$argon2id$")
    assert someone.handle in text  # the handle is public by design: payers see it


def test_each_user_has_their_own_data_key(clocked: tuple[Container, FakeClock]) -> None:
    app, _ = clocked
    bank = new_tenant(app)
    first, second = person(app, bank), person(app, bank)
    with app.engine.connect() as connection:
        keys = (
            connection.execute(
                select(users.c.data_key).where(
                    users.c.id.in_([uuid.UUID(first.user_id), uuid.UUID(second.user_id)])
                )
            )
            .scalars()
            .all()
        )
    assert len({bytes(k) for k in keys}) == 2


def test_an_address_waiting_for_its_code_is_sealed_too(
    clocked: tuple[Container, FakeClock],
) -> None:
    app, _ = clocked
    bank = new_tenant(app)
    started = app.identity.start_signup(bank, Channel.EMAIL, "waiting.person@example.com")
    with app.engine.connect() as connection:
        row = connection.execute(
            select(verifications).where(verifications.c.tenant_id == bank)
        ).one()
    assert str(row.id).replace("-", "") == started.verification_id.replace("-", "")
    assert "waiting.person" not in raw_text(row)
