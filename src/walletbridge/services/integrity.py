"""Integrity: seal entries into chained Merkle checkpoints, verify everything, prove inclusion.

``verify`` is a list of small validators, each returning findings; an empty list means the
ledger is intact: every entry balances, every stored balance equals its postings, every held
amount equals its pending holds, and every seal still matches the entries it covers and chains
to the one before. Writers never touch seals: a periodic job appends them, so tamper evidence adds
no hot row to the write path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from walletbridge.domain.errors import EntryNotFound, EntryNotSealed
from walletbridge.domain.ledger import Seal
from walletbridge.domain.merkle import (
    GENESIS_HASH,
    InclusionProof,
    canonical_entry_bytes,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    seal_hash,
)
from walletbridge.ports import Clock, IntegrityStore, TransactionRunner, UnitOfWork

MAX_ENTRIES_PER_SEAL = 10_000


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.subject}: {self.detail}"


Validator = Callable[[IntegrityStore], list[Finding]]


def entries_balance(store: IntegrityStore) -> list[Finding]:
    return [
        Finding("entry-balance", entry_id, f"{currency} postings sum to {total}, not 0")
        if currency != "*"
        else Finding("entry-balance", entry_id, "fewer than two postings")
        for entry_id, currency, total in store.unbalanced_entries()
    ]


def postings_have_entries(store: IntegrityStore) -> list[Finding]:
    return [
        Finding("posting-orphan", entry_id, "postings without an entry")
        for entry_id in store.orphan_postings()
    ]


def balances_match_postings(store: IntegrityStore) -> list[Finding]:
    return [
        Finding("balance", account_id, f"stored {stored}, postings say {computed}")
        for account_id, stored, computed in store.balance_mismatches()
    ]


def pending_matches_holds(store: IntegrityStore) -> list[Finding]:
    return [
        Finding("pending", account_id, f"stored {stored}, pending holds say {held}")
        for account_id, stored, held in store.pending_mismatches()
    ]


def limits_match_accounts(store: IntegrityStore) -> list[Finding]:
    return [
        Finding("limits", account_id, "balance rows disagree with the account's floor/ceiling")
        for account_id in store.limit_copy_mismatches()
    ]


def seals_hold(store: IntegrityStore) -> list[Finding]:
    findings: list[Finding] = []
    prev_hash, prev_last = GENESIS_HASH, 0
    for number, seal in enumerate(store.seals(), start=1):
        subject = f"seal {seal.seal_no}"
        if seal.seal_no != number:
            findings.append(Finding("seal-chain", subject, f"expected seal number {number}"))
        if seal.prev_hash != prev_hash:
            findings.append(Finding("seal-chain", subject, "does not link to the previous seal"))
        if seal.first_seq != prev_last + 1:
            findings.append(Finding("seal-chain", subject, "leaves a gap or overlaps"))
        leaves = [
            leaf_hash(canonical_entry_bytes(entry))
            for entry in store.canonical_entries(seal.first_seq, seal.last_seq)
        ]
        if len(leaves) != seal.entry_count:
            findings.append(
                Finding(
                    "seal-count",
                    subject,
                    f"covers {len(leaves)} entries, sealed {seal.entry_count}",
                )
            )
        if merkle_root(leaves) != seal.merkle_root:
            findings.append(Finding("seal-root", subject, "entries no longer match the root"))
        expected = seal_hash(
            seal.prev_hash,
            seal.seal_no,
            seal.first_seq,
            seal.last_seq,
            seal.entry_count,
            seal.merkle_root,
        )
        if expected != seal.seal_hash:
            findings.append(Finding("seal-hash", subject, "seal fields do not match its hash"))
        prev_hash, prev_last = seal.seal_hash, seal.last_seq
    return findings


VALIDATORS: tuple[Validator, ...] = (
    entries_balance,
    postings_have_entries,
    balances_match_postings,
    pending_matches_holds,
    limits_match_accounts,
    seals_hold,
)


class IntegrityService:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        *,
        max_entries_per_seal: int = MAX_ENTRIES_PER_SEAL,
        horizon_wait_seconds: float = 10.0,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._max_entries = max_entries_per_seal
        self._horizon_wait = horizon_wait_seconds

    def verify(self, validators: tuple[Validator, ...] = VALIDATORS) -> list[Finding]:
        def read(uow: UnitOfWork) -> list[Finding]:
            return [finding for check in validators for finding in check(uow.integrity)]

        return self._runner.read(read)

    def summary(self) -> tuple[int, list[Seal]]:
        """How many entries there are, and the seals, read in one transaction."""
        return self._runner.read(
            lambda uow: (uow.integrity.entries_after(0), uow.integrity.seals())
        )

    def latest_seal(self) -> Seal | None:
        seals = self._runner.read(lambda uow: uow.integrity.seals())
        return seals[-1] if seals else None

    def seal(self) -> list[Seal]:
        """Seal every entry up to the safe horizon, in checkpoints of bounded size."""
        made: list[Seal] = []
        while True:
            seal = self._runner.write(self._seal_once)
            if seal is None:
                return made
            made.append(seal)

    def _seal_once(self, uow: UnitOfWork) -> Seal | None:
        store = uow.integrity
        seals = store.seals()
        prev_hash = seals[-1].seal_hash if seals else GENESIS_HASH
        first = seals[-1].last_seq + 1 if seals else 1
        horizon = store.sealable_horizon(self._horizon_wait)
        if horizon < first:
            return None
        entries = store.canonical_entries(first, store.batch_end(first, horizon, self._max_entries))
        if not entries:
            return None
        last = entries[-1].seq
        root = merkle_root([leaf_hash(canonical_entry_bytes(e)) for e in entries])
        number = len(seals) + 1
        seal = Seal(
            seal_no=number,
            first_seq=first,
            last_seq=last,
            entry_count=len(entries),
            merkle_root=root,
            prev_hash=prev_hash,
            seal_hash=seal_hash(prev_hash, number, first, last, len(entries), root),
            sealed_at_us=self._clock.now_us(),
        )
        store.insert_seal(seal)
        uow.commit()
        return seal

    def prove(self, entry_id: str) -> InclusionProof:
        """An inclusion proof that ``entry_id`` is in a seal (see docs/ledger-proofs.md)."""

        def read(uow: UnitOfWork) -> InclusionProof:
            store = uow.integrity
            seq = store.entry_seq(entry_id)
            if seq is None:
                raise EntryNotFound(entry_id=entry_id)
            seal = next((s for s in store.seals() if s.first_seq <= seq <= s.last_seq), None)
            if seal is None:
                raise EntryNotSealed(entry_id=entry_id)
            entries = store.canonical_entries(seal.first_seq, seal.last_seq)
            leaves = [leaf_hash(canonical_entry_bytes(e)) for e in entries]
            index = next(i for i, e in enumerate(entries) if e.seq == seq)
            return InclusionProof(
                entry=entries[index],
                leaf_index=index,
                tree_size=len(leaves),
                path=tuple(inclusion_proof(leaves, index)),
                root=seal.merkle_root,
                seal_no=seal.seal_no,
                first_seq=seal.first_seq,
                last_seq=seal.last_seq,
                prev_seal_hash=seal.prev_hash,
                seal_hash=seal.seal_hash,
            )

        return self._runner.read(read)
