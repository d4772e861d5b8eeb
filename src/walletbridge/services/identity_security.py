"""Account security use cases: profile, TOTP enrolment, recovery codes, password change and reset,
and the operator's user actions.

Invariants: a profile changes only its display name and locale; TOTP secrets are sealed at rest
and recovery codes hashed; changing the password revokes every other session, completing a reset
revokes them all, disabling a user revokes all of theirs; a user id outside the operator's
tenant is "not found"; operator actions need
the operator role *and* the operator scope, and refuse customers uniformly with 403
``operator-only``.
"""

from __future__ import annotations

from walletbridge.domain.actors import (
    Actor,
    RequestContext,
    Role,
    Scope,
    UserId,
    UserStatus,
)
from walletbridge.domain.audit import Outcome
from walletbridge.domain.identity import (
    RECOVERY_CODE_COUNT,
    CredentialsInvalid,
    OperatorOnly,
    PasswordResetInvalid,
    TotpAlreadyEnabled,
    TotpNotEnrolled,
    User,
    UserNotFound,
    check_display_name,
    check_kyc_tier,
    check_locale,
    check_password,
)
from walletbridge.domain.ledger import TenantId
from walletbridge.ports import UnitOfWork
from walletbridge.ports.identity import UserRow
from walletbridge.services.identity_base import IdentityBase, brand_of
from walletbridge.services.identity_support import Secrets, audit


