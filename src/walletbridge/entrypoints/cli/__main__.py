"""``python -m walletbridge.entrypoints.cli``: the same as the ``walletbridge`` command."""

from walletbridge.entrypoints.cli.main import app

app(prog_name="walletbridge")
