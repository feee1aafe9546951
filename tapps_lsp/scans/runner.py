"""The scan of workspace folders ("Review all") as a background task.

`review_workspace` answers with a task at once; the scan runs as a
background task (tapps_lsp.tasks) that reports `$/progress` and can be
cancelled from the client's progress UI or with `tapps.cancelTask`. Each file
is reviewed with the settings of its own project (a project nested in a
workspace folder has its own); results go to `Results` as they come.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapps_lsp.config import Settings
from tapps_lsp.folders import Folder
from tapps_lsp.reports.summary import Run, Totals, counted
from tapps_lsp.review import heap
from tapps_lsp.review.model import Review
from tapps_lsp.review.project import project_root
from tapps_lsp.scans.results import Intake, Results, file_uri
from tapps_lsp.scans.state import LastScan
from tapps_lsp.server import TappsLanguageServer
from tapps_lsp.tasks import Outcome, ProgressSink, Task
from tapps_lsp.tasks.lsp_progress import open_progress

TITLE = "Reviewing workspace"


@dataclass
class Plan:
    """The files of one project of a workspace folder, with that project's settings."""

    project: Folder
    settings: Settings
    paths: list[str]


@dataclass
class Tally:
    """Where each result of a review goes: the intake, the summary's totals, and the
    task's progress (a scan). The reviews themselves are kept only when `reviews` is a
    list (a report being written): a scan streams them out."""

    results: Results
    intake: Intake
    task: Task | None = None
    total: int = 0
    done: int = 0
    totals: Totals = field(default_factory=Totals)
    reviews: list[Review] | None = None
    deleted: list[str] = field(default_factory=list)

    def result(self, review: Review, project: Folder) -> None:
        """One file reviewed."""
        self.totals.add(review)
        if self.reviews is not None:
            self.reviews.append(review)
        if self.task is not None:
            self.done += 1
            shown = os.path.relpath(review.path, project.root) if project.root else review.path
            self.task.progress(self.done, self.total, shown)
        self.intake.add(review, project)

    def gone(self, path: str, project: Folder) -> None:
        """One file deleted before it could be read."""
        self.deleted.append(path)
        if self.task is not None:
            self.done += 1
            self.task.progress(self.done, self.total, os.path.basename(path))
        self.results.clear(file_uri(project, path))

    @property
    def cancelled(self) -> bool:
        """Whether the scan was asked to stop."""
        return self.task is not None and self.task.cancel_requested


def describe(summary: dict[str, Any]) -> str:
    """The progress end message: files, from cache, failing the gate, mean score, seconds."""
    parts = [
        f"{counted(summary['files'], 'file')} ({summary['fromCache']} from cache)",
        f"{summary['failingGate']} failing the gate",
    ]
    if summary["meanScore"] is not None:
        parts.append(f"mean score {summary['meanScore']:.1f}")
    if summary["deleted"]:
        parts.append(f"{len(summary['deleted'])} deleted during the review")
    parts.append(f"{summary['seconds']:.1f} s")
    return ", ".join(parts)


def root_of(folder: Folder) -> Path:
    """The folder's directory; ValueError for the pseudo-folder of loose files."""
    if folder.root is None:
        raise ValueError(f"{folder.uri or 'this'} is not a local folder")
    return folder.root


def _project_roots(paths: list[str], boundary: Path) -> list[Path]:
    """Thread: the project root of each file (inside `boundary`), looked up once per folder."""
    roots: dict[str, Path] = {}
    out = []
    for path in paths:
        real = os.path.realpath(path)
        folder = os.path.dirname(real)
        root = roots.get(folder)
        if root is None:
            root = roots[folder] = project_root(real, boundary)
        out.append(root)
    return out