class IdentitySecurity(IdentityBase):
    # --- profile ------------------------------------------------------------------------------

    def me(self, actor: Actor) -> User:
        return self._open_user(self._row_for(actor))

    def update_profile(
        self, actor: Actor, *, display_name: str | None = None, locale: str | None = None
    ) -> User:
        actor.require_scope(Scope.PROFILE_WRITE)
        name = None if display_name is None else check_display_name(display_name)
        language = None if locale is None else check_locale(locale)

        def write(uow: UnitOfWork) -> User:
            row = self._live_row(uow, actor)
            uow.identity.update_profile(
                actor.tenant_id,
                actor.user_id,
                name if name is not None else row.display_name,
                language if language is not None else row.locale,
                self._clock.now_us(),
            )
            uow.commit()
            return self._open_user(self._live_row(uow, actor))

        return self._runner.write(write)

    # --- TOTP and recovery codes --------------------------------------------------------------

    def begin_totp(self, actor: Actor) -> tuple[str, str]:
        """A new TOTP secret (sealed at rest) and its otpauth URI, to confirm with a code."""
        actor.require_scope(Scope.SECURITY_WRITE)
        secret = self._crypto.totp.new_secret()

        def write(uow: UnitOfWork) -> str:
            row = self._live_row(uow, actor)
            if row.totp_enabled:
                raise TotpAlreadyEnabled()
            sealed = self._crypto.sealer.seal(row.data_key, secret, "totp")
            uow.identity.set_totp(actor.tenant_id, actor.user_id, sealed, enabled=False)
            issuer = brand_of(uow, actor.tenant_id).display_name
            uow.commit()
            return self._crypto.totp.provisioning_uri(
                secret, account_name=row.handle, issuer=issuer
            )

        return secret, self._runner.write(write)

    def confirm_totp(self, actor: Actor, code: str) -> list[str]:
        """Turn TOTP on with a first code; returns the recovery codes (shown once)."""
        actor.require_scope(Scope.SECURITY_WRITE)

        def write(uow: UnitOfWork) -> list[str]:
            row, now_us = self._live_row(uow, actor), self._clock.now_us()
            if row.totp_enabled:
                raise TotpAlreadyEnabled()
            if row.totp_secret_sealed is None:
                raise TotpNotEnrolled()
            self._second_factor(uow, row, actor.context, now_us, code=code)
            uow.identity.set_totp(
                actor.tenant_id, actor.user_id, row.totp_secret_sealed, enabled=True
            )
            codes = self._new_recovery_codes(uow, row, now_us)
            self._audit_ok(uow, actor, "auth.totp.enabled", now_us)
            uow.commit()
            return codes

        return self._runner.write(write)

    def disable_totp(self, actor: Actor, code: str) -> None:
        actor.require_scope(Scope.SECURITY_WRITE)

        def write(uow: UnitOfWork) -> None:
            row, now_us = self._enabled_row(uow, actor), self._clock.now_us()
            self._second_factor(uow, row, actor.context, now_us, **_code_or_recovery(code))
            uow.identity.set_totp(actor.tenant_id, actor.user_id, None, enabled=False)
            uow.identity.replace_recovery_codes(actor.tenant_id, actor.user_id, [], now_us)
            self._audit_ok(uow, actor, "auth.totp.disabled", now_us)
            uow.commit()

        self._runner.write(write)

    def regenerate_recovery_codes(self, actor: Actor, code: str) -> list[str]:
        actor.require_scope(Scope.SECURITY_WRITE)

        def write(uow: UnitOfWork) -> list[str]:
            row, now_us = self._enabled_row(uow, actor), self._clock.now_us()
            self._second_factor(uow, row, actor.context, now_us, code=code)
            codes = self._new_recovery_codes(uow, row, now_us)
            self._audit_ok(uow, actor, "auth.recovery-codes.regenerated", now_us)
            uow.commit()
            return codes

        return self._runner.write(write)

    def _new_recovery_codes(self, uow: UnitOfWork, row: UserRow, now_us: int) -> list[str]:
        codes = [Secrets.new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        hashes = [
            self._secrets.code_hash(row.user_id, Secrets.normal_recovery_code(c)) for c in codes
        ]
        uow.identity.replace_recovery_codes(row.tenant_id, row.user_id, hashes, now_us)
        return codes

    # --- re-authentication, password change and reset -----------------------------------------

    def change_password(self, actor: Actor, current_password: str, new_password: str) -> None:
        """Set a new password; every other session of the user is revoked."""
        actor.require_scope(Scope.SECURITY_WRITE)
        row = self._row_for(actor)
        if not self._crypto.passwords.verify(row.password_hash, current_password):
            self._record_failure(
                actor.tenant_id, "auth.password.change-failed", actor.context, user_id=actor.user_id
            )
            raise CredentialsInvalid()
        new_hash = self._checked_hash(row, new_password)

        def write(uow: UnitOfWork) -> None:
            now_us = self._clock.now_us()
            self._live_row(uow, actor)
            uow.identity.set_password_hash(actor.tenant_id, actor.user_id, new_hash, now_us)
            revoked = uow.identity.revoke_sessions_of(
                actor.tenant_id, actor.user_id, now_us, keep=actor.session_id
            )
            self._audit_ok(uow, actor, "auth.password.changed", now_us, sessions_revoked=revoked)
            uow.commit()

        self._runner.write(write)

    def request_password_reset(
        self, tenant_id: TenantId, login: str, context: RequestContext
    ) -> None:
        """Mail (or text) a single-use reset token if the login names an active user; the caller
        learns nothing either way."""
        identifier = self._secrets.parse_login(login)
        if identifier is None:
            return
        token = Secrets.new_token()
        ttl = self._settings.password_reset_ttl_seconds

        def write(uow: UnitOfWork) -> None:
            now_us = self._clock.now_us()
            if identifier.handle is not None:
                row = uow.identity.user_by_handle(tenant_id, identifier.handle)
            else:
                assert identifier.channel is not None and identifier.index is not None
                row = uow.identity.user_by_index(tenant_id, identifier.channel, identifier.index)
            if row is None or row.status is not UserStatus.ACTIVE:
                return
            uow.identity.insert_password_reset(
                tenant_id,
                self._ids.new_id(),
                row.user_id,
                Secrets.token_hash(token),
                now_us + ttl * 1_000_000,
                now_us,
            )
            self._alert(uow, row, now_us, "password-reset", token=token, minutes=ttl // 60)
            uow.audit.append(
                audit(
                    tenant_id,
                    "auth.password-reset.requested",
                    Outcome.SUCCESS,
                    context,
                    user_id=row.user_id,
                ),
                now_us,
            )
            uow.commit()

        self._runner.write(write)

    def complete_password_reset(
        self, tenant_id: TenantId, token: str, new_password: str, context: RequestContext
    ) -> None:
        """Set the new password with a reset token (once); every session is revoked."""
        digest = Secrets.token_hash(token.strip())

        def write(uow: UnitOfWork) -> None:
            now_us = self._clock.now_us()
            user_id = uow.identity.use_password_reset(tenant_id, digest, now_us)
            row = None if user_id is None else uow.identity.user(tenant_id, user_id)
            if row is None or row.status is not UserStatus.ACTIVE:
                raise PasswordResetInvalid()
            new_hash = self._checked_hash(row, new_password)
            uow.identity.set_password_hash(tenant_id, row.user_id, new_hash, now_us)
            revoked = uow.identity.revoke_sessions_of(tenant_id, row.user_id, now_us)
            uow.audit.append(
                audit(
                    tenant_id,
                    "auth.password.reset",
                    Outcome.SUCCESS,
                    context,
                    user_id=row.user_id,
                    sessions_revoked=revoked,
                ),
                now_us,
            )
            uow.commit()

        self._runner.write(write)

    def _checked_hash(self, row: UserRow, password: str) -> str:
        email = self._open_user(row).email
        check_password(
            password,
            handle=row.handle,
            email=email,
            is_common=self._crypto.common_passwords.is_common,
        )
        return self._crypto.passwords.hash(password)

    # --- operator actions ---------------------------------------------------------------------

    def user_for_operator(self, actor: Actor, user_id: str) -> User:
        _require_operator(actor)
        row = self._runner.read(lambda uow: uow.identity.user(actor.tenant_id, UserId(user_id)))
        if row is None:
            raise UserNotFound(user_id=user_id)
        return self._open_user(row)

    def set_user_status(self, actor: Actor, user_id: str, status: UserStatus) -> User:
        """Disable (revoking every session of the user) or enable a user."""
        _require_operator(actor)

        def write(uow: UnitOfWork) -> User:
            now_us, uid = self._clock.now_us(), UserId(user_id)
            if not uow.identity.set_status(actor.tenant_id, uid, status, now_us):
                raise UserNotFound(user_id=user_id)
            revoked = 0
            if status is UserStatus.DISABLED:
                revoked = uow.identity.revoke_sessions_of(actor.tenant_id, uid, now_us)
            action = "user.disabled" if status is UserStatus.DISABLED else "user.enabled"
            self._audit_operator(uow, actor, action, user_id, now_us, sessions_revoked=revoked)
            uow.commit()
            row = uow.identity.user(actor.tenant_id, uid)
            assert row is not None
            return self._open_user(row)

        return self._runner.write(write)

    def set_user_kyc_tier(self, actor: Actor, user_id: str, tier: int) -> User:
        _require_operator(actor)
        check_kyc_tier(tier)

        def write(uow: UnitOfWork) -> User:
            now_us, uid = self._clock.now_us(), UserId(user_id)
            if not uow.identity.set_kyc_tier(actor.tenant_id, uid, tier, now_us):
                raise UserNotFound(user_id=user_id)
            self._audit_operator(uow, actor, "user.kyc-tier.changed", user_id, now_us, tier=tier)
            uow.commit()
            row = uow.identity.user(actor.tenant_id, uid)
            assert row is not None
            return self._open_user(row)

        return self._runner.write(write)


def _require_operator(actor: Actor) -> None:
    if actor.role is not Role.OPERATOR or Scope.OPERATOR not in actor.scopes:
        raise OperatorOnly()


def _code_or_recovery(code: str) -> dict[str, str | None]:
    """A six-digit TOTP code, or else a recovery code (``xxxxx-xxxxx``)."""
    text = code.strip().replace(" ", "")
    if text.isdigit():
        return {"code": text, "recovery_code": None}
    return {"code": None, "recovery_code": text}
