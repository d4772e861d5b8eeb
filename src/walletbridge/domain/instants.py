"""Instants as the edges show them: ISO 8601 in UTC with a ``Z``, to the microsecond.

The core keeps times as integer microseconds since the epoch; every API body, CSV export and
view renders them through ``iso_utc`` so one instant reads the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_moment(at_us: int) -> datetime:
    """Microseconds since the epoch as an aware UTC datetime."""
    # Integer arithmetic: a float timestamp would round away microseconds.
    seconds, micros = divmod(at_us, 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


def micros_of(moment: datetime) -> int:
    """An aware datetime as microseconds since the epoch, exactly."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def iso_utc(at_us: int) -> str:
    return utc_moment(at_us).isoformat().replace("+00:00", "Z")


def parse_iso_utc(text: str) -> int:
    """The inverse of ``iso_utc``: "2026-01-31T12:00:00.123456Z" in microseconds."""
    return micros_of(datetime.fromisoformat(text.replace("Z", "+00:00")))
