"""An audit record refuses details that would put a credential into the log."""

from __future__ import annotations

import pytest

from walletbridge.domain.actors import Actor, RequestContext, Role, SessionId, UserId
from walletbridge.domain.audit import ActorKind, AuditRecord, Outcome, detail_key_allowed
from walletbridge.domain.ledger import TenantId


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "code",
        "otp",
        "recovery_code",
        "access_token",
        "client_secret",
        "card_number",
        "iban",
        "totpCode",
        "refreshToken",
    ],
)
def test_credential_keys_are_refused(key: str) -> None:
    assert not detail_key_allowed(key)
    with pytest.raises(AssertionError, match="credentials"):
        AuditRecord(
            None, "auth.login.failed", Outcome.FAILURE, ActorKind.ANONYMOUS, details={key: "x"}
        )


@pytest.mark.parametrize("key", ["method", "error", "amount", "currency", "reason", "scope"])
def test_ordinary_keys_are_allowed(key: str) -> None:
    record = AuditRecord(
        None, "auth.login.failed", Outcome.FAILURE, ActorKind.ANONYMOUS, details={key: "x"}
    )

    assert record.details == {key: "x"}


def test_a_long_text_detail_is_refused() -> None:
    with pytest.raises(AssertionError, match="too long"):
        AuditRecord(None, "a.b", Outcome.SUCCESS, ActorKind.SYSTEM, details={"note": "x" * 501})


def test_a_record_of_an_actor_carries_where_the_request_came_from() -> None:
    actor = Actor(
        TenantId("t1"),
        UserId("u1"),
        SessionId("s1"),
        role=Role.OPERATOR,
        context=RequestContext(ip="203.0.113.7", user_agent="ua", request_id="r1"),
    )

    record = AuditRecord.of_actor(actor, "admin.user.disabled", object_type="user", object_id="u2")

    assert (record.tenant_id, record.actor_id, record.actor_kind) == ("t1", "u1", "operator")
    assert (record.ip, record.user_agent, record.request_id) == ("203.0.113.7", "ua", "r1")
    assert record.outcome is Outcome.SUCCESS
