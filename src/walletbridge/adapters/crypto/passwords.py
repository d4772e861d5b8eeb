"""Password hashing with argon2id (argon2-cffi), and the list of common passwords to refuse.

``needs_rehash`` compares a stored hash's parameters with today's, so a login that proves the
password can store a fresh hash when the parameters are raised.
"""

from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2PasswordHasher:
    """argon2id; the defaults follow RFC 9106's second recommended option (64 MiB, t=3, p=4)."""

    def __init__(
        self, *, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 4
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


class CommonPasswords:
    """Passwords from ``adapters/data/common_passwords.txt`` (one a line, ``#`` comments),
    refused case-insensitively."""

    def __init__(self, words: frozenset[str] | None = None) -> None:
        self._words = words if words is not None else shipped_common_passwords()

    def is_common(self, password: str) -> bool:
        return password.casefold() in self._words

    def __len__(self) -> int:
        return len(self._words)


@functools.cache
def shipped_common_passwords() -> frozenset[str]:
    text = (
        resources.files("walletbridge.adapters.data")
        .joinpath("common_passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )
