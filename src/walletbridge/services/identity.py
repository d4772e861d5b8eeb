"""Identity use cases: registration, sign-up with a verified email or phone, and login with an
optional second factor. ``IdentityService`` also holds the groups kept in their own modules:
``identity_tenants`` (brands, host names), ``identity_sessions`` (bearer tokens, step-up,
sessions, API tokens) and ``identity_security`` (profile, TOTP, recovery codes, passwords,
resets, operator actions), all on ``identity_base``.

Invariants: a wrong password, login,
challenge or code all get the same ``credentials-invalid``; a second-factor attempt takes a slot
by conditional update before its code is evaluated, so concurrent guesses cannot race past the
lockout; refusals are audited in a write of their own that survives the failing request.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from walletbridge.domain.actors import (
    RecipientKind,
    RequestContext,
    Role,
    UserId,
    UserStatus,
    UserSummary,
)
from walletbridge.domain.audit import ActorKind, Outcome
from walletbridge.domain.contacts import blind_index, normalise
from walletbridge.domain.errors import TenantNotFound
from walletbridge.domain.identity import (
    CHALLENGE_SECONDS,
    VERIFICATION_CODE_DIGITS,
    VERIFICATION_MAX_ATTEMPTS,
    Channel,
    CredentialsInvalid,
    VerificationCodeInvalid,
    VerificationExpired,
    check_display_name,
    check_kyc_tier,
    check_locale,
    check_password,
    contact_kind,
)
from walletbridge.domain.ledger import TenantId
from walletbridge.ports import UnitOfWork
from walletbridge.ports.identity import UserRow, VerificationRow
from walletbridge.services.identity_base import brand_of
from walletbridge.services.identity_messages import compose
from walletbridge.services.identity_security import IdentitySecurity
from walletbridge.services.identity_sessions import IdentitySessions
from walletbridge.services.identity_support import IssuedToken, LoginIdentifier, Secrets, audit
from walletbridge.services.identity_tenants import TenantBranding


@dataclass(frozen=True, slots=True)
class VerificationStarted:
    verification_id: str
    channel: Channel
    expires_at_us: int


@dataclass(frozen=True, slots=True)
class LoginResult:
    """Either a token, or a second-factor challenge to answer with ``complete_second_factor``."""

    token: IssuedToken | None = None
    challenge_id: str | None = None
    challenge_expires_at_us: int | None = None


class IdentityService(IdentitySecurity, IdentitySessions, TenantBranding):
    """The identity use cases; each group lives in its own module, this one holds registration,
    sign-up and login."""

    # --- users ------------------------------------------------------------------------------

    def register_verified(
        self,
        tenant_id: TenantId,
        *,
        handle: str,
        display_name: str,
        password: str,
        email: str | None = None,
        phone: str | None = None,
        role: Role = Role.CUSTOMER,
        kyc_tier: int = 1,
        locale: str = "en",
    ) -> UserSummary:
        """Create a user whose email and phone count as verified (demo data, operators, tests)."""
        handle = normalise(RecipientKind.HANDLE, handle)
        email = None if email is None else normalise(RecipientKind.EMAIL, email)
        phone = None if phone is None else normalise(RecipientKind.PHONE, phone)
        check_password(
            password, handle=handle, email=email, is_common=self._crypto.common_passwords.is_common
        )
        row = self._new_user_row(
            tenant_id,
            handle=handle,
            display_name=display_name,
            password_hash=self._crypto.passwords.hash(password),
            contacts={Channel.EMAIL: email, Channel.PHONE: phone},
            data_key=self._crypto.sealer.new_data_key(),
            role=role,
            kyc_tier=check_kyc_tier(kyc_tier),
            locale=check_locale(locale),
        )

        def write(uow: UnitOfWork) -> UserSummary:
            if uow.tenants.get(tenant_id) is None:
                raise TenantNotFound(tenant_id=tenant_id)
            uow.identity.insert_user(row)
            record = audit(
                tenant_id,
                "user.registered",
                Outcome.SUCCESS,
                RequestContext(),
                actor_kind=ActorKind.SYSTEM,
                object_type="user",
                object_id=row.user_id,
                role=role.value,
            )
            uow.audit.append(record, row.created_at_us)
            uow.commit()
            summary = uow.identity.summary(tenant_id, row.user_id)
            assert summary is not None
            return summary

        return self._runner.write(write)

    def _new_user_row(
        self,
        tenant_id: TenantId,
        *,
        handle: str,
        display_name: str,
        password_hash: str,
        contacts: dict[Channel, str | None],
        data_key: bytes,
        role: Role = Role.CUSTOMER,
        kyc_tier: int = 1,
        locale: str = "en",
    ) -> UserRow:
        """A new active user's row, its email and phone sealed under ``data_key``."""
        email, phone = contacts.get(Channel.EMAIL), contacts.get(Channel.PHONE)
        sealer, key = self._crypto.sealer, self._settings.secret_key
        return UserRow(
            tenant_id=tenant_id,
            user_id=UserId(self._ids.new_id()),
            handle=handle,
            display_name=check_display_name(display_name),
            data_key=data_key,
            email_index=None if email is None else blind_index(key, RecipientKind.EMAIL, email),
            email_sealed=None if email is None else sealer.seal(data_key, email, "email"),
            phone_index=None if phone is None else blind_index(key, RecipientKind.PHONE, phone),
            phone_sealed=None if phone is None else sealer.seal(data_key, phone, "phone"),
            email_verified=email is not None,
            phone_verified=phone is not None,
            role=role,
            kyc_tier=kyc_tier,
            status=UserStatus.ACTIVE,
            locale=locale,
            password_hash=password_hash,
            totp_secret_sealed=None,
            totp_enabled=False,
            created_at_us=self._clock.now_us(),
        )

    # --- sign-up ----------------------------------------------------------------------------

    def start_signup(
        self, tenant_id: TenantId, channel: Channel, address: str, *, locale: str | None = None
    ) -> VerificationStarted:
        """Send a 6-digit code to the address. An address that already has an account gets a
        notice instead of a code, and the caller sees the same answer either way."""
        normal = normalise(contact_kind(channel), address)
        index = blind_index(self._settings.secret_key, contact_kind(channel), normal)
        verification_id = self._ids.new_id()
        code = Secrets.new_numeric_code(VERIFICATION_CODE_DIGITS)
        data_key = self._crypto.sealer.new_data_key()
        now_us = self._clock.now_us()
        ttl = self._settings.verification_code_ttl_seconds
        expires_at_us = now_us + ttl * 1_000_000

        def write(uow: UnitOfWork) -> VerificationStarted:
            brand = brand_of(uow, tenant_id)
            language = check_locale(locale) if locale else brand.default_locale
            taken = uow.identity.user_by_index(tenant_id, channel, index) is not None
            uow.identity.insert_verification(
                VerificationRow(
                    id=verification_id,
                    tenant_id=tenant_id,
                    channel=channel,
                    address_index=index,
                    address_sealed=self._crypto.sealer.seal(data_key, normal, channel.value),
                    data_key=data_key,
                    code_hash=self._secrets.code_hash(verification_id, code),
                    attempts=0,
                    locale=language,
                    expires_at_us=expires_at_us,
                    consumed_at_us=None,
                    created_at_us=now_us,
                )
            )
            message = compose(
                self._ids.new_id(),
                tenant_id,
                channel=channel,
                to=normal,
                locale=language,
                kind="already-registered" if taken else "verification",
                brand=brand.display_name,
                code=code,
                minutes=ttl // 60,
            )
            uow.outbox.add(message, now_us)
            uow.commit()
            return VerificationStarted(verification_id, channel, expires_at_us)

        return self._runner.write(write)

    def complete_signup(
        self,
        tenant_id: TenantId,
        *,
        verification_id: str,
        code: str,
        password: str,
        handle: str,
        display_name: str,
        locale: str | None = None,
        context: RequestContext | None = None,
    ) -> tuple[UserSummary, IssuedToken]:
        """Check the code (each try counted, five per code), create the user and sign them in."""
        context = context or RequestContext()
        handle = normalise(RecipientKind.HANDLE, handle)
        display_name = check_display_name(display_name)
        check_password(
            password, handle=handle, email=None, is_common=self._crypto.common_passwords.is_common
        )
        password_hash = self._crypto.passwords.hash(password)

        def write(uow: UnitOfWork) -> tuple[UserSummary, IssuedToken]:
            now_us = self._clock.now_us()
            found = self._verified(uow, tenant_id, verification_id, code, context, now_us)
            address = self._crypto.sealer.open(found.data_key, found.address_sealed, found.channel)
            email = address if found.channel is Channel.EMAIL else None
            check_password(
                password,
                handle=handle,
                email=email,
                is_common=self._crypto.common_passwords.is_common,
            )
            row = self._new_user_row(
                tenant_id,
                handle=handle,
                display_name=display_name,
                password_hash=password_hash,  # made before the transaction: argon2 is slow
                contacts={found.channel: address},
                data_key=found.data_key,
                locale=check_locale(locale) if locale else found.locale,
            )
            uow.identity.insert_user(row)
            uow.identity.consume_verification(tenant_id, found.id, now_us)
            token = self._open_session(uow, row, context, now_us)
            uow.audit.append(
                audit(
                    tenant_id,
                    "auth.signup.completed",
                    Outcome.SUCCESS,
                    context,
                    user_id=row.user_id,
                ),
                now_us,
            )
            uow.commit()
            summary = uow.identity.summary(tenant_id, row.user_id)
            assert summary is not None
            return summary, token

        return self._runner.write(write)

    def _verified(
        self,
        uow: UnitOfWork,
        tenant_id: TenantId,
        verification_id: str,
        code: str,
        context: RequestContext,
        now_us: int,
    ) -> VerificationRow:
        """The verification if ``code`` is its code. Each try is counted first (a conditional
        update), and a wrong one is committed before refusing, so five tries per code hold
        however many requests race."""
        found = uow.identity.reserve_verification_attempt(
            tenant_id, verification_id, now_us, VERIFICATION_MAX_ATTEMPTS
        )
        if found is None:
            raise VerificationExpired()
        expected = self._secrets.code_hash(found.id, code.strip())
        if not hmac.compare_digest(expected, found.code_hash):
            uow.audit.append(
                audit(tenant_id, "auth.signup.code-rejected", Outcome.FAILURE, context), now_us
            )
            uow.commit()  # the counted try must outlive the refusal
            raise VerificationCodeInvalid(attempts_left=VERIFICATION_MAX_ATTEMPTS - found.attempts)
        return found

    # --- login --------------------------------------------------------------------------------

    def login(
        self, tenant_id: TenantId, login: str, password: str, context: RequestContext
    ) -> LoginResult:
        identifier = self._secrets.parse_login(login)
        row = None
        if identifier is not None:
            row = self._runner.read(lambda uow: self._find_login(uow, tenant_id, identifier))
        hasher = self._crypto.passwords
        if row is None:
            hasher.verify(self._dummy(), password)  # same work whether or not the user exists
            self._record_failure(tenant_id, "auth.login.failed", context, reason="unknown-login")
            raise CredentialsInvalid()
        if not hasher.verify(row.password_hash, password) or row.status is not UserStatus.ACTIVE:
            reason = "wrong-password" if row.status is UserStatus.ACTIVE else "disabled"
            self._record_failure(
                tenant_id, "auth.login.failed", context, user_id=row.user_id, reason=reason
            )
            raise CredentialsInvalid()
        new_hash = hasher.hash(password) if hasher.needs_rehash(row.password_hash) else None

        def write(uow: UnitOfWork) -> LoginResult:
            now_us = self._clock.now_us()
            if new_hash is not None:
                uow.identity.set_password_hash(tenant_id, row.user_id, new_hash, now_us)
            if row.totp_enabled:
                challenge_id = self._ids.new_id()
                expires_at_us = now_us + CHALLENGE_SECONDS * 1_000_000
                uow.identity.insert_challenge(
                    tenant_id, challenge_id, row.user_id, expires_at_us, now_us
                )
                action = "auth.login.password-accepted"
                result = LoginResult(
                    challenge_id=challenge_id, challenge_expires_at_us=expires_at_us
                )
            else:
                token = self._open_session(uow, row, context, now_us)
                action, result = "auth.login.succeeded", LoginResult(token=token)
            uow.audit.append(
                audit(tenant_id, action, Outcome.SUCCESS, context, user_id=row.user_id), now_us
            )
            uow.commit()
            return result

        return self._runner.write(write)

    def complete_second_factor(
        self,
        tenant_id: TenantId,
        challenge_id: str,
        context: RequestContext,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
    ) -> IssuedToken:
        def write(uow: UnitOfWork) -> IssuedToken:
            now_us = self._clock.now_us()
            user_id = uow.identity.challenge_user(tenant_id, challenge_id, now_us)
            row = None if user_id is None else uow.identity.user(tenant_id, user_id)
            if row is None or row.status is not UserStatus.ACTIVE:
                raise CredentialsInvalid()
            self._second_factor(uow, row, context, now_us, code=code, recovery_code=recovery_code)
            if not uow.identity.consume_challenge(tenant_id, challenge_id, now_us):
                raise CredentialsInvalid()
            token = self._open_session(uow, row, context, now_us)
            uow.audit.append(
                audit(
                    tenant_id, "auth.login.succeeded", Outcome.SUCCESS, context, user_id=row.user_id
                ),
                now_us,
            )
            uow.commit()
            return token

        return self._runner.write(write)

    def _find_login(
        self, uow: UnitOfWork, tenant_id: TenantId, identifier: LoginIdentifier
    ) -> UserRow | None:
        if identifier.handle is not None:
            return uow.identity.user_by_handle(tenant_id, identifier.handle)
        assert identifier.channel is not None and identifier.index is not None
        return uow.identity.user_by_index(tenant_id, identifier.channel, identifier.index)
