"""Session use cases: authenticating a bearer token into an ``Actor``, re-authentication (step-up),
listing and revoking sessions, logout, and scoped API tokens.

Invariants (S-06): a token is looked up by its hash only; a revoked, expired or other-tenant
token, or a disabled user's, authenticates nobody; ``last_seen`` is written at most every
``LAST_SEEN_WRITE_SECONDS`` and never on a session already idle, so an idle session stays idle
until re-authenticated; an API token is created only by a fresh session and never with a scope
its creator lacks.
"""

from __future__ import annotations

from walletbridge.domain.actors import Actor, RequestContext, Scope, SessionId, UserStatus
from walletbridge.domain.identity import (
    API_TOKEN_SECONDS,
    LAST_SEEN_WRITE_SECONDS,
    AuthenticationRequired,
    CredentialsInvalid,
    ProfileInvalid,
    Session,
    SessionKind,
    SessionNotFound,
    fresh,
)
from walletbridge.domain.ledger import TenantId
from walletbridge.ports import UnitOfWork
from walletbridge.services.identity_base import IdentityBase
from walletbridge.services.identity_support import IssuedToken, Secrets


class IdentitySessions(IdentityBase):
    def authenticate(
        self, tenant_id: TenantId, token: str, context: RequestContext, *, activity: bool = True
    ) -> Actor:
        """The actor a bearer token stands for in this tenant, or ``authentication-required``.

        ``activity=False`` is for requests the person did not make themselves (a page refreshing
        a fragment in the background, a live feed reconnecting): they are authenticated like any
        other but do not count as activity, so an unattended page cannot keep a session fresh
        enough to pay without a step-up."""
        digest = Secrets.token_hash(token)
        found = self._runner.read(lambda uow: uow.identity.session_by_token(digest))
        now_us = self._clock.now_us()
        if (
            found is None
            or found.session.tenant_id != tenant_id
            or not found.session.usable_at(now_us)
            or found.status is not UserStatus.ACTIVE
        ):
            raise AuthenticationRequired()
        session = found.session
        # An idle browser session stays idle until step-up; an API token's last use is recorded
        # whenever it comes (it is fresh by design).
        idle_us = (
            self._settings.session_idle_seconds * 1_000_000
            if session.kind is SessionKind.BROWSER
            else now_us
        )
        is_fresh = fresh(session, now_us, self._settings.session_idle_seconds)
        gap_us = LAST_SEEN_WRITE_SECONDS * 1_000_000
        if activity and is_fresh and now_us - session.last_seen_at_us > gap_us:

            def touch(uow: UnitOfWork) -> None:
                uow.identity.touch_session(session.id, now_us, min_gap_us=gap_us, idle_us=idle_us)
                uow.commit()

            self._runner.write(touch)
        return Actor(
            tenant_id=tenant_id,
            user_id=session.user_id,
            session_id=session.id,
            role=found.role,
            scopes=session.scopes,
            fresh=is_fresh,
            context=context,
        )

    def reauthenticate(
        self, actor: Actor, *, password: str | None = None, code: str | None = None
    ) -> None:
        """Make the session fresh again with the password or an authenticator code."""
        if password is None and code is None:
            raise CredentialsInvalid()
        if password is not None:
            row = self._row_for(actor)
            if not self._crypto.passwords.verify(row.password_hash, password):
                self._record_failure(
                    actor.tenant_id,
                    "auth.reauthentication.failed",
                    actor.context,
                    user_id=actor.user_id,
                )
                raise CredentialsInvalid()

        def write(uow: UnitOfWork) -> None:
            row, now_us = self._live_row(uow, actor), self._clock.now_us()
            if password is None:
                if not row.totp_enabled:
                    raise CredentialsInvalid()
                self._second_factor(uow, row, actor.context, now_us, code=code)
            uow.identity.mark_reauthenticated(actor.session_id, now_us)
            self._audit_ok(uow, actor, "auth.reauthentication.succeeded", now_us)
            uow.commit()

        self._runner.write(write)

    def sessions(self, actor: Actor) -> list[Session]:
        now_us = self._clock.now_us()
        return self._runner.read(
            lambda uow: uow.identity.sessions_of(actor.tenant_id, actor.user_id, now_us)
        )

    def revoke_session(self, actor: Actor, session_id: str) -> None:
        """Revoke one of the actor's own sessions; anyone else's is "not found"."""
        actor.require_scope(Scope.SECURITY_WRITE)

        def write(uow: UnitOfWork) -> None:
            now_us = self._clock.now_us()
            sid = SessionId(session_id)
            if not uow.identity.revoke_session(actor.tenant_id, actor.user_id, sid, now_us):
                raise SessionNotFound(session_id=session_id)
            self._audit_ok(
                uow,
                actor,
                "auth.session.revoked",
                now_us,
                object_type="session",
                object_id=session_id,
            )
            uow.commit()

        self._runner.write(write)

    def logout(self, actor: Actor) -> None:
        def write(uow: UnitOfWork) -> None:
            now_us = self._clock.now_us()
            uow.identity.revoke_session(actor.tenant_id, actor.user_id, actor.session_id, now_us)
            self._audit_ok(
                uow,
                actor,
                "auth.logout.succeeded",
                now_us,
                object_type="session",
                object_id=actor.session_id,
            )
            uow.commit()

        self._runner.write(write)

    def create_api_token(self, actor: Actor, name: str, scopes: frozenset[Scope]) -> IssuedToken:
        """A scoped bearer token for 30 days. Needs a fresh session, and grants no scope the
        actor lacks."""
        actor.require_scope(Scope.SECURITY_WRITE)
        actor.require_fresh()
        label = " ".join(name.split())
        if not 1 <= len(label) <= 100:
            raise ProfileInvalid(reason="the token name is 1-100 characters")
        if not scopes:
            raise ProfileInvalid(reason="name at least one scope")
        for scope in scopes:
            actor.require_scope(scope)

        def write(uow: UnitOfWork) -> IssuedToken:
            row, now_us = self._live_row(uow, actor), self._clock.now_us()
            token = self._open_session(
                uow,
                row,
                actor.context,
                now_us,
                kind=SessionKind.API,
                name=label,
                scopes=scopes,
                lifetime_seconds=API_TOKEN_SECONDS,
            )
            self._audit_ok(
                uow,
                actor,
                "auth.token.created",
                now_us,
                object_type="session",
                object_id=token.session_id,
                scopes=" ".join(sorted(scopes)),
            )
            uow.commit()
            return token

        return self._runner.write(write)
