"""The system clock and identifier source.

Identifiers are UUID version 7: 48 bits of milliseconds then 74 random bits. They sort roughly by
creation time (index-friendly) while staying unguessable, so ids never reveal counts or order
beyond the millisecond and cannot be enumerated.
"""

from __future__ import annotations

import secrets
import time
import uuid


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1000


class UuidV7Source:
    def new_id(self) -> str:
        return str(uuid7())


def uuid7() -> uuid.UUID:
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 62) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)
