"""Builds the server: one TappsLanguageServer, each feature wired once, features in order."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import TYPE_CHECKING

# The packages alone (microseconds): a missing dependency still fails at this import,
# where cli.py turns it into a message; their modules load in create_server().
import lsprotocol  # noqa: F401
import pygls  # noqa: F401

from tapps_lsp import codecache

if TYPE_CHECKING:
    from lsprotocol.types import InitializedParams

    from tapps_lsp.server import TappsLanguageServer


async def initialized(ls: TappsLanguageServer, params: InitializedParams) -> None:
    """The client is ready: every feature's `initialized` in order, then the warm-up."""
    await ls.start_features()
    # Start the review worker now rather than on the first save, off the event loop.
    ls.start_warm_up()
    ls.spawn(_end_of_start_up(ls))


async def _end_of_start_up(ls: TappsLanguageServer) -> None:
    """Once the warm-up has ended, keep the code start-up generated for the next start."""
    await ls.reviewer_host.warmed()
    await asyncio.to_thread(codecache.save)


def create_server() -> TappsLanguageServer:
    """The server with every feature wired (see docs/architecture.md)."""
    # The imports below create most of the process's long-lived objects (lsprotocol's
    # thousand attrs classes above all): full collections would walk them again and again
    # while `initialize` waits, so there are none meanwhile. Young ones still run: attrs
    # replaces each class it builds, and the first one is cyclic garbage. With the
    # collector off it outlived start-up and, frozen below, the process: 9 MB (issue 17).
    # Frozen afterwards, full collections skip the long-lived objects for good.
    thresholds = gc.get_threshold()
    gc.set_threshold(2000, 100, 1_000_000)
    # attrs' generated methods compiled at the last start, not compiled again (codecache.py).
    codecache.install()
    try:
        from lsprotocol import types

        from tapps_lsp.features import (
            code_actions,
            code_lens,
            commands,
            configuration,
            diagnostics,
            hover,
            initialize,
            workspace,
        )
        from tapps_lsp.server import TappsLanguageServer

        # pygls logs every message body at INFO; at our volume that is slow and noisy.
        logging.getLogger("pygls").setLevel(logging.WARNING)
        server = TappsLanguageServer()
        for module in (initialize, diagnostics, code_actions, hover, code_lens, commands):
            module.register(server)
        # Features with a lifecycle (features/base.py): started in this order, the settings
        # first; shut down in the reverse order.
        server.features = [configuration.Configuration(server), workspace.Workspace(server)]
        for feature in server.features:
            feature.register()
        server.feature(types.INITIALIZED)(initialized)
    finally:
        gc.set_threshold(*thresholds)
    gc.freeze()
    return server
