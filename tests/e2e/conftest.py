"""The web app's test fixtures (``bank``, ``guest``, ``member``, ``signed_in``, ``opened``),
defined in ``web_kit``, for every test here; a module with a fixture of the same name (the API
tests' own ``bank``) uses its own."""

from __future__ import annotations

from tests.e2e.web_kit import bank, guest, member, opened, signed_in

__all__ = ["bank", "guest", "member", "opened", "signed_in"]
