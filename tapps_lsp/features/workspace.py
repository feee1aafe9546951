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
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tapps_lsp.cache.store import default_directory
from tapps_lsp.features.base import Feature
from tapps_lsp.reports import export
from tapps_lsp.review.versions import tool_versions
from tapps_lsp.scans import pull
from tapps_lsp.scans.results import Results, read_source
from tapps_lsp.scans.runner import ScanRunner
from tapps_lsp.scans.watch import WatchedFiles
from tapps_lsp.server import TappsLanguageServer


def _one_object(name: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """The optional single object argument of a command."""
    if not args or args[0] is None:
        return {}
    if len(args) > 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{name} takes one object argument")
    return args[0]


async def export_last_scan(ls: TappsLanguageServer, fmt: str, requested: str | None) -> str:
    """Write the report of the last finished scan; ValueError says why it cannot be."""
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
    path: Path = await asyncio.to_thread(
        export.export, last.reviews, fmt, requested, where, run=run, read_text=read_source
    )
    return str(path)


class Workspace(Feature):
    """Scans, their tasks and results, watched files and report export."""

    def __init__(self, server: TappsLanguageServer) -> None:
        self.server = server
        self.results = Results(server)
        self.runner = ScanRunner(server, self.results)
        self.watcher = WatchedFiles(server, self.runner, self.results)

    async def initialized(self) -> None:
        """Register the file watchers."""
        await self.watcher.watch()

    def shutdown(self) -> None:
        """Drop watched-file events still being coalesced."""
        self.watcher.shutdown()

    def register(self) -> None:
        """The seven handlers."""
        server, runner, tasks = self.server, self.runner, self.server.scans.tasks

        @server.command("tapps.reviewWorkspace")
        def review_workspace(ls: TappsLanguageServer, *args: Any) -> dict[str, str]:
            folder = _one_object("tapps.reviewWorkspace", args).get("folder")
            if folder is not None and not isinstance(folder, str):
                raise JsonRpcInvalidParams("tapps.reviewWorkspace: folder must be a URI string")
            try:
                return {"taskId": runner.review_workspace(folder).id}
            except ValueError as exc:
                raise JsonRpcInvalidParams(str(exc)) from exc

        @server.command("tapps.taskStatus")
        def task_status(ls: TappsLanguageServer, task_id: str) -> dict[str, Any]:
            task = tasks.get(task_id)
            if task is None:
                raise JsonRpcInvalidParams(f"no task {task_id!r}")
            return task.to_dict()

        @server.command("tapps.cancelTask")
        def cancel_task(ls: TappsLanguageServer, task_id: str) -> dict[str, bool]:
            return {"cancelled": tasks.cancel(task_id)}

        @server.command("tapps.listTasks")
        def list_tasks(ls: TappsLanguageServer) -> list[dict[str, Any]]:
            return [task.to_dict() for task in tasks.list()]

        @server.command("tapps.exportReport")
        async def export_report(ls: TappsLanguageServer, *args: Any) -> str:
            options = _one_object("tapps.exportReport", args)
            fmt, path = options.get("format", "html"), options.get("path")
            if not isinstance(fmt, str) or not (path is None or isinstance(path, str)):
                raise JsonRpcInvalidParams("tapps.exportReport: format and path must be strings")
            try:
                return await export_last_scan(ls, fmt, path)
            except ValueError as exc:
                raise JsonRpcInvalidParams(str(exc)) from exc

        @server.feature(types.WORKSPACE_DIAGNOSTIC)
        async def workspace_diagnostic(
            ls: TappsLanguageServer, params: types.WorkspaceDiagnosticParams
        ) -> types.WorkspaceDiagnosticReport:
            return await pull.workspace_diagnostic(ls, params)

        @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
        def did_change_watched_files(
            ls: TappsLanguageServer, params: types.DidChangeWatchedFilesParams
        ) -> None:
            self.watcher.files_changed(params.changes)
