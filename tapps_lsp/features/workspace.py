"""Workspace reviews: background scans, workspace diagnostics, watched files, reports.

`tapps.reviewWorkspace` answers with a task id at once; the scan runs as a
background task (tapps_lsp.tasks) that reports `$/progress` and can be
cancelled from the client's progress UI or with `tapps.cancelTask`. Results
reach push clients as publishDiagnostics (files with findings) and pull
clients through `workspace/diagnostic` plus a refresh. Open documents are
the editor's: a scan never overrides what the buffer's own review says.

Report paths (`tapps.exportReport`): by default the report goes to
`<cache dir>/reports/`. A client may name a path (absolute, relative to the
first workspace folder, or a `file:` URI), but only inside a workspace
folder or that reports folder, with the suffix of the format, and not onto
anything but a regular file: a client cannot make the server write over
arbitrary files. The write is atomic (temporary file + rename), so a symlink
planted after the check is replaced, never followed.

Progress always uses a token the server creates: pygls 2.1.1 hands a command
handler its arguments only, not the request's `workDoneToken`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import stat
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiofiles
import aiofiles.os
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tapps_lsp import convert
from tapps_lsp.cache import content_hash
from tapps_lsp.cache.store import default_directory
from tapps_lsp.features.configuration import load_settings
from tapps_lsp.reports import Run, render, summarize
from tapps_lsp.reports.summary import counted
from tapps_lsp.review import engine
from tapps_lsp.review.coverage import DATA_FILES as COVERAGE_FILES
from tapps_lsp.review.discovery import discover
from tapps_lsp.review.model import Review
from tapps_lsp.review.positions import split_lines
from tapps_lsp.review.project import project_root
from tapps_lsp.server import Folder, TappsLanguageServer, uri_to_path
from tapps_lsp.settings_sources import PYPROJECT, TAPPS_AGENTS
from tapps_lsp.tasks import NullSink, Outcome, ProgressSink, Task, TaskRegistry

log = logging.getLogger(__name__)

TITLE = "Reviewing workspace"
# Items per partial result of workspace/diagnostic.
PARTIAL_ITEMS = 200
# Files converted to diagnostics between two yields to the event loop (about 10-20 ms).
ABSORB_SLICE = 32
# File events closer together than this (a branch switch) become one re-review.
COALESCE_SECONDS = 0.3
# The result id of a file that is gone: its report is empty.
GONE = "gone"
EXPORT_SUFFIXES = {
    "json": (".json",),
    "markdown": (".md", ".markdown"),
    "html": (".html", ".htm"),
    "sarif": (".sarif", ".json"),
}
WATCHED = (
    "**/*.py",
    f"**/{PYPROJECT}",
    f"**/{TAPPS_AGENTS}",
    *(f"**/{name}" for name in COVERAGE_FILES),
)


@dataclass
class Entry:
    """What the client was given for a file that is not open: diagnostics and result id."""

    uri: str
    folder: str
    result_id: str
    diagnostics: list[types.Diagnostic]


@dataclass
class LastScan:
    reviews: list[Review]
    run: Run
    folder: Folder


class LspProgress:
    """`$/progress` on one token."""

    def __init__(self, ls: TappsLanguageServer, token: str) -> None:
        self._ls = ls
        self._token = token

    def begin(self, title: str, *, percentage: int, cancellable: bool) -> None:
        self._ls.work_done_progress.begin(
            self._token,
            types.WorkDoneProgressBegin(
                title=title, percentage=percentage, cancellable=cancellable
            ),
        )

    def report(self, message: str, *, percentage: int) -> None:
        self._ls.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def end(self, message: str) -> None:
        self._ls.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))


class Intake:
    """Hands scan results to `absorb` in batches, off the Reviewer's synchronous callback."""

    def __init__(self, absorb: Callable[[list[tuple[Review, Folder]]], Awaitable[None]]) -> None:
        self._absorb = absorb
        self._items: list[tuple[Review, Folder]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="tapps-intake")

    def add(self, review: Review, folder: Folder) -> None:
        self._items.append((review, folder))
        self._wake.set()

    async def close(self) -> None:
        """Wait until everything added so far is absorbed."""
        self._closed = True
        self._wake.set()
        await self._task

    def cancel(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._items:
                batch, self._items = self._items, []
                await self._absorb(batch)
            if self._closed:
                return


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


def resolve_report_path(
    fmt: str, requested: str | None, *, base: Path, allowed: list[Path], default: Path
) -> Path:
    """Where a report may be written (see the module docstring); ValueError says why not."""
    if requested is None:
        return default
    if requested.startswith("file:"):
        named = uri_to_path(requested)
        if named is None:
            raise ValueError(f"{requested} is not a local file URI")
    else:
        named = Path(requested)
    path = Path(os.path.realpath(base / named))
    if not any(path == root or root in path.parents for root in allowed):
        raise ValueError(
            f"{requested}: a report may only be written inside a workspace folder or {allowed[-1]}"
        )
    if not path.name.lower().endswith(EXPORT_SUFFIXES[fmt]):
        raise ValueError(
            f"{requested}: a {fmt} report needs one of the suffixes "
            + ", ".join(EXPORT_SUFFIXES[fmt])
        )
    if path.exists() and not path.is_file():
        raise ValueError(f"{requested} exists and is not a regular file")
    return path


def _read_source(path: str) -> str | None:
    """A file's current text as the scan workers decode it; None unless it is a regular
    file (opening a FIFO named like a source file would block the reading thread)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with open(fd, "rb") as f:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return f.read().decode("utf-8", "surrogateescape")
        except OSError:
            return None


def _read_texts(paths: Iterable[str]) -> dict[str, str]:
    texts = {}
    for path in paths:
        text = _read_source(path)
        if text is not None:
            texts[path] = text
    return texts


def _lines(text: str) -> list[str]:
    """`split_lines`, ten times faster for the usual text without CR (a warm scan converts
    the diagnostics of hundreds of files on the event loop)."""
    return text.split("\n") if "\r" not in text else split_lines(text)


def _file_uri(folder: Folder, path: str) -> str:
    """The URI of a file of the folder, spelt as the client spelt the folder.

    A file name is bytes on Linux: a name that is not UTF-8 (`caf\\xe9.py`, held
    as a lone surrogate) is percent-encoded byte for byte (`caf%E9.py`), and
    `uri_to_path` gives the same path back.
    """
    assert folder.root is not None
    try:
        relative = Path(path).relative_to(folder.root).as_posix()
    except ValueError:  # not spelt under the folder: its own URI, never an error
        return Path(os.path.abspath(path)).as_uri()
    return folder.uri.rstrip("/") + "/" + quote(os.fsencode(relative))


class WorkspaceScans:
    """The state of workspace reviews for one server."""

    def __init__(self, ls: TappsLanguageServer) -> None:
        self.ls = ls
        # A held-open workspace/diagnostic that streams a scan returns when the scan ends.
        self.tasks = TaskRegistry(log=self._log, on_finish=lambda task: self._notify())
        # Re-reviews of files changed outside the editor: quiet, never queued behind a scan.
        self.refreshes = TaskRegistry(log=self._log)
        self.entries: dict[str, Entry] = {}
        self.published: set[str] = set()
        self.scanned: set[str] = set()
        self.last: LastScan | None = None
        self._changed = asyncio.Event()
        self._pending: dict[str, types.FileChangeType] = {}
        self._flush: asyncio.TimerHandle | None = None

    @staticmethod
    def _log(level: str, message: str) -> None:
        log.log(logging.getLevelName(level.upper()), message)

    # ---- scans ----------------------------------------------------------------------

    def folders(self, uri: str | None) -> list[Folder]:
        """The workspace folders a review covers: the one named, or all of them."""
        folders = [f for f in self.ls.folders.values() if f.root is not None]
        if uri is not None:
            wanted = uri.rstrip("/")
            folders = [f for f in folders if f.uri.rstrip("/") == wanted]
            if not folders:
                raise JsonRpcInvalidParams(f"{uri} is not a workspace folder")
        if not folders:
            raise JsonRpcInvalidParams("there is no workspace folder to review")
        return folders

    def review_workspace(self, folder_uri: str | None) -> Task:
        """Start a scan, or return the active one that already covers the folders."""
        folders = self.folders(folder_uri)
        uris = {f.uri for f in folders}
        for task in self.tasks.list():
            if task.active and uris <= set(task.key.split("\n")):
                return task
        key = "\n".join(f.uri for f in folders)

        async def work(task: Task) -> Outcome:
            return await self._scan(task, folders)

        return self.tasks.submit(key, TITLE, work, self._open_progress)

    async def _open_progress(self, task: Task) -> ProgressSink:
        window = self.ls.client_capabilities.window
        if not (window and window.work_done_progress):
            return NullSink()
        token = str(uuid.uuid4())
        await self.ls.work_done_progress.create_async(token)
        loop = asyncio.get_running_loop()

        def on_cancel(future: Any) -> None:
            if future.cancelled():
                loop.call_soon_threadsafe(self.tasks.cancel, task.id)

        # pygls cancels this future on window/workDoneProgress/cancel.
        self.ls.work_done_progress.tokens[token].add_done_callback(on_cancel)
        return LspProgress(self.ls, token)

    async def _scan(self, task: Task, folders: list[Folder]) -> Outcome:
        started = time.perf_counter()
        plans = []
        for folder in folders:
            settings = await self.ls.settings_of(folder)
            assert folder.root is not None
            paths = await asyncio.to_thread(
                discover, folder.root, settings.exclude, warn=self.ls.warn_once
            )
            # Each file with the settings of its own project (nested ones have their own).
            for project, files in await self._by_project(folder, paths):
                plans.append((project, await self.ls.settings_of(project), files))
            self.scanned.add(folder.uri)
        total = sum(len(paths) for _, _, paths in plans)
        done = 0
        deleted: list[str] = []
        task.progress(0, total)
        intake = Intake(self._absorb)
        reviews: list[Review] = []
        try:
            for folder, settings, paths in plans:
                if task.cancel_requested:
                    break

                def on_result(review: Review, folder: Folder = folder) -> None:
                    nonlocal done
                    done += 1
                    assert folder.root is not None
                    task.progress(done, total, os.path.relpath(review.path, folder.root))
                    intake.add(review, folder)

                def on_deleted(path: str, folder: Folder = folder) -> None:
                    nonlocal done
                    done += 1
                    deleted.append(path)
                    task.progress(done, total, os.path.basename(path))
                    self._clear(_file_uri(folder, path))

                reviews += await self.ls.reviewer.review_files(
                    paths,
                    settings,
                    folder.root,
                    on_result=on_result,
                    cancel=task.cancel_event,
                    on_deleted=on_deleted,
                )
                if not task.cancel_requested:
                    self._forget_missing(folder, {_file_uri(folder, str(p)) for p in paths})
            await intake.close()
        finally:
            intake.cancel()
        run = Run(seconds=time.perf_counter() - started, deleted=tuple(deleted))
        summary = summarize(reviews, run)
        summary["folders"] = [f.uri for f in folders]
        summary["cancelled"] = task.cancel_requested
        if not task.cancel_requested:
            self.last = LastScan(reviews, run, folders[0])
        if self.ls.pull_diagnostics:
            self.ls.workspace_diagnostic_refresh(None)
        return Outcome(summary, describe(summary))

    # ---- the diagnostics of files that are not open ---------------------------------

    async def _absorb(self, batch: list[tuple[Review, Folder]]) -> None:
        """Convert a batch of reviews into diagnostics against the text they were made for.

        A file whose result id the client already has is skipped before its text is
        read: a warm re-scan converts nothing.
        """
        fresh = []
        for review, folder in batch:
            uri = _file_uri(folder, review.path)
            if uri in self.ls.workspace.text_documents:
                # The buffer's own review is what the client shows; closing it clears that.
                self.published.discard(uri)
                continue
            result_id = self._result_id(review, folder)
            old = self.entries.get(uri)
            shown = self.ls.pull_diagnostics or not old or not old.diagnostics
            if old and old.result_id == result_id and (shown or uri in self.published):
                continue
            fresh.append((review, folder, uri, result_id))
        wanted = [review.path for review, *_ in fresh if review.findings and review.content_hash]
        texts = await asyncio.to_thread(_read_texts, wanted) if wanted else {}
        for count, (review, folder, uri, result_id) in enumerate(fresh, 1):
            if count % ABSORB_SLICE == 0:
                await asyncio.sleep(0)  # let a save or a progress report through
            diagnostics: list[types.Diagnostic] = []
            if review.findings:
                lines = [""]  # a file skipped unread: its notice sits on line 0
                if review.content_hash:
                    text = texts.get(review.path)
                    if text is None or content_hash(text) != review.content_hash:
                        # Changed or gone since it was reviewed: the watcher brings it back.
                        continue
                    lines = _lines(text)
                assert folder.settings is not None
                diagnostics = convert.diagnostics(
                    review, lines, self.ls.encoding, folder.settings.severityOverrides
                )
            self._store(Entry(uri, folder.uri, result_id, diagnostics))
        if fresh:
            self._notify()

    def _result_id(self, review: Review, folder: Folder) -> str:
        if review.content_hash:
            return self.ls.result_id(review, folder)
        # Skipped unread (unreadable, too large): no content hash; the notice is the result.
        notice = hashlib.sha256((review.result.skipped or "").encode()).hexdigest()[:16]
        return f"skipped.{notice}.{folder.view_digest}"

    def _store(self, entry: Entry) -> None:
        old = self.entries.get(entry.uri)
        self.entries[entry.uri] = entry
        if self.ls.pull_diagnostics:
            return
        unchanged = old is not None and old.result_id == entry.result_id
        if entry.diagnostics and not (unchanged and entry.uri in self.published):
            self.published.add(entry.uri)
            self._publish(entry.uri, entry.diagnostics)
        elif not entry.diagnostics and entry.uri in self.published:
            self.published.discard(entry.uri)
            self._publish(entry.uri, [])

    def _publish(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        self.ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )

    def _clear(self, uri: str) -> None:
        """A file is gone: its diagnostics go too (pull: an empty report under GONE)."""
        entry = self.entries.get(uri)
        if entry is None or entry.result_id == GONE:
            return
        self._store(Entry(uri, entry.folder, GONE, []))
        self._notify()

    def _forget_missing(self, folder: Folder, present: set[str]) -> None:
        """Files of an earlier scan that this one did not find (deleted, now excluded)."""
        for uri, entry in list(self.entries.items()):
            if entry.folder == folder.uri and uri not in present:
                self._clear(uri)

    def _notify(self) -> None:
        """Wake every held-open workspace/diagnostic request."""
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def scanning(self) -> bool:
        return any(task.active for task in self.tasks.list())

    def _reports(
        self, known: dict[str, str], *, changed_only: bool
    ) -> list[types.WorkspaceDocumentDiagnosticReport]:
        reports: list[types.WorkspaceDocumentDiagnosticReport] = []
        for uri, entry in self.entries.items():
            if uri in self.ls.workspace.text_documents:
                continue  # open documents are pulled one by one
            if known.get(uri) == entry.result_id:
                if not changed_only:
                    reports.append(
                        types.WorkspaceUnchangedDocumentDiagnosticReport(
                            uri=uri, result_id=entry.result_id, version=None
                        )
                    )
                continue
            reports.append(
                types.WorkspaceFullDocumentDiagnosticReport(
                    uri=uri, items=entry.diagnostics, version=None, result_id=entry.result_id
                )
            )
        return reports

    async def workspace_diagnostic(
        self, params: types.WorkspaceDiagnosticParams
    ) -> types.WorkspaceDiagnosticReport:
        """Reports for every reviewed file; held open until there is something new.

        With a partialResultToken, what is new is streamed as partial results
        (during a scan, until it ends) and the final response is empty.
        """
        known = {p.uri: p.value for p in params.previous_result_ids}
        token = params.partial_result_token
        streamed = False
        while True:
            wake = self._changed
            changed = self._reports(known, changed_only=True)
            if changed and token is None:
                return types.WorkspaceDiagnosticReport(
                    items=self._reports(known, changed_only=False)
                )
            if changed and token is not None:
                for start in range(0, len(changed), PARTIAL_ITEMS):
                    self.ls.progress(
                        types.ProgressParams(
                            token=token,
                            value=types.WorkspaceDiagnosticReportPartialResult(
                                items=changed[start : start + PARTIAL_ITEMS]
                            ),
                        )
                    )
                for report in changed:
                    known[report.uri] = report.result_id or ""
                streamed = True
            if streamed and not self.scanning:
                return types.WorkspaceDiagnosticReport(items=[])
            await wake.wait()

    # ---- files changed outside the editor -------------------------------------------

    async def watch_files(self) -> None:
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
        for change in changes:
            self._pending[change.uri] = change.type
        if self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(COALESCE_SECONDS, self._start_refresh)

    def _start_refresh(self) -> None:
        self._flush = None
        # An active refresh takes the new changes before it ends (see _refresh).
        self.refreshes.submit("watched files", "Reviewing changed files", self._refresh)

    async def _refresh(self, task: Task) -> Outcome:
        reviewed = 0
        while self._pending:
            changes, self._pending = self._pending, {}
            reviewed += await self._apply(changes)
        return Outcome({"files": reviewed}, f"{reviewed} changed files reviewed")

    async def _apply(self, changes: dict[str, types.FileChangeType]) -> int:
        configs: dict[str, Folder] = {}
        coverage: dict[str, Folder] = {}
        sources: dict[str, tuple[Folder, list[str]]] = {}
        cleared = False
        for uri, kind in changes.items():
            folder = self.ls.folder_for(uri)  # a nested project's own Folder for its files
            path = uri_to_path(uri)
            if folder.root is None or path is None:
                continue
            top = folder.parent or folder  # the workspace folder
            if path.name == PYPROJECT and kind != types.FileChangeType.Changed:
                # A project appeared or went: files may belong to another one now.
                self.ls.forget_projects()
                configs[top.uri] = top
            elif path in (folder.root / PYPROJECT, folder.root / TAPPS_AGENTS):
                configs[folder.uri] = folder
            elif _is_coverage_data(path, folder):
                coverage[folder.uri] = folder
            elif path.suffix == ".py" and top.uri in self.scanned:
                if kind == types.FileChangeType.Deleted:
                    self._clear(uri)
                    cleared = True
                elif uri not in self.ls.workspace.text_documents:
                    sources.setdefault(top.uri, (top, []))[1].append(uri)
        for folder in configs.values():
            await load_settings(self.ls, [folder])
            coverage.pop(folder.uri, None)  # re-read below with the rest of the project
        # New coverage data: every file is re-scored, from the cache (nothing re-analysed).
        for folder in [*configs.values(), *coverage.values()]:
            self.ls.reviewer.invalidate_project(folder.root)
            self.ls.review_all_open()
            top = folder.parent or folder
            if top.uri in self.scanned:
                sources.pop(top.uri, None)  # the new scan covers them
                for task in self.tasks.list():
                    # A scan still running reviews with the old settings: start over.
                    if task.active and top.uri in task.key.split("\n"):
                        self.tasks.cancel(task.id)
                        await self.tasks.wait(task.id)
                self.review_workspace(top.uri)
        reviewed = 0
        for folder, uris in sources.values():
            reviewed += await self._review_changed(folder, set(uris))
        if (reviewed or cleared) and self.ls.pull_diagnostics:
            self.ls.workspace_diagnostic_refresh(None)  # once for the whole burst
        return reviewed

    async def _review_changed(self, folder: Folder, uris: set[str]) -> int:
        """Re-review files of a scanned folder that a workspace review would cover."""
        settings = await self.ls.settings_of(folder)
        assert folder.root is not None
        covered = await asyncio.to_thread(
            discover, folder.root, settings.exclude, warn=self.ls.warn_once
        )
        paths = [p for p in covered if _file_uri(folder, str(p)) in uris]
        intake = Intake(self._absorb)
        reviewed = 0
        try:
            for project, files in await self._by_project(folder, paths):

                def on_result(review: Review, project: Folder = project) -> None:
                    intake.add(review, project)

                def on_deleted(path: str, project: Folder = project) -> None:
                    self._clear(_file_uri(project, path))

                reviews = await self.ls.reviewer.review_files(
                    files,
                    await self.ls.settings_of(project),
                    project.root,
                    on_result=on_result,
                    on_deleted=on_deleted,
                )
                reviewed += len(reviews)
            await intake.close()
        finally:
            intake.cancel()
        return reviewed

    async def _by_project(
        self, folder: Folder, paths: list[Path]
    ) -> list[tuple[Folder, list[Path]]]:
        """A workspace folder's files by the project they belong to: the folder itself, or
        a project nested in it (its own Folder and settings), in the order found."""
        assert folder.root is not None
        roots = await asyncio.to_thread(_project_roots, paths, folder.root)
        groups: dict[Path, tuple[Folder, list[Path]]] = {}
        for path, root in zip(paths, roots, strict=True):
            if root not in groups:
                project = folder if root == folder.root else self.ls.project_folder(folder, root)
                groups[root] = (project, [])
            groups[root][1].append(path)
        return list(groups.values())

    # ---- reports --------------------------------------------------------------------

    async def export_report(self, fmt: str, requested: str | None) -> str:
        if fmt not in EXPORT_SUFFIXES:
            raise JsonRpcInvalidParams(
                f"format must be one of {', '.join(EXPORT_SUFFIXES)}, not {fmt!r}"
            )
        last = self.last
        if last is None:
            raise JsonRpcInvalidParams(
                "no workspace review has finished yet: run tapps.reviewWorkspace first"
            )
        assert last.folder.root is not None
        reports = (self.ls.cache.directory or default_directory()) / "reports"
        name = f"tapps-report-{last.folder.root.name or 'workspace'}{EXPORT_SUFFIXES[fmt][0]}"
        roots = [f.root for f in self.ls.folders.values() if f.root is not None]
        refused = getattr(self.ls.cache, "refused", None)
        if refused and requested is None:  # other users could read or redirect it there
            raise JsonRpcInvalidParams(
                f"the cache directory was refused ({refused}): give the report a path "
                "in a workspace folder"
            )
        try:
            path = resolve_report_path(
                fmt,
                requested,
                base=last.folder.root,
                allowed=[*roots, *([] if refused else [Path(os.path.realpath(reports))])],
                default=reports / name,
            )
        except ValueError as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
        run = replace(last.run, tools=engine.tool_versions())
        # SARIF reads the files for its UTF-16 columns: not on the event loop.
        text = await asyncio.to_thread(render, last.reviews, fmt, run, read_text=_read_source)
        await aiofiles.os.makedirs(path.parent, mode=0o700, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            async with aiofiles.open(temporary, "w", encoding="utf-8") as f:
                await f.write(text)
            await aiofiles.os.replace(temporary, path)
        except OSError as exc:
            if await aiofiles.os.path.exists(temporary):
                await aiofiles.os.remove(temporary)
            raise JsonRpcInvalidParams(f"cannot write {path}: {exc.strerror or exc}") from exc
        return str(path)


def _one_object(name: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """The optional single object argument of a command."""
    if not args or args[0] is None:
        return {}
    if len(args) > 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{name} takes one object argument")
    return args[0]


def _project_roots(paths: list[Path], boundary: Path) -> list[Path]:
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


def _is_coverage_data(path: Path, folder: Folder) -> bool:
    """Whether a changed file is coverage data a project of the folder may read."""
    named = folder.settings.coverageFile.strip() if folder.settings else ""
    return path.name in COVERAGE_FILES or (bool(named) and path.name == Path(named).name)


def register(server: TappsLanguageServer) -> None:
    scans = WorkspaceScans(server)
    server.initialized_hooks.append(scans.watch_files)

    @server.command("tapps.reviewWorkspace")
    def review_workspace(ls: TappsLanguageServer, *args: Any) -> dict[str, str]:
        folder = _one_object("tapps.reviewWorkspace", args).get("folder")
        if folder is not None and not isinstance(folder, str):
            raise JsonRpcInvalidParams("tapps.reviewWorkspace: folder must be a URI string")
        return {"taskId": scans.review_workspace(folder).id}

    @server.command("tapps.taskStatus")
    def task_status(ls: TappsLanguageServer, task_id: str) -> dict[str, Any]:
        task = scans.tasks.get(task_id)
        if task is None:
            raise JsonRpcInvalidParams(f"no task {task_id!r}")
        return task.to_dict()

    @server.command("tapps.cancelTask")
    def cancel_task(ls: TappsLanguageServer, task_id: str) -> dict[str, bool]:
        return {"cancelled": scans.tasks.cancel(task_id)}

    @server.command("tapps.listTasks")
    def list_tasks(ls: TappsLanguageServer) -> list[dict[str, Any]]:
        return [task.to_dict() for task in scans.tasks.list()]

    @server.command("tapps.exportReport")
    async def export_report(ls: TappsLanguageServer, *args: Any) -> str:
        options = _one_object("tapps.exportReport", args)
        fmt, path = options.get("format", "html"), options.get("path")
        if not isinstance(fmt, str) or not (path is None or isinstance(path, str)):
            raise JsonRpcInvalidParams("tapps.exportReport: format and path must be strings")
        return await scans.export_report(fmt, path)

    @server.feature(types.WORKSPACE_DIAGNOSTIC)
    async def workspace_diagnostic(
        ls: TappsLanguageServer, params: types.WorkspaceDiagnosticParams
    ) -> types.WorkspaceDiagnosticReport:
        return await scans.workspace_diagnostic(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: TappsLanguageServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        scans.files_changed(params.changes)
