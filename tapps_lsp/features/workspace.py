"""Workspace reviews over LSP: seven handlers, the work in tapps_lsp/scans/.

`tapps.reviewWorkspace` answers with a task id at once (scans/runner.py);
`tapps.taskStatus`, `tapps.cancelTask` and `tapps.listTasks` look at the
tasks; `workspace/diagnostic` is answered from the scans' results
(scans/pull.py); watched files are re-reviewed (scans/watch.py);
`tapps.exportReport` writes the last scan's report (reports/export.py). What
those modules refuse with a `ValueError` is answered as invalid params.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tapps_lsp.features.base import Feature
from tapps_lsp.server import TappsLanguageServer

# The scan modules (with discovery, the cache, conversion) and the report writers are
# imported when first used: `initialize` is answered without them (issue 17).
if TYPE_CHECKING:
    from tapps_lsp.scans.results import Results
    from tapps_lsp.scans.runner import ScanRunner
    from tapps_lsp.scans.watch import WatchedFiles


def _one_object(name: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """The optional single object argument of a command."""
    if not args or args[0] is None:
        return {}
    if len(args) > 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{name} takes one object argument")
    return args[0]


async def export_last_scan(
    ls: TappsLanguageServer, runner: ScanRunner, fmt: str, requested: str | None
) -> str:
    """Write the report of the last finished scan; ValueError says why it cannot be.

    The scan kept no reviews: they are read back from the cache (a warm scan of the
    same folders), so a file changed since is reported as it is now.
    """
    from tapps_lsp.cache.store import default_directory
    from tapps_lsp.reports import export
    from tapps_lsp.review.versions import tool_versions
    from tapps_lsp.scans.results import read_source

    export.suffixes(fmt)
    last = ls.scans.last
    if last is None:
        raise ValueError("no workspace review has finished yet: run tapps.reviewWorkspace first")
    where = export.Destination(
        base=last.root,
        roots=[f.root for f in ls.folders.values() if f.root is not None],
        reports=(ls.cache.directory or default_directory()) / "reports",
        refused=getattr(ls.cache, "refused", None),
    )
    run = replace(last.run, tools=tool_versions())
    reviews = await runner.reviews_of(last.folders)
    path: Path = await asyncio.to_thread(
        export.export, reviews, fmt, requested, where, run=run, read_text=read_source
    )
    return str(path)


class Workspace(Feature):
    """Scans, their tasks and results, watched files and report export."""

    def __init__(self, server: TappsLanguageServer) -> None:
        self.server = server
        self._parts: tuple[Results, ScanRunner, WatchedFiles] | None = None

    def _built(self) -> tuple[Results, ScanRunner, WatchedFiles]:
        """The results, runner and watcher, built on first use."""
        if self._parts is None:
            from tapps_lsp.scans.results import Results
            from tapps_lsp.scans.runner import ScanRunner
            from tapps_lsp.scans.watch import WatchedFiles

            results = Results(self.server)
            runner = ScanRunner(self.server, results)
            self._parts = (results, runner, WatchedFiles(self.server, runner, results))
        return self._parts

    @property
    def results(self) -> Results:
        """The diagnostics of files that are not open (scans/results.py)."""
        return self._built()[0]

    @property
    def runner(self) -> ScanRunner:
        """Workspace reviews (scans/runner.py)."""
        return self._built()[1]

    @property
    def watcher(self) -> WatchedFiles:
        """The file watchers and their re-reviews (scans/watch.py)."""
        return self._built()[2]

    async def initialized(self) -> None:
        """Register the file watchers."""
        await self.watcher.watch()

    def shutdown(self) -> None:
        """Drop watched-file events still being coalesced."""
        if self._parts is not None:
            self.watcher.shutdown()

    def register(self) -> None:
        """The seven handlers."""
        server = self.server

        @server.command("tapps.reviewWorkspace")
        def review_workspace(ls: TappsLanguageServer, *args: Any) -> dict[str, str]:
            folder = _one_object("tapps.reviewWorkspace", args).get("folder")
            if folder is not None and not isinstance(folder, str):
                raise JsonRpcInvalidParams("tapps.reviewWorkspace: folder must be a URI string")
            try:
                return {"taskId": self.runner.review_workspace(folder).id}
            except ValueError as exc:
                raise JsonRpcInvalidParams(str(exc)) from exc

        @server.command("tapps.taskStatus")
        def task_status(ls: TappsLanguageServer, task_id: str) -> dict[str, Any]:
            task = ls.scans.tasks.get(task_id)
            if task is None:
                raise JsonRpcInvalidParams(f"no task {task_id!r}")
            return task.to_dict()

        @server.command("tapps.cancelTask")
        def cancel_task(ls: TappsLanguageServer, task_id: str) -> dict[str, bool]:
            return {"cancelled": ls.scans.tasks.cancel(task_id)}

        @server.command("tapps.listTasks")
        def list_tasks(ls: TappsLanguageServer) -> list[dict[str, Any]]:
            return [task.to_dict() for task in ls.scans.tasks.list()]

        @server.command("tapps.exportReport")
        async def export_report(ls: TappsLanguageServer, *args: Any) -> str:
            options = _one_object("tapps.exportReport", args)
            fmt, path = options.get("format", "html"), options.get("path")
            if not isinstance(fmt, str) or not (path is None or isinstance(path, str)):
                raise JsonRpcInvalidParams("tapps.exportReport: format and path must be strings")
            try:
                return await export_last_scan(ls, self.runner, fmt, path)
            except ValueError as exc:
                raise JsonRpcInvalidParams(str(exc)) from exc

        @server.feature(types.WORKSPACE_DIAGNOSTIC)
        async def workspace_diagnostic(
            ls: TappsLanguageServer, params: types.WorkspaceDiagnosticParams
        ) -> types.WorkspaceDiagnosticReport:
            from tapps_lsp.scans import pull

            return await pull.workspace_diagnostic(ls, params)

        @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
        def did_change_watched_files(
            ls: TappsLanguageServer, params: types.DidChangeWatchedFilesParams
        ) -> None:
            self.watcher.files_changed(params.changes)
