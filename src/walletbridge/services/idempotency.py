"""Idempotent execution of money-moving requests (QUALITY R-04).

``Idempotent.run`` makes a request's effects and its stored response one transaction: the key's
row is inserted FIRST (unique per tenant, caller and key), then the work runs, then the response
is stored beside it, and all of it commits together. A concurrent duplicate blocks on the unique
index until the first commits, then finds the stored response and replays it. A business refusal
(a rule said no: limits, funds) rolls the work back and is stored against the key in a second
small transaction, so a retry gets the identical answer. A key past its retention is a new
request. Refusals of other kinds (not found, conflicts, rate limits) are not stored: retrying the
same key later may succeed.

Once the key is claimed the work's write-only statements are deferred (``defer_writes``): they
travel with the stored response and the COMMIT, in one round trip on PostgreSQL. ``run_final``
goes further for work whose last write can commit (a single transfer): the work hands over its
answer before that write, so the response rides with the deferred writes and the COMMIT with the
last write, and the rows the last write locks are held for one round trip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from walletbridge.domain.actors import UserId
from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.payments import (
    IdempotencyKeyReused,
    RequestInFlight,
    request_hash,
    validate_idempotency_key,
)
from walletbridge.ports import Clock, TransactionRunner, UnitOfWork
from walletbridge.ports.wallets import StoredResponse
from walletbridge.services.settings import ServiceSettings

REFUSAL_STATUS = 422
"""What a stored refusal answered; refusals stored are all of kind INVALID."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A money-moving request's answer: what the API sends, stored verbatim for replays."""

    status_code: int
    body: Mapping[str, object]
    replayed: bool = False


class NeedsExplaining(Exception):
    """Raised by work whose refusal needs a fresh transaction to describe (the failed one is
    spoilt): ``explain`` reads what it needs and returns the domain error to answer with."""

    def __init__(self, explain: Callable[[UnitOfWork], DomainError]) -> None:
        super().__init__("refusal to explain")
        self.explain = explain


class Respond(Protocol):
    def __call__(self, outcome: Outcome) -> None: ...


@dataclass(frozen=True, slots=True)
class Request:
    tenant_id: TenantId
    user_id: UserId
    key: str
    hash: bytes = field(repr=False)


class ReplayedRefusal(DomainError):
    """Base of the refusals rebuilt from storage; each copies the original's code and kind."""


def replayed_refusal(stored: Mapping[str, object]) -> DomainError:
    """The stored refusal, raised again with the same code, message and public fields."""
    extensions = stored.get("extensions")
    fields = dict(extensions) if isinstance(extensions, dict) else {}
    refusal: type[DomainError] = type(
        "StoredRefusal",
        (ReplayedRefusal,),
        {
            "code": str(stored["code"]),
            "kind": ErrorKind(str(stored["kind"])),
            "template": "{stored_message}",
            "public": tuple(fields),
        },
    )
    return refusal(stored_message=str(stored["message"]), **fields)


