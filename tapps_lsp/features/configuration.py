"""Settings per workspace folder, and re-reviews when they change.

Precedence, lowest first (docs/configuration.md): defaults,
`.tapps-agents/config.yaml`, `[tool.tapps-lsp]` in pyproject.toml, the
environment (`TAPPS_LSP_MAX_FILE_SIZE`, ...), `initializationOptions`, the
editor's `workspace/configuration` (section `tapps`, scoped to the folder).
The folder's files may lower the machine limits, never raise them, and may
not set user-only keys (`config.MACHINE_LIMITS`, `config.USER_ONLY`).

An editor value equal to the default counts as unset: VS Code answers with
every key it contributes, defaults included, and taken as they are those
would hide every project file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from lsprotocol import types

from tapps_lsp.config import Settings
from tapps_lsp.features.base import Feature
from tapps_lsp.folders import Folder
from tapps_lsp.server import TappsLanguageServer
from tapps_lsp.settings_merge import Source, flatten

DEFAULTS = asdict(Settings())


async def _client_settings(ls: TappsLanguageServer, folders: list[Folder]) -> list[Any]:
    workspace = ls.client_capabilities.workspace
    if not (workspace and workspace.configuration):
        return [None] * len(folders)
    items = [types.ConfigurationItem(scope_uri=f.uri or None, section="tapps") for f in folders]
    try:
        result = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
    except Exception as exc:  # a client error must not leave the folders without settings
        ls.warn_once(f"workspace/configuration failed ({exc}); using the other sources")
        return [None] * len(folders)
    answers = list(result or [])[: len(folders)]
    return answers + [None] * (len(folders) - len(answers))


async def load_settings(ls: TappsLanguageServer, folders: list[Folder]) -> None:
    """(Re-)read the settings of `folders` from every source, in one configuration request."""
    # With the pyproject and Python-version readers: imported after `initialize` is answered.
    from tapps_lsp.settings_sources import load_folder_settings

    client = await _client_settings(ls, folders)
    for folder, from_client in zip(folders, client, strict=True):
        # The user's own sources; the folder's files may lower their limits only.
        user = [Source(explicit(ls.init_options))]
        if from_client is not None and not isinstance(from_client, Mapping):
            ls.warn_once("workspace/configuration: section tapps is not an object; ignored")
        elif from_client:
            user.append(Source(explicit(from_client)))
        # Read, parsed and checked in a thread; at most a few problems come back.
        settings, problems = await load_folder_settings(folder.root, user)
        ls.set_settings(folder, settings, problems)


def explicit(source: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's values that differ from the defaults (see the module docstring)."""
    return {
        key: value
        for key, value in flatten(source).items()
        if key not in DEFAULTS or value != DEFAULTS[key]
    }


class Configuration(Feature):
    """Settings of every folder: read on `initialized`, re-read when they change."""

    def __init__(self, server: TappsLanguageServer) -> None:
        self.server = server

    async def initialized(self) -> None:
        """Read the settings of every folder (the other features need them)."""
        await load_settings(self.server, self.server.all_folders())

    def register(self) -> None:
        """Configuration and workspace-folder changes; projects found on the way."""
        server = self.server

        # A project found inside a workspace folder reads its settings as a folder does.
        async def load_project(folder: Folder) -> None:
            try:
                await load_settings(server, [folder])
            finally:
                if folder.settings is None:  # never leave its reviews waiting
                    server.set_settings(folder, Settings(), [])

        server.load_project_settings = load_project
        server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
        server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(did_change_folders)


async def did_change_configuration(
    ls: TappsLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    """Re-read every folder's settings and re-review the open documents."""
    # Some clients push the new values here; all answer workspace/configuration.
    settings = params.settings
    if isinstance(settings, Mapping) and isinstance(settings.get("tapps"), Mapping):
        workspace = ls.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            ls.init_options = dict(settings["tapps"])
    await load_settings(ls, ls.all_folders())
    ls.documents.review_all_open()


async def did_change_folders(
    ls: TappsLanguageServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    """Forget removed folders, read the settings of added ones, re-review the open documents."""
    for removed in params.event.removed:
        ls.remove_folder(removed.uri)
    added = [ls.add_folder(f.uri) for f in params.event.added]
    if added:
        await load_settings(ls, added)
    ls.documents.review_all_open()
