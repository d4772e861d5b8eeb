"""Cryptography adapters: argon2id passwords, TOTP, AES-GCM envelope sealing, common passwords.

``identity_crypto`` builds the set ``bootstrap`` hands to the identity service.
"""

from __future__ import annotations

from walletbridge.adapters.crypto.passwords import Argon2PasswordHasher, CommonPasswords
from walletbridge.adapters.crypto.sealing import AesGcmSealer
from walletbridge.adapters.crypto.totp import PyOtpTotp
from walletbridge.ports.identity import IdentityCrypto


def identity_crypto(secret_key: bytes, *, fast_passwords: bool = False) -> IdentityCrypto:
    """``fast_passwords`` lowers argon2's cost for test suites and demo seeding only."""
    hasher = (
        Argon2PasswordHasher(time_cost=1, memory_cost_kib=8192, parallelism=1)
        if fast_passwords
        else Argon2PasswordHasher()
    )
    return IdentityCrypto(
        passwords=hasher,
        totp=PyOtpTotp(),
        sealer=AesGcmSealer(secret_key),
        common_passwords=CommonPasswords(),
    )


__all__ = [
    "AesGcmSealer",
    "Argon2PasswordHasher",
    "CommonPasswords",
    "PyOtpTotp",
    "identity_crypto",
]