class ScanRunner:
    """Starts scans of workspace folders and reviews lists of their files."""

    def __init__(self, ls: TappsLanguageServer, results: Results) -> None:
        self.ls = ls
        self.results = results
        self.state = ls.scans

    def folders(self, uri: str | None) -> list[Folder]:
        """The workspace folders a review covers: the one named, or all of them."""
        folders = [f for f in self.ls.folders.values() if f.root is not None]
        if uri is not None:
            wanted = uri.rstrip("/")
            folders = [f for f in folders if f.uri.rstrip("/") == wanted]
            if not folders:
                raise ValueError(f"{uri} is not a workspace folder")
        if not folders:
            raise ValueError("there is no workspace folder to review")
        return folders

    def review_workspace(self, folder_uri: str | None) -> Task:
        """Start a scan, or return the active one that already covers the folders."""
        folders = self.folders(folder_uri)
        uris = {f.uri for f in folders}
        for task in self.state.tasks.list():
            if task.active and uris <= set(task.key.split("\n")):
                return task
        key = "\n".join(f.uri for f in folders)

        async def work(task: Task) -> Outcome:
            return await self._scan(task, folders)

        return self.state.tasks.submit(key, TITLE, work, self._open_progress)

    async def _open_progress(self, task: Task) -> ProgressSink:
        return await open_progress(self.ls, lambda: self.state.tasks.cancel(task.id))

    async def discover(self, folder: Folder) -> list[str]:
        """The files of a workspace folder that a scan covers (in a thread), as strings:
        a scan of 200,000 files holds 200,000 names."""
        from tapps_lsp.review.discovery import discover_names  # with re2: for a scan only

        settings = await self.ls.settings_of(folder)
        return await asyncio.to_thread(
            discover_names, root_of(folder), settings.exclude, warn=self.ls.warn_once
        )

    async def plan(self, folder: Folder, paths: list[str]) -> list[Plan]:
        """A workspace folder's files by the project they belong to: the folder itself, or
        a project nested in it (its own Folder and settings), in the order found."""
        root = root_of(folder)
        roots = await asyncio.to_thread(_project_roots, paths, root)
        groups: dict[Path, tuple[Folder, list[str]]] = {}
        for path, project_dir in zip(paths, roots, strict=True):
            if project_dir not in groups:
                project = (
                    folder if project_dir == root else self.ls.project_folder(folder, project_dir)
                )
                groups[project_dir] = (project, [])
            groups[project_dir][1].append(path)
        return [
            Plan(project, await self.ls.settings_of(project), files)
            for project, files in groups.values()
        ]

    async def review(
        self, plans: list[Plan], task: Task | None = None, *, keep: bool = False
    ) -> Tally:
        """Review the plans' files; each result goes to `Results` as it comes.

        With a task (a scan): progress, cancellation, and the files of an earlier scan
        that this one no longer finds are cleared. `keep`: the tally keeps the reviews.
        """
        tally = Tally(self.results, Intake(self.results.absorb), task)
        tally.total = sum(len(plan.paths) for plan in plans)
        if keep:
            tally.reviews = []
        try:
            for plan in plans:
                if tally.cancelled:
                    break
                await self._review_plan(plan, tally)
            await tally.intake.close()
        finally:
            tally.intake.cancel()
        return tally

    async def _review_plan(self, plan: Plan, tally: Tally) -> None:
        project = plan.project
        await self.ls.reviewer.review_files(
            plan.paths,
            plan.settings,
            project.root,
            on_result=lambda review: tally.result(review, project),
            cancel=tally.task.cancel_event if tally.task is not None else None,
            on_deleted=lambda path: tally.gone(path, project),
            keep=False,
        )
        if tally.task is not None and not tally.cancelled:
            self.results.forget_missing(project, set(plan.paths))

    async def reviews_of(self, folders: list[Folder]) -> list[Review]:
        """Every review a scan of `folders` gives now, in order: the cached results of
        the last scan (from the disk tier), anything changed since analysed again."""
        plans: list[Plan] = []
        for folder in folders:
            plans += await self.plan(folder, await self.discover(folder))
        tally = await self.review(plans, keep=True)
        return tally.reviews or []

    async def _scan(self, task: Task, folders: list[Folder]) -> Outcome:
        started = time.perf_counter()
        plans: list[Plan] = []
        for folder in folders:
            plans += await self.plan(folder, await self.discover(folder))
            self.state.scanned.add(folder.uri)
        total = sum(len(plan.paths) for plan in plans)
        task.progress(0, total)
        self.ls.reviewer.make_room(total)  # for the whole scan, whatever its projects
        tally = await self.review(plans, task)
        run = Run(seconds=time.perf_counter() - started, deleted=tuple(tally.deleted))
        summary = tally.totals.summary(run)
        summary["folders"] = [f.uri for f in folders]
        summary["cancelled"] = task.cancel_requested
        if not task.cancel_requested:
            self.state.last = LastScan(folders, run, root_of(folders[0]))
        if self.ls.pull_diagnostics:
            self.ls.workspace_diagnostic_refresh(None)
        # What the scan allocated is free now (it keeps no review): give it back, so the
        # server returns to about its size at rest instead of staying at the scan's peak.
        heap.release()
        return Outcome(summary, describe(summary))
