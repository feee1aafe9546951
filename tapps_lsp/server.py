"""TappsLanguageServer: the one owner of the server's state.

What the client can do (recorded by features/initialize.py: position encoding,
push or pull), the workspace folders and nested projects with their settings,
the open documents (documents.py), the reviewer and its cache (reviewer_host.py)
and the workspace scans (scans/). The transport (transport.py) runs the read
loop with this object as its session. Handlers in `features/` stay thin and
call the methods here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from tapps_lsp import __version__, client_log
from tapps_lsp.config import Settings, env_log_level
from tapps_lsp.folders import Folder, is_within, uri_to_path
from tapps_lsp.protocol import TappsProtocol
from tapps_lsp.review.positions import UTF16
from tapps_lsp.reviewer_host import ReviewerHost
from tapps_lsp.transport import run_stdio, run_tcp

if TYPE_CHECKING:
    from tapps_lsp.cache import ResultCache
    from tapps_lsp.documents import Documents
    from tapps_lsp.features.base import Feature
    from tapps_lsp.reviewer import Reviewer
    from tapps_lsp.scans.state import ScanState

log = logging.getLogger(__name__)

# Entries kept in the per-URI memo of folders before it is dropped wholesale.
MEMO_SIZE = 4096


class TappsLanguageServer(LanguageServer):
    """The server's state (client, folders, documents, reviewer) and the methods on it."""

    protocol: TappsProtocol

    def __init__(self) -> None:
        super().__init__(
            "tapps-lsp",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=TappsProtocol,
        )
        self.encoding = UTF16
        self.pull_diagnostics = False
        self.refresh_support = False
        self.markdown = True
        self.init_options: dict[str, Any] = {}
        self.folders: dict[str, Folder] = {}
        self._folder_of: dict[str, Folder] = {}
        self.loose = Folder(uri="", root=None)
        self.reviewer_host = ReviewerHost(
            lambda: self.init_options, self._jobs, self.warn_once, self.spawn
        )
        # Built on first use, like the scans' state: `initialize` is answered before the
        # modules behind them (conversion, scoring, the cache, reports) are imported.
        self._documents: Documents | None = None
        self._scans: ScanState | None = None
        self._shown: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.rule_docs: dict[str, str] = {}
        # Feature objects with a lifecycle (features/base.py), in the order setup.py gives.
        self.features: list[Feature] = []
        # Projects nested in workspace folders, by their root; `load_project_settings`
        # (features/configuration.py) reads the settings of one found on the way.
        self._projects: dict[Path, Folder] = {}
        self.load_project_settings: Callable[[Folder], Awaitable[None]] | None = None
        self.log_handler = client_log.LspLogHandler(self._send_log)

    @property
    def documents(self) -> Documents:
        """The open documents and their reviews (documents.py), built on first use."""
        if self._documents is None:
            from tapps_lsp.documents import Documents

            self._documents = Documents(self)
        return self._documents

    @property
    def scans(self) -> ScanState:
        """Workspace reviews: tasks, results of files that are not open, the last scan."""
        if self._scans is None:
            from tapps_lsp.scans.state import ScanState

            self._scans = ScanState()
        return self._scans

    # ---- transport (transport.py runs the loop; we are its Session) ------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio; exits with our status (see transport.py), not pygls's 0."""
        self._stop_event = threading.Event()
        sys.exit(run_stdio(self.protocol, self, self._stop_event, stdin, stdout))

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client on a TCP socket (see transport.run_tcp)."""
        self._stop_event = threading.Event()
        sys.exit(run_tcp(self.protocol, self, self._stop_event, host, port))

    def bind_loop(self) -> None:
        """Remember the event loop: log records from other threads are sent through it."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def connected(self) -> None:
        """A client is there: from now on our log goes to it, and only to it."""
        self.log_handler.attach()

    def send_threadsafe(self, send: Callable[[], None]) -> None:
        """Run `send` on the event loop: two threads writing stdout would mix bytes."""
        if self._loop is None or threading.get_ident() == self._loop_thread:
            send()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(send)

    def _send_log(self, params: types.LogMessageParams) -> None:
        self.send_threadsafe(lambda: self.window_log_message(params))

    async def start_features(self) -> None:
        """`initialized`: each feature's `initialized`, in order (the settings first)."""
        for feature in self.features:
            await feature.initialized()

    def end_session(self) -> None:
        """The client is gone: features shut down, log to stderr again, workers stop."""
        for feature in reversed(self.features):
            feature.shutdown()
        self.log_handler.detach()
        self.reviewer_host.close()

    # ---- workspace folders ---------------------------------------------------------

    def add_folder(self, uri: str) -> Folder:
        """Add a workspace folder (its settings are loaded by the caller)."""
        path = uri_to_path(uri)
        folder = Folder(uri=uri, root=Path(os.path.realpath(path)) if path else None)
        self.folders[uri] = folder
        self.forget_projects()
        return folder

    def remove_folder(self, uri: str) -> None:
        """Forget a workspace folder."""
        self.folders.pop(uri, None)
        self.forget_projects()

    def forget_projects(self) -> None:
        """Look the folder and project of every file up again (folders or projects changed)."""
        self._folder_of.clear()
        self._projects.clear()

    def set_log_level(self, level: str) -> None:
        """Set the package's log level by its settings name."""
        client_log.set_level(level)

    # ---- folders and settings ---------------------------------------------------

    def folder_for(self, uri: str) -> Folder:
        """The innermost workspace folder holding `uri`, else the pseudo-folder.

        Remembered per URI (until the folders change): resolving symlinks costs
        a system call per path component, on every save.
        """
        folder = self._folder_of.get(uri)
        if folder is None:
            if len(self._folder_of) >= MEMO_SIZE:
                self._folder_of.clear()
            folder = self._folder_of[uri] = self._find_folder(uri)
        return folder

    def _find_folder(self, uri: str) -> Folder:
        path = uri_to_path(uri)
        best: Folder = self.loose
        if path is None:
            return best
        real = Path(os.path.realpath(path))
        for folder in self.folders.values():
            if folder.root is not None and (
                is_within(path, folder.root) or is_within(real, folder.root)
            ):
                if best.root is None or len(folder.root.parts) > len(best.root.parts):
                    best = folder
        if best.root is None:
            return best
        from tapps_lsp.review.project import project_root  # with coverage: after `initialize`

        # The file's own project, never above the workspace folder (as `check` finds it).
        top = project_root(real, best.root)
        return best if top == best.root else self.project_folder(best, top)

    def project_folder(self, parent: Folder, root: Path) -> Folder:
        """The Folder of a project nested in a workspace folder; its settings load once."""
        folder = self._projects.get(root)
        if folder is None:
            relative = quote(os.fsencode(root.relative_to(parent.root or root).as_posix()))
            uri = parent.uri.rstrip("/") + "/" + relative
            folder = self._projects[root] = Folder(uri=uri, root=root, parent=parent)
            if self.load_project_settings is not None:
                self.spawn(self.load_project_settings(folder))
        return folder

    def inside_workspace(self, uri: str) -> Path | None:
        """The real path of `uri` when it lies inside a workspace folder, else None.

        Symlinks are resolved first, so a link pointing out of the folder is outside.
        """
        path = uri_to_path(uri)
        if path is None:
            return None
        real = Path(os.path.realpath(path))
        for folder in self.folders.values():
            if folder.root is not None and is_within(real, folder.root):
                return real
        return None

    def set_settings(self, folder: Folder, settings: Settings, problems: list[str]) -> None:
        """A folder's settings are in: record them, show their problems, set the log level."""
        from tapps_lsp.cache import fingerprint

        folder.settings = settings
        folder.fingerprint = fingerprint(settings)
        shown = json.dumps(asdict(settings), sort_keys=True) + self.encoding
        folder.view_digest = hashlib.sha256(shown.encode()).hexdigest()[:12]
        folder.loaded.set()
        for problem in problems:
            self.warn_once(problem)
        levels = [f.settings.logLevel for f in self.all_folders() if f.settings]
        if "TAPPS_LSP_LOG_LEVEL" in os.environ:
            # Set where the server is started, to look closer: settings do not quiet it.
            levels.append(env_log_level())
        self.set_log_level(client_log.most_verbose(levels))

    def all_folders(self) -> list[Folder]:
        """Workspace folders, nested projects and the pseudo-folder for loose files."""
        return [*self.folders.values(), *self._projects.values(), self.loose]

    async def settings_of(self, folder: Folder) -> Settings:
        """The folder's settings, once they are loaded."""
        await folder.loaded.wait()
        assert folder.settings is not None
        return folder.settings

    def warn_once(self, message: str) -> None:
        """A settings problem, shown once per session (not on every re-read)."""
        if message in self._shown:
            return
        self._shown.add(message)
        log.warning(message)
        # Also called from the warm-up thread (the cache reports a broken directory).
        params = types.ShowMessageParams(
            type=types.MessageType.Warning, message=f"tapps-lsp: {message}"
        )
        self.send_threadsafe(lambda: self.window_show_message(params))

    # ---- cache and reviewer (reviewer_host.py) ----------------------------------------

    def _jobs(self) -> int:
        return self.loose.settings.jobs if self.loose.settings else 0

    @property
    def cache(self) -> ResultCache:
        """The session's result cache, opened on first use."""
        return self.reviewer_host.cache

    @property
    def reviewer(self) -> Reviewer:
        """The session's reviewer, built on first use (async paths use `ready_reviewer`)."""
        return self.reviewer_host.reviewer

    async def ready_reviewer(self) -> Reviewer:
        """The reviewer, once the warm-up thread (if started) is done with it."""
        return await self.reviewer_host.ready()

    def start_warm_up(self) -> None:
        """Build the reviewer and start its worker process in a thread."""
        self.reviewer_host.start_warm_up()

    def review_document(self, uri: str, *, refresh: bool = False) -> None:
        """Review an open document (didOpen, didSave) through `documents.review`.

        At start-up its review waits for the reviewer's worker to start. The
        document's result may be in the cache, which is open sooner: it is looked
        up then, without waiting for the worker (`_review_early`).
        """
        self.documents.review(uri, refresh=refresh)
        state = self.documents.docs.get(uri)
        if state is not None and state.task is not None and not self.reviewer_host.warm:
            self.spawn(self._review_early(uri, state.generation, refresh))

    async def _review_early(self, uri: str, generation: int, refresh: bool) -> None:
        """Once the reviewer is built, review the document again, from the cache if it can.

        Its pending review waits for the warm-up before it looks anything up: as long
        as the warm-up runs and nothing newer was asked for, it has not, so replacing it
        costs no second lookup. A miss goes to the worker as any other.
        """
        folder = self.folder_for(uri)
        settings = await self.settings_of(folder)
        reviewer = await self.reviewer_host.lookup_ready()
        if reviewer is None:
            return
        path = self.documents.path(uri)
        # The file's project (coverage data, layout) is read in a thread, as a review does.
        await asyncio.to_thread(reviewer.load_projects, [path], settings, folder.root)
        state = self.documents.docs.get(uri)
        if (
            state is not None
            and state.generation == generation
            and state.task is not None
            and not state.task.done()
            and not self.reviewer_host.warm
        ):
            self.documents.review(uri, refresh=refresh)

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """A background task that is kept alive and whose failure is logged."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())
