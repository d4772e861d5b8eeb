"""Rate limits: at most ``limit`` attempts per bucket in each fixed window of ``window_seconds``.

The count lives in the database (one row per bucket and window, ``count <= max_count`` enforced by
a CHECK constraint), so a limit holds across every worker process. Windows are fixed, aligned to
the epoch: a burst at a window's edge may pass up to twice the limit across two windows, which the
documented numbers allow for.

    DomainError
    └── RateLimited                 rate-limited          429 (Retry-After)
"""

from __future__ import annotations

from dataclasses import dataclass

from walletbridge.domain.errors import DomainError, ErrorKind

US_PER_SECOND = 1_000_000


class RateLimited(DomainError):
    code = "rate-limited"
    kind = ErrorKind.RATE_LIMITED
    template = "Too many attempts; try again in {retry_after_seconds} seconds."
    public = ("retry_after_seconds", "limit")
    """``limit`` is the limit's name (``login``, ``transfers``), never the bucket (which may
    name a person)."""


@dataclass(frozen=True, slots=True)
class Window:
    start_us: int
    end_us: int

    def retry_after_seconds(self, now_us: int) -> int:
        """Whole seconds until the window ends, at least one."""
        remaining_us = max(0, self.end_us - now_us)
        return max(1, -(-remaining_us // US_PER_SECOND))


def window_at(now_us: int, window_seconds: int) -> Window:
    assert window_seconds > 0, "a rate-limit window lasts at least a second"
    length_us = window_seconds * US_PER_SECOND
    start_us = now_us - now_us % length_us
    return Window(start_us=start_us, end_us=start_us + length_us)
