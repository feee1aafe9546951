"""The lifecycle every feature object shares, as esbonio's `LanguageFeature` has one.

setup.py builds the feature objects, lets each `register` its LSP methods
and commands, and hands them to the server in order. Once the client has sent
`initialized`, the server awaits each feature's `initialized` in that order
(the settings first: later features read them); when the session ends it
calls each `shutdown`, last feature first. Nothing here imports the server, so
that the server can hold features without an import cycle.
"""

from __future__ import annotations


class Feature:
    """One LSP concern with a lifecycle; every step does nothing unless overridden."""

    def register(self) -> None:
        """Wire this feature's LSP methods and commands to the server."""

    async def initialized(self) -> None:
        """The client is ready: dynamic registrations, first reads."""

    def shutdown(self) -> None:
        """The session is over: stop timers and background work of this feature."""
