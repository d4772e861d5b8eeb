"""Merkle trees, seal hashes and inclusion proofs for the ledger's tamper evidence.

This module owns every byte string that the ledger feeds to SHA-256 for tamper evidence:

* the canonical encoding of a journal entry (``canonical_entry_bytes``),
* the Merkle tree over the leaf hashes of a seal's entries (``merkle_root``, with audit paths
  from ``inclusion_proof`` checked by ``verify_inclusion``),
* the hash that chains one seal to the previous one (``seal_hash``),
* the self-contained inclusion proof handed to third parties (``InclusionProof``,
  ``check_proof``).

Invariant it keeps: each of those byte strings is a pure function of the values it names,
laid out exactly as documented here and in docs/ledger-proofs.md, so that anyone holding
only SHA-256 and a JSON encoder can recompute every hash without this code. Leaf hashes and
interior node hashes are domain separated (prefix 0x00 and 0x01, as in RFC 6962), so a leaf
can never be presented as an interior node or the other way round.

Byte layouts (``||`` is concatenation, ``u64`` is 8-byte big-endian unsigned):

* leaf hash: ``sha256(0x00 || canonical_entry_bytes(entry))``
* node hash: ``sha256(0x01 || left || right)``
* Merkle root of n leaf hashes: ``sha256(b"")`` for n = 0, the leaf hash itself for n = 1,
  otherwise ``node(root(first k), root(rest))`` with k the largest power of two below n.
* seal hash: ``sha256(b"walletbridge-seal-v1" || prev_seal_hash || u64(seal_no) ||
  u64(first_seq) || u64(last_seq) || u64(entry_count) || root)``. The first seal chains to
  ``GENESIS_HASH`` (32 zero bytes).

Seal semantics: a seal covers every entry with ``first_seq <= seq <= last_seq`` in seq
order, where ``first_seq`` is the previous seal's ``last_seq + 1``. Sequence numbers may have
gaps, so ``entry_count`` can be smaller than ``last_seq - first_seq + 1``.

Canonical entry bytes: UTF-8 of ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)`` where ``obj`` is::

    {"entry_id": "<lowercase uuid with hyphens>", "idempotency_key": "<str>",
     "kind": "<str>", "posted_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",
     "postings": [{"account_id": "<str>", "amount_minor": <int>, "currency": "<str>",
                   "leg": <int>}, ...],
     "seq": <int>, "tenant_id": "<str>"}

with postings ordered by ascending ``leg``. Keys sort by code point, integers are written in
decimal without exponent or fraction, and strings escape ``"`` and ``\\`` with a backslash,
control characters as ``\\b \\f \\n \\r \\t`` or ``\\u00XX``, and every character outside
printable ASCII (0x20-0x7E) as lowercase ``\\uXXXX`` (UTF-16 surrogate pairs above U+FFFF).
The result is therefore pure ASCII.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "HASH_SIZE",
    "SEAL_DOMAIN",
    "CanonicalEntry",
    "CanonicalPosting",
    "InclusionProof",
    "canonical_entry_bytes",
    "check_proof",
    "inclusion_proof",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "seal_hash",
    "verify_inclusion",
]

HASH_SIZE = 32
GENESIS_HASH = bytes(HASH_SIZE)
SEAL_DOMAIN = b"walletbridge-seal-v1"

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_U64_LIMIT = 1 << 64
_EMPTY_ROOT = hashlib.sha256(b"").digest()

# [0-9] rather than \d, because \d also matches non-ASCII digits that would not round-trip
# through datetime parsing or a third party's reading of the format.
_POSTED_AT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_HEX_HASH_RE = re.compile(r"[0-9a-f]{64}")

_ENTRY_KEYS = frozenset(
    {"entry_id", "seq", "tenant_id", "idempotency_key", "kind", "posted_at", "postings"}
)
_POSTING_KEYS = frozenset({"leg", "account_id", "currency", "amount_minor"})
_PROOF_KEYS = frozenset(
    {
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
    }
)


# --------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """Return the leaf hash of ``data``: sha256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash of two child hashes: sha256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n`` >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _require_leaf_hashes(leaves: Sequence[bytes]) -> None:
    # Every input must already be a 32-byte leaf hash; accepting raw entry bytes here would
    # silently produce a root that no verifier can reproduce.
    for position, leaf in enumerate(leaves):
        if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf {position} is not a {HASH_SIZE}-byte leaf hash")


