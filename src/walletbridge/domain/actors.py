"""Who is asking: the authenticated actor and the request it came with.

Every use case that reads or changes a customer's objects takes an ``Actor``; loaders that check
access say so in their name (``load_payee_for(actor, payee_id)``) and answer "not found" for an
object the actor may not see, exactly as for one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

from walletbridge.domain.errors import DomainError, ErrorKind
from walletbridge.domain.ledger import TenantId

UserId = NewType("UserId", str)
SessionId = NewType("SessionId", str)


class Role(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"


class Scope(StrEnum):
    """What a bearer token may do. A browser session holds every customer scope."""

    WALLET_READ = "wallet:read"
    PAYMENTS_WRITE = "payments:write"
    PROFILE_WRITE = "profile:write"
    SECURITY_WRITE = "security:write"
    OPERATOR = "operator"


CUSTOMER_SCOPES = frozenset(
    {Scope.WALLET_READ, Scope.PAYMENTS_WRITE, Scope.PROFILE_WRITE, Scope.SECURITY_WRITE}
)


class ReauthenticationRequired(DomainError):
    code = "reauthentication-required"
    template = (
        "The session has been idle; confirm it is you (password or authenticator code) "
        "before a payment."
    )
    kind = ErrorKind.UNAUTHENTICATED


class ScopeMissing(DomainError):
    code = "scope-missing"
    template = "This token does not carry the scope {scope}."
    kind = ErrorKind.FORBIDDEN
    public = ("scope",)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Where a request came from, for the audit log. Never holds credentials."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    tenant_id: TenantId
    user_id: UserId
    session_id: SessionId
    role: Role = Role.CUSTOMER
    scopes: frozenset[Scope] = CUSTOMER_SCOPES
    fresh: bool = True
    """False once the session has been idle past the step-up window: payments need proof again."""
    context: RequestContext = field(default_factory=RequestContext)

    def require_scope(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise ScopeMissing(scope=scope.value)

    def require_fresh(self) -> None:
        """Payment actions call this first."""
        if not self.fresh:
            raise ReauthenticationRequired()


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class RecipientKind(StrEnum):
    HANDLE = "handle"
    EMAIL = "email"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class UserSummary:
    """What another part of the wallet may know of a user: enough to pay them and label them."""

    tenant_id: TenantId
    user_id: UserId
    handle: str
    display_name: str
    kyc_tier: int
    status: UserStatus
