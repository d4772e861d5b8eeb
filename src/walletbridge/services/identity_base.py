"""What every identity use case shares: the dependencies, opening sessions, opening a user's
sealed data, auditing refusals, and the second-factor check with its lockout.

The second-factor check keeps S-05: it takes an attempt slot with a conditional update *before*
evaluating the code (concurrent guesses queue on the user's row, and at most
``second_factor_max_failures`` are ever evaluated in a row), refuses a TOTP time step already
used, uses a recovery code at most once, and on the last allowed failure blocks the factor for
``second_factor_block_seconds`` and alerts the user by mail or SMS.
"""

from __future__ import annotations

from typing import NoReturn

from walletbridge.domain.actors import (
    CUSTOMER_SCOPES,
    Actor,
    RequestContext,
    Role,
    Scope,
    SessionId,
    UserId,
    UserStatus,
)
from walletbridge.domain.audit import ActorKind, AuditRecord, Outcome
from walletbridge.domain.errors import TenantNotFound
from walletbridge.domain.identity import (
    AuthenticationRequired,
    Channel,
    CredentialsInvalid,
    SecondFactorBlocked,
    Session,
    SessionKind,
    TenantBrand,
    TotpNotEnrolled,
    User,
)
from walletbridge.domain.ledger import TenantId
from walletbridge.ports import Clock, IdSource, TransactionRunner, UnitOfWork
from walletbridge.ports.identity import IdentityCrypto, UserRow
from walletbridge.services.identity_messages import compose
from walletbridge.services.identity_support import IssuedToken, Secrets, audit
from walletbridge.services.settings import ServiceSettings

_DUMMY_PASSWORD = "walletbridge-timing-equaliser"  # noqa: S105 - hashed once, never accepted


