"""`initialize`: record what the client can do, before pygls builds our capabilities.

pygls 2.1 calls a user `initialize` handler after it has set up the workspace
(with the position encoding protocol.py negotiated) and before it computes the
server's capabilities from the registered features, so what is decided here
shapes the answer: a push client is not told to pull as well.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from tapps_lsp.config import env_log_level
from tapps_lsp.folders import Folder
from tapps_lsp.server import TappsLanguageServer


def pulls(caps: types.ClientCapabilities) -> tuple[bool, bool]:
    """(pull diagnostics, refresh support) for a client's capabilities.

    Pull only when we can also ask for a re-pull: Neovim 0.11 pulls on open and
    change but not on save and has no refresh, so it would keep showing results
    from before the save. Such clients get push.
    """
    workspace = caps.workspace
    refresh = bool(workspace and workspace.diagnostics and workspace.diagnostics.refresh_support)
    text_document = caps.text_document
    return bool(text_document and text_document.diagnostic and refresh), refresh


def wants_markdown(caps: types.ClientCapabilities) -> bool:
    """Whether hovers may be Markdown (no stated preference counts as yes)."""
    hover = caps.text_document.hover if caps.text_document else None
    formats = (hover.content_format if hover else None) or []
    return not formats or types.MarkupKind.Markdown in formats


def tapps_options(options: Any) -> dict[str, Any] | None:
    """Our initializationOptions: the `tapps` object if nested, else the whole object."""
    if not isinstance(options, dict):
        return None
    nested = options.get("tapps")
    return dict(nested if isinstance(nested, dict) else options)


def initialize(ls: TappsLanguageServer, params: types.InitializeParams) -> None:
    """Record the client's capabilities, options, log level and workspace folders."""
    caps = params.capabilities
    ls.encoding = str(
        getattr(ls.workspace.position_encoding, "value", ls.workspace.position_encoding)
    )
    ls.pull_diagnostics, ls.refresh_support = pulls(caps)
    if not ls.pull_diagnostics:
        # Push clients must not be told to pull as well: pygls leaves out a provider
        # whose options are None (the handlers stay, answering a pull all the same).
        ls.protocol.fm.feature_options[types.TEXT_DOCUMENT_DIAGNOSTIC] = None
    ls.markdown = wants_markdown(caps)
    options = tapps_options(params.initialization_options)
    if options is not None:
        ls.init_options = options
    level = ls.init_options.get("logLevel", env_log_level())
    ls.set_log_level(level if isinstance(level, str) else env_log_level())
    ls.loose = Folder(uri="", root=None)
    for folder in params.workspace_folders or []:
        ls.add_folder(folder.uri)
    if not params.workspace_folders and params.root_uri:
        ls.add_folder(params.root_uri)


def register(server: TappsLanguageServer) -> None:
    """Wire `initialize` to `initialize()`."""
    server.feature(types.INITIALIZE)(initialize)
