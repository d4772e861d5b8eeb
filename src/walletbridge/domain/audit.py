"""The audit log's record: who did what, to which object, when, from where, with what outcome.

Records are appended and never changed; the database refuses UPDATE and DELETE on them. A record
never carries a password, code, token, card number or full account number: ``details`` holds
identifiers and amounts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from walletbridge.domain.ledger import TenantId


class ActorKind(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    tenant_id: TenantId | None
    action: str
    """Dotted and past tense: ``auth.login.succeeded``, ``payment.p2p.sent``."""
    outcome: Outcome
    actor_kind: ActorKind
    actor_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: Mapping[str, str | int | bool | None] = field(default_factory=dict)
