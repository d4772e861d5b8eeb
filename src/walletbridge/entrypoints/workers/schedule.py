"""When periodic jobs run. huey looks at periodic tasks once a minute, so these helpers turn an
interval in seconds into "tick every N minutes, and run at these offsets after each tick"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Cadence:
    every_minutes: int
    """Tick on minutes divisible by this."""
    offsets: tuple[int, ...]
    """Seconds after the tick at which to run."""


def cadence(interval_seconds: int) -> Cadence:
    """How to run a job at least every ``interval_seconds`` with once-a-minute ticks."""
    if interval_seconds >= 60:
        return Cadence(every_minutes=interval_seconds // 60, offsets=(0,))
    return Cadence(every_minutes=1, offsets=tuple(range(0, 60, interval_seconds)))


def on_minutes(every: int) -> Callable[[datetime], bool]:
    """A huey ``validate_datetime``: true on minutes divisible by ``every``."""

    def due(moment: datetime) -> bool:
        # huey passes naive UTC (utc=True); minutes since the epoch keep "every N" steady
        # across hours, which crontab's */N would not for N that does not divide 60.
        minute = int(moment.replace(tzinfo=UTC).timestamp()) // 60
        return minute % every == 0

    return due
