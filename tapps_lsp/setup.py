"""Builds the server: one TappsLanguageServer, each feature module wired once."""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

# The packages alone (microseconds): a missing dependency still fails at this import,
# where cli.py turns it into a message; their modules load in create_server().
import lsprotocol  # noqa: F401
import pygls  # noqa: F401

if TYPE_CHECKING:
    from tapps_lsp.server import TappsLanguageServer


def create_server() -> TappsLanguageServer:
    # The imports below create most of the process's long-lived objects (lsprotocol's
    # thousand attrs classes above all): the collector would walk them again and again
    # while `initialize` waits. Frozen afterwards, full collections skip them for good.
    gc.disable()
    try:
        from tapps_lsp.features import (
            code_actions,
            code_lens,
            commands,
            configuration,
            diagnostics,
            hover,
            workspace,
        )
        from tapps_lsp.server import TappsLanguageServer

        # pygls logs every message body at INFO; at our volume that is slow and noisy.
        logging.getLogger("pygls").setLevel(logging.WARNING)
        server = TappsLanguageServer()
        for feature in (
            configuration,
            diagnostics,
            code_actions,
            hover,
            code_lens,
            commands,
            workspace,
        ):
            feature.register(server)
    finally:
        gc.enable()
    gc.freeze()
    return server
