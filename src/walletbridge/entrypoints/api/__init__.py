"""The HTTP API (Litestar). ``APP_FACTORY`` names the app factory for ASGI servers; it lives here
so that naming it does not import Litestar (the CLI starts faster without it)."""

APP_FACTORY = "walletbridge.entrypoints.api.app:create_app"
