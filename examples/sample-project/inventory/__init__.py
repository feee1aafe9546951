"""Stock keeping for a small workshop."""

__version__ = "0.3.0"
