"""Envelope encryption of personal data with AES-256-GCM.

Each user has a random 256-bit data key; it is stored only wrapped (AES-GCM) by a master key that
HKDF-SHA256 derives from the deployment secret. Personal data is sealed under the user's data
key with a label (``email``, ``phone``, ``totp``) as associated data, so a sealed value cannot be
moved to another field. Destroying a user's wrapped key makes their data unreadable everywhere,
backups included. Layout: version byte, 12-byte nonce, ciphertext with its 16-byte tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12
_WRAP_LABEL = b"walletbridge/data-key"


class SealBroken(Exception):
    """A sealed value or wrapped key did not authenticate: wrong key, or tampered."""


def master_key(secret_key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"walletbridge/master-key/v1",
        info=b"personal-data wrapping",
    ).derive(secret_key)


class AesGcmSealer:
    def __init__(self, secret_key: bytes) -> None:
        self._master = AESGCM(master_key(secret_key))

    def new_data_key(self) -> bytes:
        return _encrypt(self._master, AESGCM.generate_key(bit_length=256), _WRAP_LABEL)

    def seal(self, data_key: bytes, plaintext: str, label: str) -> bytes:
        return _encrypt(self._unwrap(data_key), plaintext.encode(), label.encode())

    def open(self, data_key: bytes, sealed: bytes, label: str) -> str:
        return _decrypt(self._unwrap(data_key), sealed, label.encode()).decode()

    def _unwrap(self, data_key: bytes) -> AESGCM:
        return AESGCM(_decrypt(self._master, data_key, _WRAP_LABEL))


def _encrypt(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + cipher.encrypt(nonce, plaintext, aad)


def _decrypt(cipher: AESGCM, sealed: bytes, aad: bytes) -> bytes:
    if sealed[:1] != VERSION or len(sealed) < 1 + NONCE_BYTES + 16:
        raise SealBroken("unknown seal format")
    nonce = sealed[1 : 1 + NONCE_BYTES]
    try:
        return cipher.decrypt(nonce, sealed[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise SealBroken("the seal does not authenticate") from None
