"""TOTP (RFC 6238) with pyotp: 6 digits, 30-second steps, SHA-1 (what authenticator apps
expect).

``matching_step`` answers which time step a code belongs to (now, or one step either side for
clock drift) rather than a bare yes/no, so the service can refuse a step it has already
accepted: a code works once.
"""

from __future__ import annotations

import pyotp
from pyotp.utils import strings_equal

DRIFT_STEPS = 1


class PyOtpTotp:
    def new_secret(self) -> str:
        return pyotp.random_base32(length=32)

    def provisioning_uri(self, secret: str, *, account_name: str, issuer: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)

    def matching_step(self, secret: str, code: str, now_us: int) -> int | None:
        code = code.strip().replace(" ", "")
        if len(code) != 6 or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret)
        now_step = totp.timecode(now_us // 1_000_000)
        for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
            if strings_equal(totp.generate_otp(step), code):
                return step
        return None

    def code_at(self, secret: str, now_us: int) -> str:
        """The code an authenticator app shows at ``now_us`` (demo data and tests)."""
        return pyotp.TOTP(secret).at(now_us // 1_000_000)
