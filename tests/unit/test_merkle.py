"""Tests for walletbridge.domain.merkle and the verifier published in docs/ledger-proofs.md."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walletbridge.domain.merkle import (
    GENESIS_HASH,
    CanonicalEntry,
    CanonicalPosting,
    InclusionProof,
    canonical_entry_bytes,
    check_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    seal_hash,
    verify_inclusion,
)

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "ledger-proofs.md"
MAX_SIZE = 33

# Certificate Transparency's published RFC 6962 test data: eight leaf inputs, the roots of
# the first n of them for n = 0..8, and audit paths for a few (index, size) pairs.
CT_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# sha256 over the concatenated roots of _leaves(n) for n = 0..33. If this changes, every seal
# ever written stops verifying, so it must only change together with a new seal format.
ROOTS_0_TO_33_DIGEST = "06b6a2dac2738c934b65e0843235843d4d729957de49a82bba8b1fca0a3f0c9c"


# ------------------------------------------------------------------------------ helpers


def _leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


def _flip(data: bytes, byte: int = 0, bit: int = 0) -> bytes:
    changed = bytearray(data)
    changed[byte] ^= 1 << bit
    return bytes(changed)


FLIPS = [(0, 0), (31, 7)]


def _reference_root(leaves: Sequence[bytes]) -> bytes:
    """An independent construction: hash pairs level by level and carry an odd node up.

    Carrying the last node of an odd level up unchanged builds the same tree as the RFC 6962
    split, so agreement between the two is evidence that neither is wrong.
    """
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _directions(index: int, size: int) -> tuple[bool, ...]:
    """Whether the leaf goes left at each level of a tree of ``size``, from the root down."""
    steps: list[bool] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        steps.append(index < lo + k)
        lo, hi = (lo, lo + k) if index < lo + k else (lo + k, hi)
    return tuple(steps)


def _posting(leg: int, account: str, amount: int, currency: str = "EUR") -> CanonicalPosting:
    return CanonicalPosting(leg=leg, account_id=account, currency=currency, amount_minor=amount)


SAMPLE_ENTRY = CanonicalEntry(
    entry_id="7e2a0f18-5c3d-4b9e-a1f6-c8d94e2b7a03",
    seq=104,
    tenant_id="acme",
    idempotency_key="pay-7783",
    kind="transfer",
    posted_at="2026-11-23T10:00:02.500000Z",
    postings=(_posting(0, "wallet:carol", -9900), _posting(1, "merchant:espresso-bar", 9900)),
)

SAMPLE_BYTES = (
    b'{"entry_id":"7e2a0f18-5c3d-4b9e-a1f6-c8d94e2b7a03","idempotency_key":"pay-7783",'
    b'"kind":"transfer","posted_at":"2026-11-23T10:00:02.500000Z","postings":['
    b'{"account_id":"wallet:carol","amount_minor":-9900,"currency":"EUR","leg":0},'
    b'{"account_id":"merchant:espresso-bar","amount_minor":9900,"currency":"EUR","leg":1}],'
    b'"seq":104,"tenant_id":"acme"}'
)


def _entry(seq: int) -> CanonicalEntry:
    return CanonicalEntry(
        entry_id=f"00000000-0000-4000-8000-{seq:012x}",
        seq=seq,
        tenant_id="acme",
        idempotency_key=f"pay-{seq}",
        kind="transfer",
        posted_at=f"2026-11-23T10:00:{seq % 60:02d}.{seq:06d}Z",
        postings=(_posting(0, "wallet:alice", -100 * seq), _posting(1, "wallet:bob", 100 * seq)),
    )


# A seal over seqs 101..108 holding five entries: 103, 106 and 108 were never committed, as
# happens when a transaction that drew a sequence number rolls back.
SEAL_SEQS = [101, 102, 104, 105, 107]
SEAL_ENTRIES = [_entry(seq) for seq in SEAL_SEQS]
SEAL_FIRST, SEAL_LAST, SEAL_NO = 101, 108, 2
PREV_SEAL_HASH = seal_hash(GENESIS_HASH, 1, 1, 100, 1, leaf_hash(b"an earlier seal"))


def _seal_proof(index: int, entries: Sequence[CanonicalEntry] = SEAL_ENTRIES) -> InclusionProof:
    leaves = [leaf_hash(canonical_entry_bytes(e)) for e in entries]
    root = merkle_root(leaves)
    return InclusionProof(
        entry=entries[index],
        leaf_index=index,
        tree_size=len(entries),
        path=tuple(inclusion_proof(leaves, index)),
        root=root,
        seal_no=SEAL_NO,
        first_seq=SEAL_FIRST,
        last_seq=SEAL_LAST,
        prev_seal_hash=PREV_SEAL_HASH,
        seal_hash=seal_hash(PREV_SEAL_HASH, SEAL_NO, SEAL_FIRST, SEAL_LAST, len(leaves), root),
    )


def _doc_blocks(language: str) -> list[str]:
    text = DOC_PATH.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def _run_doc_script(script: str, payload: Any, *args: str) -> subprocess.CompletedProcess[str]:
    # -I keeps the user's environment and the working directory off sys.path, so the script
    # runs the way a third party would run it.
    return subprocess.run(
        [sys.executable, "-I", "-c", script, *args],
        input=json.dumps(payload, indent=2),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _finding_kinds(findings: list[str]) -> set[str]:
    return {finding.split(":", 1)[0] for finding in findings}


# ------------------------------------------------------------------------ hashing, roots


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert left == hashlib.sha256(b"\x00a").digest()
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(left + right) != node_hash(left, right)


def test_the_empty_tree_has_the_hash_of_the_empty_string_as_its_root() -> None:
    assert merkle_root([]) == hashlib.sha256(b"").digest()


def test_a_single_leaf_is_its_own_root() -> None:
    (leaf,) = _leaves(1)
    assert merkle_root([leaf]) == leaf


def test_roots_match_the_rfc_6962_reference_vectors() -> None:
    leaves = [leaf_hash(data) for data in CT_INPUTS]
    for size, expected in enumerate(CT_ROOTS):
        assert merkle_root(leaves[:size]).hex() == expected, f"size {size}"


def test_audit_paths_match_the_rfc_6962_reference_vectors() -> None:
    leaves = [leaf_hash(data) for data in CT_INPUTS]
    for index, size, expected in CT_PATHS:
        path = inclusion_proof(leaves[:size], index)
        assert [h.hex() for h in path] == expected, f"index {index} of {size}"
        assert verify_inclusion(leaves[index], index, size, path, bytes.fromhex(CT_ROOTS[size]))


def test_roots_for_sizes_0_to_33_are_stable() -> None:
    roots = [merkle_root(_leaves(n)) for n in range(MAX_SIZE + 1)]
    assert roots == [merkle_root(_leaves(n)) for n in range(MAX_SIZE + 1)]
    assert roots == [_reference_root(_leaves(n)) for n in range(MAX_SIZE + 1)]
    assert len(set(roots)) == len(roots)
    assert hashlib.sha256(b"".join(roots)).hexdigest() == ROOTS_0_TO_33_DIGEST


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_a_root_changes_when_any_leaf_changes(size: int) -> None:
    leaves = _leaves(size)
    root = merkle_root(leaves)
    for position in range(size):
        for byte, bit in FLIPS:
            changed = list(leaves)
            changed[position] = _flip(leaves[position], byte, bit)
            assert merkle_root(changed) != root, f"leaf {position} of {size}"


def test_a_root_commits_to_leaf_order_and_never_duplicates_a_node() -> None:
    a, b, c = _leaves(3)
    assert merkle_root([a, b, c]) != merkle_root([a, c, b])
    # A tree that pads odd levels by repeating the last node would give these the same root.
    assert merkle_root([a, b, c]) != merkle_root([a, b, c, c])
    assert merkle_root([a, b]) != merkle_root([a, b, b])


def test_merkle_root_refuses_anything_but_32_byte_leaf_hashes() -> None:
    with pytest.raises(ValueError, match="leaf 1"):
        merkle_root([leaf_hash(b"ok"), b"raw entry bytes"])
    with pytest.raises(ValueError, match="leaf 0"):
        inclusion_proof([b"short"], 0)


# ---------------------------------------------------------------------- inclusion proofs


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_inclusion_proof_verifies_for_every_size_and_index(size: int) -> None:
    leaves = _leaves(size)
    root = merkle_root(leaves)
    for index in range(size):
        path = inclusion_proof(leaves, index)
        assert len(path) == len(_directions(index, size))
        assert verify_inclusion(leaves[index], index, size, path, root), f"{index} of {size}"


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_an_inclusion_proof_fails_for_a_flipped_bit_in_the_leaf_the_path_or_the_root(
    size: int,
) -> None:
    leaves = _leaves(size)
    root = merkle_root(leaves)
    for index in range(size):
        leaf, path = leaves[index], inclusion_proof(leaves, index)
        for byte, bit in FLIPS:
            assert not verify_inclusion(_flip(leaf, byte, bit), index, size, path, root)
            assert not verify_inclusion(leaf, index, size, path, _flip(root, byte, bit))
            for k in range(len(path)):
                bad_path = [*path[:k], _flip(path[k], byte, bit), *path[k + 1 :]]
                assert not verify_inclusion(leaf, index, size, bad_path, root), (index, k)


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_an_inclusion_proof_fails_for_any_wrong_index(size: int) -> None:
    leaves = _leaves(size)
    root = merkle_root(leaves)
    for index in range(size):
        path = inclusion_proof(leaves, index)
        for wrong in [*range(size), size, size + 7, -1]:
            if wrong != index:
                assert not verify_inclusion(leaves[index], wrong, size, path, root), wrong


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_an_inclusion_proof_fails_for_a_wrong_size_that_moves_the_leaf(size: int) -> None:
    # RFC 6962 audit paths do not commit to the tree size: another size verifies exactly when
    # it puts the leaf at the same place in a tree of the same shape along its path. The seal
    # hash is what pins the size, which the check_proof tests below confirm.
    leaves = _leaves(size)
    root = merkle_root(leaves)
    for index in range(size):
        path = inclusion_proof(leaves, index)
        for wrong in range(0, 2 * MAX_SIZE + 2):
            if wrong == size:
                continue
            same_shape = index < wrong and _directions(index, wrong) == _directions(index, size)
            verified = verify_inclusion(leaves[index], index, wrong, path, root)
            assert verified == same_shape, f"index {index}, size {size} claimed as {wrong}"


def test_only_the_seal_hash_pins_the_tree_size() -> None:
    leaves = _leaves(4)
    path, root = inclusion_proof(leaves, 0), merkle_root(leaves)
    assert verify_inclusion(leaves[0], 0, 3, path, root)
    proof = _seal_proof(0, [_entry(seq) for seq in (101, 102, 104, 105)])
    assert check_proof(proof) == []
    assert "seal hash" in _finding_kinds(check_proof(dataclasses.replace(proof, tree_size=3)))


def test_verify_inclusion_returns_false_instead_of_raising_on_malformed_input() -> None:
    leaves = _leaves(5)
    root = merkle_root(leaves)
    path = inclusion_proof(leaves, 3)
    assert verify_inclusion(leaves[3], 3, 5, path, root)
    assert not verify_inclusion(leaves[3], 3, 5, [*path, path[0]], root)
    assert not verify_inclusion(leaves[3], 3, 5, path[:-1], root)
    assert not verify_inclusion(leaves[3], 3, 0, path, root)
    assert not verify_inclusion(leaves[3], 5, 5, path, root)
    assert not verify_inclusion(leaves[3], -1, 5, path, root)
    assert not verify_inclusion(leaves[3][:31], 3, 5, path, root)
    assert not verify_inclusion(leaves[3], 3, 5, [path[0][:16], *path[1:]], root)
    assert not verify_inclusion(leaves[3], 3, 5, path, root + b"\x00")
    assert not verify_inclusion(leaves[0], 0, 1, [], root)
    assert verify_inclusion(leaves[0], 0, 1, [], leaves[0])


def test_inclusion_proof_refuses_an_index_outside_the_tree() -> None:
    for index in (-1, 3, 4):
        with pytest.raises(ValueError, match="outside"):
            inclusion_proof(_leaves(3), index)


def test_seal_hash_follows_the_documented_byte_layout() -> None:
    prev, root = bytes(range(32)), leaf_hash(b"root")
    expected = hashlib.sha256(
        b"walletbridge-seal-v1"
        + prev
        + (7).to_bytes(8, "big")
        + (101).to_bytes(8, "big")
        + (108).to_bytes(8, "big")
        + (5).to_bytes(8, "big")
        + root
    ).digest()
    assert seal_hash(prev, 7, 101, 108, 5, root) == expected
    assert GENESIS_HASH.hex() == "00" * 32
    with pytest.raises(ValueError, match="seal_no"):
        seal_hash(prev, -1, 101, 108, 5, root)
    with pytest.raises(ValueError, match="root"):
        seal_hash(prev, 7, 101, 108, 5, root[:31])


# --------------------------------------------------------------------- canonical entries


def test_canonical_bytes_follow_the_documented_layout() -> None:
    assert canonical_entry_bytes(SAMPLE_ENTRY) == SAMPLE_BYTES


def test_canonical_bytes_do_not_depend_on_dict_key_order_or_posting_order() -> None:
    proof_json = _seal_proof(0).to_json_dict()
    sample_json = json.loads(SAMPLE_BYTES)
    rng = random.Random(6962)
    for _ in range(20):
        entry = dict(rng.sample(list(sample_json.items()), len(sample_json)))
        entry["postings"] = [
            dict(rng.sample(list(p.items()), len(p)))
            for p in rng.sample(sample_json["postings"], 2)
        ]
        parsed = InclusionProof.from_json_dict({**proof_json, "entry": entry}).entry
        assert canonical_entry_bytes(parsed) == SAMPLE_BYTES
        # A third party's own json.dumps must agree once postings are ordered by leg.
        entry["postings"].sort(key=lambda p: p["leg"])
        rebuilt = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        assert rebuilt.encode() == SAMPLE_BYTES
    reversed_entry = dataclasses.replace(SAMPLE_ENTRY, postings=SAMPLE_ENTRY.postings[::-1])
    assert canonical_entry_bytes(reversed_entry) == SAMPLE_BYTES


ENTRY_CHANGES: list[tuple[str, Callable[[CanonicalEntry], CanonicalEntry]]] = [
    ("entry_id", lambda e: dataclasses.replace(e, entry_id=e.entry_id[:-1] + "4")),
    ("seq", lambda e: dataclasses.replace(e, seq=e.seq + 1)),
    ("tenant_id", lambda e: dataclasses.replace(e, tenant_id="acme2")),
    ("idempotency_key", lambda e: dataclasses.replace(e, idempotency_key="pay-7784")),
    ("kind", lambda e: dataclasses.replace(e, kind="refund")),
    ("posted_at", lambda e: dataclasses.replace(e, posted_at="2026-11-23T10:00:02.500001Z")),
    ("no postings", lambda e: dataclasses.replace(e, postings=())),
    (
        "extra posting",
        lambda e: dataclasses.replace(e, postings=(*e.postings, _posting(2, "x", 0))),
    ),
]
POSTING_CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("leg", {"leg": 5}),
    ("account_id", {"account_id": "wallet:mallory"}),
    ("currency", {"currency": "USD"}),
    ("amount_minor", {"amount_minor": -9901}),
]


@pytest.mark.parametrize(("field", "change"), ENTRY_CHANGES, ids=[n for n, _ in ENTRY_CHANGES])
def test_canonical_bytes_change_when_any_entry_field_changes(
    field: str, change: Callable[[CanonicalEntry], CanonicalEntry]
) -> None:
    changed = change(SAMPLE_ENTRY)
    assert changed != SAMPLE_ENTRY, field
    assert canonical_entry_bytes(changed) != SAMPLE_BYTES


@pytest.mark.parametrize(("field", "change"), POSTING_CHANGES, ids=[n for n, _ in POSTING_CHANGES])
@pytest.mark.parametrize("leg", [0, 1])
def test_canonical_bytes_change_when_any_posting_field_changes(
    field: str, change: dict[str, Any], leg: int
) -> None:
    postings = list(SAMPLE_ENTRY.postings)
    postings[leg] = dataclasses.replace(postings[leg], **change)
    changed = dataclasses.replace(SAMPLE_ENTRY, postings=tuple(postings))
    assert canonical_entry_bytes(changed) != SAMPLE_BYTES, field


def test_canonical_bytes_are_ascii_with_escapes_for_other_text() -> None:
    entry = dataclasses.replace(SAMPLE_ENTRY, idempotency_key='café "☕" 😀\n')
    encoded = canonical_entry_bytes(entry)
    assert encoded.isascii()
    assert b'"idempotency_key":"caf\\u00e9 \\"\\u2615\\" \\ud83d\\ude00\\n"' in encoded
    assert json.loads(encoded)["idempotency_key"] == 'café "☕" 😀\n'


@pytest.mark.parametrize(
    "change",
    [
        {"entry_id": "7E2A0F18-5C3D-4B9E-A1F6-C8D94E2B7A03"},
        {"entry_id": "{7e2a0f18-5c3d-4b9e-a1f6-c8d94e2b7a03}"},
        {"entry_id": "7e2a0f185c3d4b9ea1f6c8d94e2b7a03"},
        {"entry_id": "not-a-uuid"},
        {"posted_at": "2026-11-23T10:00:02.5Z"},
        {"posted_at": "2026-11-23T10:00:02.500000+00:00"},
        {"posted_at": "2026-11-23 10:00:02.500000Z"},
        {"posted_at": "2026-02-30T10:00:02.500000Z"},
        {"posted_at": "2026-11-23T24:00:00.000000Z"},
        {"seq": -1},
        {"seq": True},
        {"seq": 2**64},
        {"postings": (_posting(0, "a", 1), _posting(0, "b", -1))},
        {"postings": [_posting(0, "a", 1)]},
        {"tenant_id": 7},
    ],
)
def test_canonical_entries_refuse_values_with_more_than_one_spelling(
    change: dict[str, Any],
) -> None:
    with pytest.raises((ValueError, TypeError)):
        dataclasses.replace(SAMPLE_ENTRY, **change)


@pytest.mark.parametrize(
    "change", [{"amount_minor": True}, {"amount_minor": 1.5}, {"leg": -1}, {"currency": None}]
)
def test_canonical_postings_refuse_values_that_are_not_integers_or_strings(
    change: dict[str, Any],
) -> None:
    with pytest.raises((ValueError, TypeError)):
        dataclasses.replace(SAMPLE_ENTRY.postings[0], **change)


# -------------------------------------------------------------------- InclusionProof JSON


def test_a_proof_survives_a_round_trip_through_json_text() -> None:
    for index in range(len(SEAL_ENTRIES)):
        proof = _seal_proof(index)
        text = json.dumps(proof.to_json_dict())
        assert InclusionProof.from_json_dict(json.loads(text)) == proof


def test_to_json_dict_renders_hashes_as_lowercase_hex_and_the_entry_canonically() -> None:
    rendered = _seal_proof(2).to_json_dict()
    assert list(rendered) == [
        "entry",
        "leaf_index",
        "tree_size",
        "path",
        "root",
        "seal_no",
        "first_seq",
        "last_seq",
        "prev_seal_hash",
        "seal_hash",
    ]
    assert rendered["prev_seal_hash"] == PREV_SEAL_HASH.hex()
    for value in [rendered["root"], rendered["seal_hash"], *rendered["path"]]:
        assert re.fullmatch("[0-9a-f]{64}", value)
    canonical = json.dumps(rendered["entry"], sort_keys=True, separators=(",", ":"))
    assert canonical.encode() == canonical_entry_bytes(SEAL_ENTRIES[2])


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("extra proof key", lambda d: d.update(note="trust me")),
    ("missing proof key", lambda d: d.pop("seal_no")),
    ("extra entry key", lambda d: d["entry"].update(memo="hidden")),
    ("missing posting key", lambda d: d["entry"]["postings"][0].pop("currency")),
    ("uppercase hex", lambda d: d.update(root=d["root"].upper())),
    ("short hex", lambda d: d.update(seal_hash=d["seal_hash"][:-2])),
    ("spaced hex", lambda d: d.update(root=d["root"][:2] + " " + d["root"][3:])),
    ("boolean index", lambda d: d.update(leaf_index=True)),
    ("string size", lambda d: d.update(tree_size="5")),
    ("float amount", lambda d: d["entry"]["postings"][0].update(amount_minor=1.0)),
    ("path not a list", lambda d: d.update(path=",".join(d["path"]))),
    ("negative seal number", lambda d: d.update(seal_no=-2)),
]


@pytest.mark.parametrize(("name", "damage"), MALFORMED, ids=[n for n, _ in MALFORMED])
def test_from_json_dict_refuses_malformed_proofs(
    name: str, damage: Callable[[dict[str, Any]], object]
) -> None:
    data = _seal_proof(1).to_json_dict()
    damage(data)
    with pytest.raises((ValueError, TypeError)):
        InclusionProof.from_json_dict(data)


# --------------------------------------------------------------------------- check_proof


def test_check_proof_finds_nothing_wrong_with_a_good_proof() -> None:
    for index in range(len(SEAL_ENTRIES)):
        assert check_proof(_seal_proof(index)) == [], index


def _posting_changed(entry: CanonicalEntry, **change: Any) -> CanonicalEntry:
    first = dataclasses.replace(entry.postings[0], **change)
    return dataclasses.replace(entry, postings=(first, *entry.postings[1:]))


TAMPERINGS: list[tuple[str, Callable[[InclusionProof], InclusionProof], set[str]]] = [
    (
        "entry amount",
        lambda p: dataclasses.replace(p, entry=_posting_changed(p.entry, amount_minor=-1)),
        {"inclusion"},
    ),
    (
        "entry account",
        lambda p: dataclasses.replace(p, entry=_posting_changed(p.entry, account_id="x")),
        {"inclusion"},
    ),
    (
        "entry posted_at",
        lambda p: dataclasses.replace(
            p, entry=dataclasses.replace(p.entry, posted_at="2026-11-24T10:00:00.000000Z")
        ),
        {"inclusion"},
    ),
    (
        "entry seq",
        lambda p: dataclasses.replace(p, entry=dataclasses.replace(p.entry, seq=99)),
        {"inclusion", "seal range"},
    ),
    (
        "path element",
        lambda p: dataclasses.replace(p, path=(_flip(p.path[0], 5, 3), *p.path[1:])),
        {"inclusion"},
    ),
    ("path truncated", lambda p: dataclasses.replace(p, path=p.path[:-1]), {"inclusion"}),
    ("leaf index", lambda p: dataclasses.replace(p, leaf_index=p.leaf_index + 1), {"inclusion"}),
    (
        "seal prev hash",
        lambda p: dataclasses.replace(p, prev_seal_hash=_flip(p.prev_seal_hash)),
        {"seal hash"},
    ),
    ("root", lambda p: dataclasses.replace(p, root=_flip(p.root)), {"inclusion", "seal hash"}),
    ("seal hash", lambda p: dataclasses.replace(p, seal_hash=_flip(p.seal_hash)), {"seal hash"}),
    ("seal number", lambda p: dataclasses.replace(p, seal_no=p.seal_no + 1), {"seal hash"}),
    ("last seq", lambda p: dataclasses.replace(p, last_seq=p.last_seq + 1), {"seal hash"}),
    (
        "first seq past the entry",
        lambda p: dataclasses.replace(p, first_seq=p.entry.seq + 1),
        {"seal range", "seal hash"},
    ),
    ("tree size", lambda p: dataclasses.replace(p, tree_size=p.tree_size + 1), {"seal hash"}),
]


@pytest.mark.parametrize(
    ("name", "tamper", "expected"), TAMPERINGS, ids=[n for n, _, _ in TAMPERINGS]
)
def test_check_proof_reports_each_kind_of_tampering(
    name: str, tamper: Callable[[InclusionProof], InclusionProof], expected: set[str]
) -> None:
    findings = check_proof(tamper(_seal_proof(1)))
    assert findings, name
    assert expected <= _finding_kinds(findings), findings


def test_check_proof_notices_a_leaf_index_that_the_seq_range_cannot_hold() -> None:
    # Entry 107 is last of five in 101..108, so only index 4, 3 or 2 would leave room for the
    # entries that must precede it; index 0 would need four entries above 107 in 108..108.
    proof = _seal_proof(4)
    moved = dataclasses.replace(proof, leaf_index=0)
    assert "seal range" in _finding_kinds(check_proof(moved))


# ------------------------------------------------------------------- the published docs


def test_the_example_proof_in_the_docs_is_valid() -> None:
    (example,) = _doc_blocks("json")
    proof = InclusionProof.from_json_dict(json.loads(example))
    assert check_proof(proof) == []
    assert proof.entry == SAMPLE_ENTRY


def test_the_docs_verifier_uses_only_the_standard_library() -> None:
    script = _doc_blocks("python")[0]
    imported: set[str] = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names


@pytest.mark.parametrize("index", range(len(SEAL_ENTRIES)))
def test_the_docs_verifier_prints_ok_for_a_good_proof(index: int) -> None:
    result = _run_doc_script(_doc_blocks("python")[0], _seal_proof(index).to_json_dict())
    assert (result.stdout.strip(), result.returncode, result.stderr) == ("OK", 0, "")


DOC_TAMPERINGS: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("entry amount", lambda d: d["entry"]["postings"][0].update(amount_minor=-1)),
    ("entry account", lambda d: d["entry"]["postings"][1].update(account_id="wallet:mallory")),
    ("entry posted_at", lambda d: d["entry"].update(posted_at="2026-11-24T10:00:00.000000Z")),
    ("path element", lambda d: d["path"].__setitem__(0, "00" * 32)),
    ("path too long", lambda d: d["path"].append(d["path"][0])),
    ("leaf index", lambda d: d.update(leaf_index=d["leaf_index"] + 1)),
    ("tree size", lambda d: d.update(tree_size=d["tree_size"] - 1)),
    ("root", lambda d: d.update(root="11" * 32)),
    ("seal prev hash", lambda d: d.update(prev_seal_hash="22" * 32)),
    ("seal hash", lambda d: d.update(seal_hash="33" * 32)),
    ("seq outside the seal", lambda d: d.update(last_seq=d["entry"]["seq"] - 1)),
]


@pytest.mark.parametrize(("name", "damage"), DOC_TAMPERINGS, ids=[n for n, _ in DOC_TAMPERINGS])
def test_the_docs_verifier_prints_a_failure_for_a_tampered_proof(
    name: str, damage: Callable[[dict[str, Any]], object]
) -> None:
    data = _seal_proof(1).to_json_dict()
    damage(data)
    result = _run_doc_script(_doc_blocks("python")[0], data)
    assert result.stdout.startswith("FAIL: "), (name, result.stdout, result.stderr)
    assert result.returncode == 1


def test_the_docs_verifier_and_check_proof_agree_that_posting_order_is_irrelevant() -> None:
    data = _seal_proof(3).to_json_dict()
    data["entry"]["postings"].reverse()
    assert check_proof(InclusionProof.from_json_dict(data)) == []
    assert _run_doc_script(_doc_blocks("python")[0], data).stdout.strip() == "OK"


def _seal_chain(count: int) -> list[dict[str, Any]]:
    seals, prev, first = [], GENESIS_HASH, 1
    for seal_no in range(1, count + 1):
        last = first + 9
        leaves = _leaves(seal_no + 2, salt=bytes([seal_no]))
        root = merkle_root(leaves)
        digest = seal_hash(prev, seal_no, first, last, len(leaves), root)
        seals.append(
            {
                "seal_no": seal_no,
                "first_seq": first,
                "last_seq": last,
                "entry_count": len(leaves),
                "root": root.hex(),
                "prev_seal_hash": prev.hex(),
                "seal_hash": digest.hex(),
            }
        )
        prev, first = digest, last + 1
    return seals


def test_the_docs_chain_checker_accepts_an_honest_chain_ending_at_the_published_hash() -> None:
    chain = _seal_chain(4)
    result = _run_doc_script(_doc_blocks("python")[1], chain, chain[-1]["seal_hash"])
    assert (result.stdout.strip(), result.returncode, result.stderr) == ("OK", 0, "")


CHAIN_DAMAGE: list[tuple[str, Callable[[list[dict[str, Any]]], object]]] = [
    ("rewritten root", lambda c: c[1].update(root="44" * 32)),
    ("broken link", lambda c: c[2].update(prev_seal_hash=c[0]["seal_hash"])),
    ("dropped seal", lambda c: c.pop(1)),
    ("seq gap", lambda c: c[2].update(first_seq=c[2]["first_seq"] + 1)),
    ("not from genesis", lambda c: c.pop(0)),
    ("stale published hash", lambda c: c.pop()),
]


@pytest.mark.parametrize(("name", "damage"), CHAIN_DAMAGE, ids=[n for n, _ in CHAIN_DAMAGE])
def test_the_docs_chain_checker_reports_a_damaged_chain(
    name: str, damage: Callable[[list[dict[str, Any]]], object]
) -> None:
    chain = _seal_chain(4)
    published = chain[-1]["seal_hash"]
    damage(chain)
    result = _run_doc_script(_doc_blocks("python")[1], chain, published)
    assert result.stdout.startswith("FAIL: "), (name, result.stdout, result.stderr)
    assert result.returncode == 1


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_docs_jq_recipe_rebuilds_the_canonical_bytes(tmp_path: Path) -> None:
    jq_filter = ".entry | .postings |= sort_by(.leg)"
    assert f"jq -jcSa '{jq_filter}' proof.json" in DOC_PATH.read_text(encoding="utf-8")
    proof = _seal_proof(2)
    data = proof.to_json_dict()
    data["entry"]["postings"].reverse()
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(data, indent=2), encoding="utf-8")
    result = subprocess.run(
        ["jq", "-jcSa", jq_filter, str(proof_file)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == canonical_entry_bytes(proof.entry)


# ---------------------------------------------------------------------------- properties


@st.composite
def _tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    leaves = draw(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=80))
    return leaves, draw(st.integers(min_value=0, max_value=len(leaves) - 1))


@settings(max_examples=300, deadline=None, database=None)
@given(case=_tree_and_index())
def test_any_leaf_of_any_tree_has_a_proof_that_verifies_and_resists_tampering(
    case: tuple[list[bytes], int],
) -> None:
    leaves, index = case
    size = len(leaves)
    root = merkle_root(leaves)
    assert root == _reference_root(leaves)
    path = inclusion_proof(leaves, index)
    assert len(path) == len(_directions(index, size))
    assert verify_inclusion(leaves[index], index, size, path, root)
    assert not verify_inclusion(_flip(leaves[index]), index, size, path, root)
    assert not verify_inclusion(leaves[index], index, size, path, _flip(root, 31, 7))
    if path:
        assert not verify_inclusion(leaves[index], index, size, [*path[:-1], _flip(path[-1])], root)
    if size > 1 and leaves[index] != leaves[(index + 1) % size]:
        assert not verify_inclusion(leaves[index], (index + 1) % size, size, path, root)
