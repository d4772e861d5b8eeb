"""Instants as the edges show them: ISO 8601 in UTC with a ``Z``, to the microsecond.

The core keeps times as integer microseconds since the epoch; every API body, CSV export and
view renders them through ``iso_utc`` so one instant reads the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(at_us: int) -> str:
    # Integer arithmetic: a float timestamp would round away microseconds.
    moment = datetime.fromtimestamp(at_us // 1_000_000, tz=UTC)
    return moment.replace(microsecond=at_us % 1_000_000).isoformat().replace("+00:00", "Z")