class IdentityBase:
    def __init__(
        self,
        runner: TransactionRunner,
        clock: Clock,
        ids: IdSource,
        settings: ServiceSettings,
        *,
        crypto: IdentityCrypto,
    ) -> None:
        self._runner = runner
        self._clock = clock
        self._ids = ids
        self._settings = settings
        self._crypto = crypto
        self._secrets = Secrets(settings.secret_key)
        self._dummy_hash: str | None = None

    def _open_user(self, row: UserRow) -> User:
        """The user with their personal data opened, for the user themself or an operator."""
        sealer = self._crypto.sealer
        email = (
            None
            if row.email_sealed is None
            else sealer.open(row.data_key, row.email_sealed, "email")
        )
        phone = (
            None
            if row.phone_sealed is None
            else sealer.open(row.data_key, row.phone_sealed, "phone")
        )
        return User(
            tenant_id=row.tenant_id,
            user_id=row.user_id,
            handle=row.handle,
            display_name=row.display_name,
            email=email,
            phone=phone,
            email_verified=row.email_verified,
            phone_verified=row.phone_verified,
            role=row.role,
            kyc_tier=row.kyc_tier,
            status=row.status,
            locale=row.locale,
            totp_enabled=row.totp_enabled,
            created_at_us=row.created_at_us,
        )

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._crypto.passwords.hash(_DUMMY_PASSWORD)
        return self._dummy_hash

    def _open_session(
        self,
        uow: UnitOfWork,
        row: UserRow,
        context: RequestContext,
        now_us: int,
        *,
        kind: SessionKind = SessionKind.BROWSER,
        name: str = "",
        scopes: frozenset[Scope] | None = None,
        lifetime_seconds: int | None = None,
    ) -> IssuedToken:
        """A new session with a new random token (never one from before the login)."""
        if scopes is None:
            operator = {Scope.OPERATOR} if row.role is Role.OPERATOR else set()
            scopes = CUSTOMER_SCOPES | operator
        seconds = lifetime_seconds or self._settings.session_absolute_seconds
        token = Secrets.new_token()
        user_agent = context.user_agent[:300] if context.user_agent else None
        session = Session(
            id=SessionId(self._ids.new_id()),
            tenant_id=row.tenant_id,
            user_id=row.user_id,
            kind=kind,
            name=(name or user_agent or kind.value)[:100],
            scopes=frozenset(scopes),
            created_at_us=now_us,
            last_seen_at_us=now_us,
            last_auth_at_us=now_us,
            expires_at_us=now_us + seconds * 1_000_000,
            revoked_at_us=None,
            user_agent=user_agent,
            ip=context.ip,
        )
        uow.identity.insert_session(session, Secrets.token_hash(token))
        return IssuedToken(token, session.id, session.scopes, session.expires_at_us)

    def _record_failure(
        self,
        tenant_id: TenantId,
        action: str,
        context: RequestContext,
        *,
        user_id: UserId | None = None,
        **details: str | int | bool | None,
    ) -> None:
        """Audit a refusal in a transaction of its own, so it persists though the request fails."""
        record: AuditRecord = audit(
            tenant_id, action, Outcome.FAILURE, context, user_id=user_id, extra=details
        )

        def write(uow: UnitOfWork) -> None:
            uow.audit.append(record, self._clock.now_us())
            uow.commit()

        self._runner.write(write)

    def _second_factor(
        self,
        uow: UnitOfWork,
        row: UserRow,
        context: RequestContext,
        now_us: int,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
    ) -> None:
        """Accept a TOTP code or a recovery code inside ``uow``, or commit the counted failure
        (and any block) and raise. On success the failure count is back to zero."""
        store, settings = uow.identity, self._settings
        tenant_id, user_id = row.tenant_id, row.user_id
        slot = store.reserve_second_factor_attempt(
            tenant_id, user_id, now_us, settings.second_factor_max_failures
        )
        if slot is None:
            self._refuse_blocked(uow, row, context, now_us)
        factor = "recovery-code" if recovery_code is not None else "totp"
        if self._factor_accepted(uow, row, now_us, code=code, recovery_code=recovery_code):
            store.reset_second_factor(tenant_id, user_id)
            uow.audit.append(
                audit(
                    tenant_id,
                    "auth.second-factor.succeeded",
                    Outcome.SUCCESS,
                    context,
                    user_id=user_id,
                    factor=factor,
                ),
                now_us,
            )
            return
        uow.audit.append(
            audit(
                tenant_id,
                "auth.second-factor.failed",
                Outcome.FAILURE,
                context,
                user_id=user_id,
                factor=factor,
                failures=slot,
            ),
            now_us,
        )
        if slot >= settings.second_factor_max_failures:
            self._block(uow, row, context, now_us, slot)
        uow.commit()  # the counted failure must outlive the refusal
        raise CredentialsInvalid()

    def _refuse_blocked(
        self, uow: UnitOfWork, row: UserRow, context: RequestContext, now_us: int
    ) -> NoReturn:
        """Audit an attempt while blocked (the code is never looked at) and refuse it."""
        until = uow.identity.second_factor_blocked_until(row.tenant_id, row.user_id, now_us)
        record = audit(
            row.tenant_id,
            "auth.second-factor.blocked-attempt",
            Outcome.DENIED,
            context,
            user_id=row.user_id,
        )
        uow.audit.append(record, now_us)
        uow.commit()
        wait_us = (until or now_us) - now_us
        raise SecondFactorBlocked(retry_after_seconds=max(1, -(-wait_us // 1_000_000)))

    def _factor_accepted(
        self,
        uow: UnitOfWork,
        row: UserRow,
        now_us: int,
        *,
        code: str | None,
        recovery_code: str | None,
    ) -> bool:
        if recovery_code is not None:
            if not row.totp_enabled:
                return False
            digest = self._secrets.code_hash(
                row.user_id, Secrets.normal_recovery_code(recovery_code)
            )
            return uow.identity.use_recovery_code(row.tenant_id, row.user_id, digest, now_us)
        if code is None or row.totp_secret_sealed is None:
            return False
        secret = self._crypto.sealer.open(row.data_key, row.totp_secret_sealed, "totp")
        step = self._crypto.totp.matching_step(secret, code, now_us)
        # The conditional update refuses a step already accepted: each code works once.
        return step is not None and uow.identity.advance_totp_step(row.tenant_id, row.user_id, step)

    def _block(
        self, uow: UnitOfWork, row: UserRow, context: RequestContext, now_us: int, failures: int
    ) -> None:
        block_seconds = self._settings.second_factor_block_seconds
        uow.identity.block_second_factor(
            row.tenant_id, row.user_id, now_us + block_seconds * 1_000_000
        )
        uow.audit.append(
            audit(
                row.tenant_id,
                "auth.second-factor.blocked",
                Outcome.DENIED,
                context,
                user_id=row.user_id,
                failures=failures,
            ),
            now_us,
        )
        self._alert(
            uow,
            row,
            now_us,
            "second-factor-blocked",
            failures=failures,
            minutes=max(1, block_seconds // 60),
        )

    def _alert(
        self, uow: UnitOfWork, row: UserRow, now_us: int, kind: str, **fields: str | int
    ) -> None:
        """Tell the user by email (or SMS when they have no email) through the outbox."""
        user = self._open_user(row)
        channel, to = (Channel.EMAIL, user.email) if user.email else (Channel.PHONE, user.phone)
        if to is None:
            return
        name = brand_of(uow, row.tenant_id).display_name
        message = compose(
            self._ids.new_id(),
            row.tenant_id,
            channel=channel,
            to=to,
            locale=row.locale,
            kind=kind,
            brand=name,
            **fields,
        )
        uow.outbox.add(message, now_us)

    # --- the actor's own row, and audit records of what they did ----------------------------

    def _row_for(self, actor: Actor) -> UserRow:
        return self._runner.read(lambda uow: self._live_row(uow, actor))

    def _live_row(self, uow: UnitOfWork, actor: Actor) -> UserRow:
        row = uow.identity.user(actor.tenant_id, actor.user_id)
        if row is None or row.status is not UserStatus.ACTIVE:
            raise AuthenticationRequired()
        return row

    def _enabled_row(self, uow: UnitOfWork, actor: Actor) -> UserRow:
        row = self._live_row(uow, actor)
        if not row.totp_enabled:
            raise TotpNotEnrolled()
        return row

    def _audit_ok(
        self, uow: UnitOfWork, actor: Actor, action: str, now_us: int, **fields: str | int | None
    ) -> None:
        object_type = fields.pop("object_type", None)
        object_id = fields.pop("object_id", None)
        record = audit(
            actor.tenant_id,
            action,
            Outcome.SUCCESS,
            actor.context,
            user_id=actor.user_id,
            object_type=None if object_type is None else str(object_type),
            object_id=None if object_id is None else str(object_id),
            extra=fields,
        )
        uow.audit.append(record, now_us)

    def _audit_operator(
        self, uow: UnitOfWork, actor: Actor, action: str, user_id: str, now_us: int, **details: int
    ) -> None:
        record = audit(
            actor.tenant_id,
            action,
            Outcome.SUCCESS,
            actor.context,
            actor_kind=ActorKind.OPERATOR,
            actor_id=actor.user_id,
            object_type="user",
            object_id=user_id,
            extra=details,
        )
        uow.audit.append(record, now_us)


def brand_of(uow: UnitOfWork, tenant_id: TenantId) -> TenantBrand:
    """The tenant's brand; a tenant without one shows its name in the default colours."""
    brand = uow.identity.brand(tenant_id)
    if brand is not None:
        return brand
    tenant = uow.tenants.get(tenant_id)
    if tenant is None:
        raise TenantNotFound(tenant_id=tenant_id)
    return TenantBrand(tenant_id, tenant.name[:100], logo_text=tenant.name[:40])
