"""The cryptography adapters: argon2id hashing with rehash detection, the common-password list,
TOTP time steps, and AES-GCM envelope sealing under per-user data keys."""

from __future__ import annotations

import pytest

from walletbridge.adapters.crypto import identity_crypto
from walletbridge.adapters.crypto.passwords import Argon2PasswordHasher, CommonPasswords
from walletbridge.adapters.crypto.sealing import AesGcmSealer, SealBroken, master_key
from walletbridge.adapters.crypto.totp import PyOtpTotp

NOW_US = 1_767_225_600_000_000
STEP_US = 30_000_000
SECRET = b"a deployment secret long enough for tests"


def cheap(time_cost: int = 1) -> Argon2PasswordHasher:
    return Argon2PasswordHasher(time_cost=time_cost, memory_cost_kib=8192, parallelism=1)


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    hasher = cheap()
    stored = hasher.hash("violet-harbour-tide-42")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "violet-harbour-tide-42")
    assert not hasher.verify(stored, "violet-harbour-tide-43")
    assert not hasher.verify("not a hash", "violet-harbour-tide-42")
    assert hasher.hash("same") != hasher.hash("same")  # salted


def test_a_hash_made_with_other_parameters_needs_rehashing() -> None:
    old, new = cheap(time_cost=1), cheap(time_cost=2)
    stored = old.hash("violet-harbour-tide-42")
    assert new.needs_rehash(stored)
    assert not old.needs_rehash(stored)
    assert new.verify(stored, "violet-harbour-tide-42")  # still accepted, then replaced
    assert new.needs_rehash("garbage")


def test_the_production_hasher_follows_rfc_9106() -> None:
    assert "$m=65536,t=3,p=4$" in Argon2PasswordHasher().hash("violet-harbour-tide-42")


def test_the_shipped_list_holds_hundreds_of_common_passwords_matched_case_insensitively() -> None:
    common = CommonPasswords()
    assert len(common) >= 300
    for password in ("password123", "Password123", "QWERTYUIOP", "1234567890", "iloveyou123"):
        assert common.is_common(password)
    assert not common.is_common("violet-harbour-tide-42")


def test_a_totp_code_names_its_time_step_within_one_step_of_drift() -> None:
    totp = PyOtpTotp()
    secret = totp.new_secret()
    now_step = NOW_US // STEP_US
    for drift in (-1, 0, 1):
        code = totp.code_at(secret, NOW_US + drift * STEP_US)
        assert totp.matching_step(secret, code, NOW_US) == now_step + drift
    for far in (-2, 2):
        code = totp.code_at(secret, NOW_US + far * STEP_US)
        near = {totp.code_at(secret, NOW_US + d * STEP_US) for d in (-1, 0, 1)}
        if code not in near:
            assert totp.matching_step(secret, code, NOW_US) is None
    for junk in ("", "12345", "1234567", "abcdef", "12 34 5x"):
        assert totp.matching_step(secret, junk, NOW_US) is None


def test_the_otpauth_uri_names_the_issuer_and_account() -> None:
    uri = PyOtpTotp().provisioning_uri(
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", account_name="alice", issuer="Jade Bank"
    )
    assert uri.startswith("otpauth://totp/Jade%20Bank:alice?")
    assert "issuer=Jade%20Bank" in uri


def test_sealed_data_opens_only_with_its_key_and_label() -> None:
    sealer = AesGcmSealer(SECRET)
    key = sealer.new_data_key()
    sealed = sealer.seal(key, "alice@example.com", "email")
    assert b"alice" not in sealed
    assert sealer.open(key, sealed, "email") == "alice@example.com"
    assert sealer.seal(key, "alice@example.com", "email") != sealed  # fresh nonce
    with pytest.raises(SealBroken):
        sealer.open(key, sealed, "phone")
    with pytest.raises(SealBroken):
        sealer.open(sealer.new_data_key(), sealed, "email")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealBroken):
        sealer.open(key, tampered, "email")


def test_data_keys_are_wrapped_by_a_master_key_derived_from_the_deployment_secret() -> None:
    ours, theirs = AesGcmSealer(SECRET), AesGcmSealer(b"another deployment's secret")
    key = ours.new_data_key()
    sealed = ours.seal(key, "+8613800138000", "phone")
    with pytest.raises(SealBroken):
        theirs.open(key, sealed, "phone")
    assert AesGcmSealer(SECRET).open(key, sealed, "phone") == "+8613800138000"
    assert master_key(SECRET) == master_key(SECRET) != master_key(b"other")
    assert len(master_key(SECRET)) == 32


def test_the_identity_crypto_set_is_built_from_the_secret() -> None:
    crypto = identity_crypto(SECRET, fast_passwords=True)
    key = crypto.sealer.new_data_key()
    assert crypto.sealer.open(key, crypto.sealer.seal(key, "x", "totp"), "totp") == "x"
    assert crypto.common_passwords.is_common("PASSWORD")
