"""Files changed outside the editor: sources re-reviewed, settings and coverage re-read.

The client is asked to watch sources, settings files and coverage data. File
events closer together than COALESCE_SECONDS (a branch switch) become one
quiet re-review, never queued behind a scan. A changed settings file re-reads
its folder's settings; new coverage data re-scores every file from the cache
(nothing re-analysed); either restarts a scan of a scanned folder.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from tapps_lsp.features.configuration import load_settings
from tapps_lsp.folders import Folder, uri_to_path
from tapps_lsp.review.coverage import DATA_FILES as COVERAGE_FILES
from tapps_lsp.scans.results import Results, file_uri
from tapps_lsp.scans.runner import ScanRunner
from tapps_lsp.server import TappsLanguageServer
from tapps_lsp.settings_sources import PYPROJECT, TAPPS_AGENTS
from tapps_lsp.tasks import Outcome, Task

log = logging.getLogger(__name__)

# File events closer together than this (a branch switch) become one re-review.
COALESCE_SECONDS = 0.3
WATCHED = (
    "**/*.py",
    f"**/{PYPROJECT}",
    f"**/{TAPPS_AGENTS}",
    *(f"**/{name}" for name in COVERAGE_FILES),
)


def _is_coverage_data(path: Path, folder: Folder) -> bool:
    """Whether a changed file is coverage data a project of the folder may read."""
    named = folder.settings.coverageFile.strip() if folder.settings else ""
    return path.name in COVERAGE_FILES or (bool(named) and path.name == Path(named).name)


@dataclass
class Sorted:
    """A burst of file events by what they change."""

    configs: dict[str, Folder] = field(default_factory=dict)
    coverage: dict[str, Folder] = field(default_factory=dict)
    sources: dict[str, tuple[Folder, list[str]]] = field(default_factory=dict)
    cleared: bool = False


class WatchedFiles:
    """Registers the file watchers and turns their events into re-reviews."""

    def __init__(self, ls: TappsLanguageServer, runner: ScanRunner, results: Results) -> None:
        self.ls = ls
        self.runner = runner
        self.results = results
        self.state = ls.scans
        self._pending: dict[str, types.FileChangeType] = {}
        self._flush: asyncio.TimerHandle | None = None

    async def watch(self) -> None:
        """Ask the client to tell us about changed sources and settings files."""
        workspace = self.ls.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if not (watched and watched.dynamic_registration):
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED]
        )
        registration = types.Registration(
            id=str(uuid.uuid4()),
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options,
        )
        try:
            await self.ls.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
        except Exception as exc:  # without watchers the rest still works
            log.warning("the client refused file watchers: %s", exc)

    def files_changed(self, changes: Sequence[types.FileEvent]) -> None:
        """Note a burst of events; the re-review starts once it has settled."""
        for change in changes:
            self._pending[change.uri] = change.type
        if self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(COALESCE_SECONDS, self._start_refresh)

    def shutdown(self) -> None:
        """Drop events still waiting to be coalesced."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._pending.clear()

    def _start_refresh(self) -> None:
        self._flush = None
        # An active refresh takes the new changes before it ends (see _refresh).
        self.state.refreshes.submit("watched files", "Reviewing changed files", self._refresh)

    async def _refresh(self, task: Task) -> Outcome:
        reviewed = 0
        while self._pending:
            changes, self._pending = self._pending, {}
            reviewed += await self._apply(changes)
        return Outcome({"files": reviewed}, f"{reviewed} changed files reviewed")

    async def _apply(self, changes: dict[str, types.FileChangeType]) -> int:
        found = Sorted()
        for uri, kind in changes.items():
            self._sort(found, uri, kind)
        await self._reload(found)
        reviewed = 0
        for folder, uris in found.sources.values():
            reviewed += await self._review_changed(folder, set(uris))
        if (reviewed or found.cleared) and self.ls.pull_diagnostics:
            self.ls.workspace_diagnostic_refresh(None)  # once for the whole burst
        return reviewed

    def _sort(self, found: Sorted, uri: str, kind: types.FileChangeType) -> None:
        """File one event under what it changes."""
        folder = self.ls.folder_for(uri)  # a nested project's own Folder for its files
        path = uri_to_path(uri)
        if folder.root is None or path is None:
            return
        top = folder.parent or folder  # the workspace folder
        if path.name == PYPROJECT and kind != types.FileChangeType.Changed:
            # A project appeared or went: files may belong to another one now.
            self.ls.forget_projects()
            found.configs[top.uri] = top
        elif path in (folder.root / PYPROJECT, folder.root / TAPPS_AGENTS):
            found.configs[folder.uri] = folder
        elif _is_coverage_data(path, folder):
            found.coverage[folder.uri] = folder
        elif path.suffix == ".py" and top.uri in self.state.scanned:
            self._sort_source(found, top, uri, kind)

    def _sort_source(
        self, found: Sorted, top: Folder, uri: str, kind: types.FileChangeType
    ) -> None:
        if kind == types.FileChangeType.Deleted:
            self.results.clear(uri)
            found.cleared = True
        elif uri not in self.ls.workspace.text_documents:
            found.sources.setdefault(top.uri, (top, []))[1].append(uri)

    async def _reload(self, found: Sorted) -> None:
        """New settings or coverage data: re-score what is shown, re-scan scanned folders."""
        for folder in found.configs.values():
            await load_settings(self.ls, [folder])
            found.coverage.pop(folder.uri, None)  # re-read below with the rest of the project
        # New coverage data: every file is re-scored, from the cache (nothing re-analysed).
        for folder in [*found.configs.values(), *found.coverage.values()]:
            self.ls.reviewer.invalidate_project(folder.root)
            self.ls.documents.review_all_open()
            top = folder.parent or folder
            if top.uri in self.state.scanned:
                found.sources.pop(top.uri, None)  # the new scan covers them
                await self._rescan(top)

    async def _rescan(self, top: Folder) -> None:
        # A scan still running reviews with the old settings: start over.
        for task_id in self.state.active_covering(top.uri):
            self.state.tasks.cancel(task_id)
            await self.state.tasks.wait(task_id)
        self.runner.review_workspace(top.uri)

    async def _review_changed(self, folder: Folder, uris: set[str]) -> int:
        """Re-review files of a scanned folder that a workspace review would cover."""
        covered = await self.runner.discover(folder)
        paths = [p for p in covered if file_uri(folder, str(p)) in uris]
        tally = await self.runner.review(await self.runner.plan(folder, paths))
        return tally.totals.files
