"""walletbridge: a digital wallet platform wired into the banking system."""

__version__ = "0.1.0"