def _subtree_root(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    """Root of ``leaves[lo:hi]`` (non-empty), by the RFC 6962 recursive split."""
    # Index ranges instead of slices keep the work linear in the number of leaves; the
    # recursion depth is only log2(n).
    if hi - lo == 1:
        return leaves[lo]
    mid = lo + _split_point(hi - lo)
    return node_hash(_subtree_root(leaves, lo, mid), _subtree_root(leaves, mid, hi))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle root over ``leaves``, which must already be leaf hashes.

    The empty tree has root sha256(b""); a single leaf is its own root; larger trees split at
    the largest power of two below their size, so no node is ever duplicated.
    """
    _require_leaf_hashes(leaves)
    if not leaves:
        return _EMPTY_ROOT
    return _subtree_root(leaves, 0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path for ``leaves[index]``, ordered from the leaf up to the root."""
    _require_leaf_hashes(leaves)
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} is outside a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    # Walk down from the root, noting the sibling subtree at each level; the proof wants
    # them bottom-up, hence the reversal at the end.
    while hi - lo > 1:
        mid = lo + _split_point(hi - lo)
        if index < mid:
            path.append(_subtree_root(leaves, mid, hi))
            hi = mid
        else:
            path.append(_subtree_root(leaves, lo, mid))
            lo = mid
    path.reverse()
    return path


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Return True when ``path`` proves that leaf hash ``leaf`` sits at ``index`` of ``root``.

    This is the verification procedure of RFC 9162 section 2.1.3.2. It never raises: a wrong
    path length, an index outside the tree or a malformed hash all yield False. Note that,
    as in RFC 6962, ``size`` is only authenticated by whatever signs or chains the root; the
    seal hash does that here, which is why ``check_proof`` recomputes it.
    """
    hashes_ok = all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in (leaf, root, *path))
    if not hashes_ok or not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for sibling in path:
        if sn == 0:
            # The path is longer than the tree is tall.
            return False
        if fn & 1 or fn == sn:
            r = node_hash(sibling, r)
            # A right-edge node with no right sibling is promoted unchanged, so skip the
            # levels where it has none.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def _u64(name: str, value: int) -> bytes:
    if not _is_int(value) or not 0 <= value < _U64_LIMIT:
        raise ValueError(f"{name} must be an integer in [0, 2**64), got {value!r}")
    return value.to_bytes(8, "big")


def seal_hash(
    prev_seal_hash: bytes,
    seal_no: int,
    first_seq: int,
    last_seq: int,
    entry_count: int,
    root: bytes,
) -> bytes:
    """Return the hash that chains a seal to its predecessor.

    Layout: b"walletbridge-seal-v1" || prev_seal_hash (32 bytes) || seal_no || first_seq ||
    last_seq || entry_count (each 8-byte big-endian unsigned) || root (32 bytes).
    """
    for name, value in (("prev_seal_hash", prev_seal_hash), ("root", root)):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise ValueError(f"{name} must be {HASH_SIZE} bytes")
    payload = b"".join(
        (
            SEAL_DOMAIN,
            prev_seal_hash,
            _u64("seal_no", seal_no),
            _u64("first_seq", first_seq),
            _u64("last_seq", last_seq),
            _u64("entry_count", entry_count),
            root,
        )
    )
    return hashlib.sha256(payload).digest()


# ------------------------------------------------------------------ canonical entries


def _is_int(value: object) -> bool:
    # bool is a subclass of int, and json would write it as true/false, not as a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _require_str(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")


@dataclass(frozen=True)
class CanonicalPosting:
    """One leg of a journal entry, as it is hashed."""

    leg: int
    account_id: str
    currency: str
    amount_minor: int

    def __post_init__(self) -> None:
        if not _is_int(self.leg) or self.leg < 0:
            raise ValueError(f"leg must be a non-negative integer, got {self.leg!r}")
        if not _is_int(self.amount_minor):
            raise TypeError(f"amount_minor must be an integer, got {self.amount_minor!r}")
        _require_str("account_id", self.account_id)
        _require_str("currency", self.currency)


@dataclass(frozen=True)
class CanonicalEntry:
    """A journal entry reduced to exactly the fields that its leaf hash commits to."""

    entry_id: str
    seq: int
    tenant_id: str
    idempotency_key: str
    kind: str
    posted_at: str
    postings: tuple[CanonicalPosting, ...]

    def __post_init__(self) -> None:
        # Reject anything with more than one spelling, because two spellings of the same
        # entry would hash differently and a correct entry would then fail verification.
        _require_str("entry_id", self.entry_id)
        try:
            canonical_id = str(uuid.UUID(self.entry_id))
        except ValueError:
            canonical_id = ""
        if canonical_id != self.entry_id:
            raise ValueError(f"entry_id must be a lowercase hyphenated UUID: {self.entry_id!r}")
        if not _is_int(self.seq) or not 0 <= self.seq < _U64_LIMIT:
            raise ValueError(f"seq must be an integer in [0, 2**64), got {self.seq!r}")
        _require_str("tenant_id", self.tenant_id)
        _require_str("idempotency_key", self.idempotency_key)
        _require_str("kind", self.kind)
        _require_str("posted_at", self.posted_at)
        if not _POSTED_AT_RE.fullmatch(self.posted_at):
            raise ValueError(
                f"posted_at must look like 2026-11-23T10:00:00.000000Z: {self.posted_at!r}"
            )
        try:
            # The pattern above fixes the layout; this only checks the date is real
            # (fromisoformat is the C parser: sealing a million entries calls it a million times).
            datetime.fromisoformat(self.posted_at)
        except ValueError as exc:
            raise ValueError(f"posted_at is not a real UTC instant: {self.posted_at!r}") from exc
        if not isinstance(self.postings, tuple) or not all(
            isinstance(p, CanonicalPosting) for p in self.postings
        ):
            raise TypeError("postings must be a tuple of CanonicalPosting")
        legs = [p.leg for p in self.postings]
        if len(set(legs)) != len(legs):
            raise ValueError(f"posting legs must be distinct, got {sorted(legs)}")


def _entry_json_object(entry: CanonicalEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "seq": entry.seq,
        "tenant_id": entry.tenant_id,
        "idempotency_key": entry.idempotency_key,
        "kind": entry.kind,
        "posted_at": entry.posted_at,
        "postings": [
            {
                "leg": p.leg,
                "account_id": p.account_id,
                "currency": p.currency,
                "amount_minor": p.amount_minor,
            }
            for p in sorted(entry.postings, key=lambda p: p.leg)
        ],
    }


def canonical_entry_bytes(entry: CanonicalEntry) -> bytes:
    """Return the canonical bytes of ``entry``, as laid out in this module's docstring."""
    text = json.dumps(
        _entry_json_object(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return text.encode("ascii")


# ------------------------------------------------------------------ inclusion proofs


def _expect_keys(what: str, data: Mapping[str, Any], keys: frozenset[str]) -> None:
    if not isinstance(data, Mapping):
        raise TypeError(f"{what} must be a JSON object")
    # Unknown keys are refused rather than ignored, so nothing shown to a reader of the
    # proof can sit outside what the hashes cover.
    missing = sorted(keys - data.keys())
    extra = sorted(data.keys() - keys)
    if missing or extra:
        raise ValueError(f"{what}: missing keys {missing}, unexpected keys {extra}")


def _int_field(what: str, data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if not _is_int(value):
        raise ValueError(f"{what}.{key} must be an integer, got {value!r}")
    result: int = value
    return result


def _str_field(what: str, data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ValueError(f"{what}.{key} must be a string, got {value!r}")
    return value


def _hash_from_hex(what: str, value: object) -> bytes:
    # Only one spelling is accepted (64 lowercase hex digits), matching to_json_dict.
    if not isinstance(value, str) or not _HEX_HASH_RE.fullmatch(value):
        raise ValueError(f"{what} must be 64 lowercase hex digits, got {value!r}")
    return bytes.fromhex(value)


def _entry_from_json(data: Mapping[str, Any]) -> CanonicalEntry:
    _expect_keys("entry", data, _ENTRY_KEYS)
    raw_postings = data["postings"]
    if not isinstance(raw_postings, list):
        raise ValueError("entry.postings must be a list")
    postings = []
    for item in raw_postings:
        _expect_keys("posting", item, _POSTING_KEYS)
        postings.append(
            CanonicalPosting(
                leg=_int_field("posting", item, "leg"),
                account_id=_str_field("posting", item, "account_id"),
                currency=_str_field("posting", item, "currency"),
                amount_minor=_int_field("posting", item, "amount_minor"),
            )
        )
    return CanonicalEntry(
        entry_id=_str_field("entry", data, "entry_id"),
        seq=_int_field("entry", data, "seq"),
        tenant_id=_str_field("entry", data, "tenant_id"),
        idempotency_key=_str_field("entry", data, "idempotency_key"),
        kind=_str_field("entry", data, "kind"),
        posted_at=_str_field("entry", data, "posted_at"),
        postings=tuple(postings),
    )


@dataclass(frozen=True)
class InclusionProof:
    """Everything a third party needs to check that an entry is in a seal.

    ``tree_size`` is the seal's entry count, ``leaf_index`` the entry's position among the
    seal's entries in seq order, and ``path`` the audit path from the leaf up to ``root``.
    """

    entry: CanonicalEntry
    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]
    root: bytes
    seal_no: int
    first_seq: int
    last_seq: int
    prev_seal_hash: bytes
    seal_hash: bytes

    def __post_init__(self) -> None:
        # Only the shape is checked here; whether the numbers and hashes agree with each
        # other is check_proof's job, so that it can report it instead of raising.
        if not isinstance(self.entry, CanonicalEntry):
            raise TypeError("entry must be a CanonicalEntry")
        for name in ("leaf_index", "tree_size", "seal_no", "first_seq", "last_seq"):
            value = getattr(self, name)
            if not _is_int(value) or not 0 <= value < _U64_LIMIT:
                raise ValueError(f"{name} must be an integer in [0, 2**64), got {value!r}")
        if not isinstance(self.path, tuple):
            raise TypeError("path must be a tuple of hashes")
        named_hashes = [("root", self.root), ("prev_seal_hash", self.prev_seal_hash)]
        named_hashes += [("seal_hash", self.seal_hash)]
        named_hashes += [(f"path[{i}]", h) for i, h in enumerate(self.path)]
        for name, value in named_hashes:
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                raise ValueError(f"{name} must be {HASH_SIZE} bytes")

    def to_json_dict(self) -> dict[str, Any]:
        """Render the proof as JSON-ready data: hashes as lowercase hex, the entry canonical."""
        return {
            "entry": json.loads(canonical_entry_bytes(self.entry)),
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "path": [h.hex() for h in self.path],
            "root": self.root.hex(),
            "seal_no": self.seal_no,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "prev_seal_hash": self.prev_seal_hash.hex(),
            "seal_hash": self.seal_hash.hex(),
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> InclusionProof:
        """Parse the output of ``to_json_dict``; raise ValueError or TypeError if malformed."""
        _expect_keys("proof", data, _PROOF_KEYS)
        raw_path = data["path"]
        if not isinstance(raw_path, list):
            raise ValueError("proof.path must be a list")
        return cls(
            entry=_entry_from_json(data["entry"]),
            leaf_index=_int_field("proof", data, "leaf_index"),
            tree_size=_int_field("proof", data, "tree_size"),
            path=tuple(_hash_from_hex(f"proof.path[{i}]", h) for i, h in enumerate(raw_path)),
            root=_hash_from_hex("proof.root", data["root"]),
            seal_no=_int_field("proof", data, "seal_no"),
            first_seq=_int_field("proof", data, "first_seq"),
            last_seq=_int_field("proof", data, "last_seq"),
            prev_seal_hash=_hash_from_hex("proof.prev_seal_hash", data["prev_seal_hash"]),
            seal_hash=_hash_from_hex("proof.seal_hash", data["seal_hash"]),
        )


def check_proof(proof: InclusionProof) -> list[str]:
    """Return what is wrong with ``proof``; an empty list means it is valid.

    Checks that the entry's seq lies in the seal's range and agrees with its leaf position,
    that the audit path leads from the recomputed leaf hash to the root, and that the seal
    hash recomputes from the previous seal hash, the seal fields and the root.
    """
    findings: list[str] = []
    entry = proof.entry
    if proof.first_seq > proof.last_seq:
        findings.append(f"seal range: first_seq {proof.first_seq} > last_seq {proof.last_seq}")
    elif not proof.first_seq <= entry.seq <= proof.last_seq:
        findings.append(
            f"seal range: entry seq {entry.seq} is outside [{proof.first_seq}, {proof.last_seq}]"
        )
    elif proof.tree_size > proof.last_seq - proof.first_seq + 1:
        findings.append(
            f"seal range: {proof.tree_size} entries cannot fit in seqs "
            f"[{proof.first_seq}, {proof.last_seq}]"
        )
    elif proof.leaf_index < proof.tree_size and not (
        entry.seq - proof.first_seq >= proof.leaf_index
        and proof.last_seq - entry.seq >= proof.tree_size - 1 - proof.leaf_index
    ):
        # Entries are distinct seqs in ascending order, so the i-th of n entries has at least
        # i seqs of the range below it and n - 1 - i above it.
        findings.append(
            f"seal range: seq {entry.seq} cannot be entry {proof.leaf_index} of "
            f"{proof.tree_size} in [{proof.first_seq}, {proof.last_seq}]"
        )

    leaf = leaf_hash(canonical_entry_bytes(entry))
    if not verify_inclusion(leaf, proof.leaf_index, proof.tree_size, proof.path, proof.root):
        findings.append(
            f"inclusion: the audit path from leaf {leaf.hex()} at index {proof.leaf_index} "
            f"of {proof.tree_size} does not lead to root {proof.root.hex()}"
        )

    # __post_init__ has already bounded every field, so recomputing cannot raise.
    expected = seal_hash(
        proof.prev_seal_hash,
        proof.seal_no,
        proof.first_seq,
        proof.last_seq,
        proof.tree_size,
        proof.root,
    )
    if expected != proof.seal_hash:
        findings.append(
            f"seal hash: recomputed {expected.hex()}, proof states {proof.seal_hash.hex()}"
        )
    return findings
