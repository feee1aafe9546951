"""Builds the server: one TappsLanguageServer, each feature module wired once."""

from __future__ import annotations

import logging

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


def create_server() -> TappsLanguageServer:
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
    return server