class Idempotent:
    def __init__(self, runner: TransactionRunner, clock: Clock, settings: ServiceSettings) -> None:
        self._runner = runner
        self._clock = clock
        self._retention_us = settings.idempotency_retention_seconds * 1_000_000

    def request(
        self, tenant_id: TenantId, user_id: UserId, key: str | None, body: object
    ) -> Request:
        """Check the key (missing or malformed: 400) and fingerprint the body."""
        return Request(tenant_id, user_id, validate_idempotency_key(key), request_hash(body))

    def stored(self, uow: UnitOfWork, request: Request) -> Outcome | None:
        """The stored answer for this key, if any (raising a stored refusal or a key reuse)."""
        found = uow.idempotency.stored(request.tenant_id, request.user_id, request.key)
        if found is None or found.expires_at_us <= self._clock.now_us():
            return None  # never used, or past its retention: a new request
        return self._replay(found, request)

    def run(
        self,
        request: Request,
        work: Callable[[UnitOfWork, int], Outcome],
        on_refusal: Callable[[UnitOfWork, DomainError, int], None] | None = None,
    ) -> Outcome:
        """Run ``work`` (a function of the transaction and its time) once per key.
        ``on_refusal`` records a stored refusal (an audit record) in the refusal's transaction."""

        def attempt(uow: UnitOfWork) -> Outcome:
            now_us = self._clock.now_us()
            if not self._claim(uow, request, now_us):
                return self._replay_now(uow, request)
            uow.wallets.defer_writes()
            outcome = work(uow, now_us)
            uow.idempotency.save_response(
                request.tenant_id,
                request.user_id,
                request.key,
                outcome.status_code,
                json.dumps(outcome.body, separators=(",", ":")),
                commit=True,
            )
            uow.commit()
            return outcome

        return self._guarded(request, attempt, on_refusal)

    def run_final(
        self,
        request: Request,
        work: Callable[[UnitOfWork, int, Respond], None],
        on_refusal: Callable[[UnitOfWork, DomainError, int], None] | None = None,
    ) -> Outcome:
        """Like ``run``, for work that commits with its last write: ``work`` passes its answer
        to ``respond`` (stored with the writes deferred so far) before that write."""

        def attempt(uow: UnitOfWork) -> Outcome:
            now_us = self._clock.now_us()
            if not self._claim(uow, request, now_us):
                return self._replay_now(uow, request)
            uow.wallets.defer_writes()
            answers: list[Outcome] = []

            def respond(outcome: Outcome) -> None:
                uow.idempotency.save_response(
                    request.tenant_id,
                    request.user_id,
                    request.key,
                    outcome.status_code,
                    json.dumps(outcome.body, separators=(",", ":")),
                )
                answers.append(outcome)

            work(uow, now_us, respond)
            assert len(answers) == 1, "work answers once, before its last write"
            uow.wallets.flush_writes()  # nothing waits when the last write ran after respond
            uow.commit()
            return answers[0]

        return self._guarded(request, attempt, on_refusal)

    def _guarded(
        self,
        request: Request,
        attempt: Callable[[UnitOfWork], Outcome],
        on_refusal: Callable[[UnitOfWork, DomainError, int], None] | None,
    ) -> Outcome:
        """Run ``attempt``; store a business refusal against the key and raise it."""
        try:
            return self._runner.write(attempt)
        except (IdempotencyKeyReused, ReplayedRefusal):
            raise
        except NeedsExplaining as refusal:
            return self._store_refusal(request, None, refusal.explain, on_refusal)
        except DomainError as error:
            if error.kind is not ErrorKind.INVALID:
                raise
            return self._store_refusal(request, error, None, on_refusal)

    def _claim(self, uow: UnitOfWork, request: Request, now_us: int) -> bool:
        return uow.idempotency.claim(
            request.tenant_id,
            request.user_id,
            request.key,
            request.hash,
            now_us,
            now_us + self._retention_us,
        )

    def _replay_now(self, uow: UnitOfWork, request: Request) -> Outcome:
        found = uow.idempotency.stored(request.tenant_id, request.user_id, request.key)
        assert found is not None, "a live key that was not claimed is stored"
        return self._replay(found, request)

    def _store_refusal(
        self,
        request: Request,
        error: DomainError | None,
        explain: Callable[[UnitOfWork], DomainError] | None,
        on_refusal: Callable[[UnitOfWork, DomainError, int], None] | None,
    ) -> Outcome:
        def attempt(uow: UnitOfWork) -> Outcome:
            now_us = self._clock.now_us()
            if not self._claim(uow, request, now_us):
                # A concurrent request with this key got there first: answer as it did.
                return self._replay_now(uow, request)
            refusal = explain(uow) if explain is not None else error
            assert refusal is not None
            uow.wallets.defer_writes()
            if on_refusal is not None:
                on_refusal(uow, refusal, now_us)
            body = {
                "refusal": {
                    "code": refusal.code,
                    "kind": refusal.kind.value,
                    "message": refusal.message,
                    "extensions": refusal.extensions,
                }
            }
            uow.idempotency.save_response(
                request.tenant_id,
                request.user_id,
                request.key,
                REFUSAL_STATUS,
                json.dumps(body, separators=(",", ":")),
                commit=True,
            )
            uow.commit()
            raise refusal

        return self._runner.write(attempt)

    @staticmethod
    def _replay(found: StoredResponse, request: Request) -> Outcome:
        if found.request_hash != request.hash:
            raise IdempotencyKeyReused()
        if found.status_code is None or found.body is None:
            raise RequestInFlight()
        body = json.loads(found.body)
        if isinstance(body, dict) and "refusal" in body and found.status_code == REFUSAL_STATUS:
            raise replayed_refusal(body["refusal"])
        return Outcome(found.status_code, body, replayed=True)
