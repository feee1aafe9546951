"""TappsLanguageServer: the one owner of the server's state.

Settings per workspace folder, the Reviewer (built on first use so that
`initialize` answers fast), one pending review per document, the latest
result per document (diagnostics and their result id), the negotiated
position encoding and the push/pull choice. Handlers in `features/` stay
thin and call the methods here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote, unquote_to_bytes, urlsplit

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from tapps_lsp import __version__, client_log, convert
from tapps_lsp.config import Settings, env_log_level
from tapps_lsp.protocol import TappsProtocol
from tapps_lsp.review.positions import UTF16, split_lines
from tapps_lsp.review.project import project_root
from tapps_lsp.reviewer_host import ReviewerHost
from tapps_lsp.scans.state import ScanState
from tapps_lsp.transport import run_stdio, run_tcp

if TYPE_CHECKING:
    from tapps_lsp.cache import ResultCache
    from tapps_lsp.features.base import Feature
    from tapps_lsp.review.model import Review
    from tapps_lsp.reviewer import Reviewer

log = logging.getLogger(__name__)

# Entries kept in the per-URI memos before they are dropped wholesale.
MEMO_SIZE = 4096


def uri_to_path(uri: str) -> Path | None:
    """The local path a `file:` URI names, with `..` collapsed; None for anything else.

    `%2e%2e` is decoded before collapsing, so it cannot smuggle a `..` past
    the containment check; `file://host/share` (UNC) is not local. Percent
    escapes are decoded to bytes and then to a file name as the OS does
    (`caf%E9.py` is the Linux name `caf\\xe9.py`, held as a lone surrogate).
    """
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = os.fsdecode(unquote_to_bytes(parts.path))
    if not path.startswith("/") or "\x00" in path:
        return None
    return Path(os.path.normpath(path))


def is_within(path: Path, root: Path) -> bool:
    """Whether `path` is `root` or lies below it (by path parts, no file system access)."""
    return path == root or root in path.parents


@dataclass
class Folder:
    """A workspace folder and its settings (the pseudo-folder for loose files has no root).

    A project nested in a workspace folder (a folder below it with its own
    pyproject.toml, setup.cfg, setup.py or .git) is a Folder too, with the
    workspace folder as `parent`: its files take its settings, as `check` does.
    """

    uri: str
    root: Path | None
    settings: Settings | None = None
    fingerprint: str = ""
    # Digest of everything besides content that shapes the diagnostics we send.
    view_digest: str = ""
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    parent: Folder | None = None


@dataclass
class DocState:
    """One open document: its pending review and what was last delivered for it."""

    uri: str
    generation: int = 0
    task: asyncio.Task[None] | None = None
    review: Review | None = None
    version: int | None = None
    text: str = ""
    lines: list[str] = field(default_factory=list)
    diagnostics: list[types.Diagnostic] = field(default_factory=list)
    result_id: str | None = None
    settings: Settings | None = None
    # ruff's fix-all output for the result `result_id` names: editors ask on every cursor move.
    fix_all: tuple[str, str | None] | None = None


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
        self._paths: dict[str, str] = {}
        self.loose = Folder(uri="", root=None)
        self.docs: dict[str, DocState] = {}
        self.host = ReviewerHost(lambda: self.init_options, self._jobs, self.warn_once)
        self._shown: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.rule_docs: dict[str, str] = {}
        # Feature objects with a lifecycle (features/base.py), in the order setup.py gives.
        self.features: list[Feature] = []
        # Workspace reviews: tasks, results of files that are not open, the last scan.
        self.scans = ScanState()
        # Projects nested in workspace folders, by their root; `load_project_settings`
        # (features/configuration.py) reads the settings of one found on the way.
        self._projects: dict[Path, Folder] = {}
        self.load_project_settings: Callable[[Folder], Awaitable[None]] | None = None
        self.log_handler = client_log.LspLogHandler(self._send_log)

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
        self.host.close()

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
        return self.host.cache

    @property
    def reviewer(self) -> Reviewer:
        """The session's reviewer, built on first use (async paths use `ready_reviewer`)."""
        return self.host.reviewer

    async def ready_reviewer(self) -> Reviewer:
        """The reviewer, once the warm-up thread (if started) is done with it."""
        return await self.host.ready()

    def start_warm_up(self) -> None:
        """Build the reviewer and start its worker process in a thread."""
        self.host.start_warm_up(self.spawn)

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

    # ---- reviews ----------------------------------------------------------------

    def doc_path(self, uri: str) -> str:
        """The path a document is reviewed as; an unsaved buffer gets a `.py` name."""
        known = self._paths.get(uri)
        if known is not None:
            return known
        path = uri_to_path(uri)
        if path is not None:
            name = str(path)
        else:
            name = uri.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or "untitled"
            name = name if name.endswith(".py") else f"{name}.py"
        if len(self._paths) >= MEMO_SIZE:
            self._paths.clear()
        self._paths[uri] = name
        return name

    def review_document(self, uri: str, *, refresh: bool = False) -> None:
        """Review an open document's current text: from the cache at once, else in the worker.

        A newer call supersedes an older one (its result is dropped). `refresh`
        asks a pull client to re-pull once the result is in (after a save or a
        settings change; on open and change the client pulls by itself).
        """
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return
        state = self.docs.setdefault(uri, DocState(uri))
        state.generation += 1
        self._cancel_pending(state)
        folder = self.folder_for(uri)
        text, version = doc.source, doc.version
        # Until the warm-up thread has built the reviewer, reviews take the async path.
        looked_up: Settings | None = None
        path = self.doc_path(uri)
        # The file's project (coverage data, layout) is read in a thread the first time.
        reviewer = self.host.built
        if (
            folder.settings is not None
            and reviewer is not None
            and reviewer.project_ready(path, folder.settings, folder.root)
        ):
            looked_up = folder.settings
            review = reviewer.lookup(text, path, looked_up, folder.root)
            if review is not None:
                log.debug("%s answered from the cache", review.path)
                self.deliver(state, review, text, version, folder, refresh=refresh)
                return
        state.task = self.spawn(
            self._review(state, state.generation, text, version, folder, refresh, looked_up)
        )

    def review_from_cache(self, uri: str) -> bool:
        """Bring an edited document's result up to date when its text is cached."""
        doc = self.workspace.text_documents.get(uri)
        state = self.docs.get(uri)
        folder = self.folder_for(uri)
        reviewer = self.host.built
        if doc is None or state is None or folder.settings is None or reviewer is None:
            return False
        path = self.doc_path(uri)
        if not reviewer.project_ready(path, folder.settings, folder.root):
            return False
        review = reviewer.lookup(doc.source, path, folder.settings, folder.root)
        if review is None:
            return False
        state.generation += 1
        self._cancel_pending(state)
        self.deliver(state, review, doc.source, doc.version, folder)
        return True

    def schedule_review(self, uri: str, delay_ms: int) -> None:
        """Debounced review while typing: only the last keystroke's text is reviewed.

        The wait is the document's pending task, so a pull that arrives
        meanwhile is answered with the review of the text it was pulled for.
        """
        state = self.docs.setdefault(uri, DocState(uri))
        state.generation += 1
        self._cancel_pending(state)
        state.task = self.spawn(self._debounced(state, state.generation, delay_ms / 1000))

    async def _debounced(self, state: DocState, generation: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if state.generation == generation:
            state.task = None  # the review below replaces this task; it must not cancel it
            self.review_document(state.uri)

    def _cancel_pending(self, state: DocState) -> None:
        if state.task is not None and not state.task.done():
            state.task.cancel()
        state.task = None

    async def _review(
        self,
        state: DocState,
        generation: int,
        text: str,
        version: int | None,
        folder: Folder,
        refresh: bool,
        looked_up: Settings | None = None,
    ) -> None:
        """Analyse a miss; `looked_up` names the settings its cache lookup just missed with."""
        settings = await self.settings_of(folder)
        reviewer = await self.ready_reviewer()
        started = time.perf_counter()
        try:
            # Off the event loop: a project's coverage data is a workspace file like any other.
            path = self.doc_path(state.uri)
            await asyncio.to_thread(reviewer.load_projects, [path], settings, folder.root)
            review = await reviewer.review_text(
                text,
                self.doc_path(state.uri),
                settings,
                folder.root,
                looked_up=settings is looked_up,
            )
        except Exception as exc:  # the document keeps its last result; the next save retries
            log.error("reviewing %s failed: %s", state.uri, exc, exc_info=exc)
            return
        log.info(
            "reviewed %s in %.0f ms: %.1f/100, %d findings",
            self.doc_path(state.uri),
            (time.perf_counter() - started) * 1000,
            review.overall,
            len(review.findings),
        )
        # Stale: a newer review was asked for while this one ran, or the document closed.
        if state.generation != generation or self.docs.get(state.uri) is not state:
            return
        self.deliver(state, review, text, version, folder, refresh=refresh)

    def deliver(
        self,
        state: DocState,
        review: Review,
        text: str,
        version: int | None,
        folder: Folder,
        *,
        refresh: bool = False,
    ) -> None:
        """Store a document's new result and hand it to the client (push or refresh)."""
        assert folder.settings is not None
        result_id = self.result_id(review, folder)
        if result_id != state.result_id:
            # The same id means the same text, settings and scores: the same diagnostics.
            state.lines = split_lines(text)
            state.diagnostics = convert.diagnostics(
                review, state.lines, self.encoding, folder.settings.severityOverrides
            )
        state.review, state.text, state.version = review, text, version
        state.settings = folder.settings
        state.result_id = result_id
        if not self.pull_diagnostics:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=state.uri, diagnostics=state.diagnostics, version=version
                )
            )
        elif refresh:
            self.workspace_diagnostic_refresh(None)

    def result_id(self, review: Review, folder: Folder) -> str:
        """The cache key of the content, plus what else shapes the diagnostics.

        Settings that only change the presentation are in the folder's view
        digest; the scores (which word the gate diagnostic) in the last part.
        """
        from tapps_lsp.cache import make_key

        key = make_key(review.content_hash, folder.fingerprint, review.path)
        scores = repr((review.overall, review.passed, review.weakest, review.scores))
        return f"{key}.{folder.view_digest}.{zlib.crc32(scores.encode()):08x}"

    async def current(self, uri: str) -> DocState | None:
        """The document's state once any pending review is in (for pulls and actions)."""
        state = self.docs.get(uri)
        while state is not None and (state.task is not None and not state.task.done()):
            await asyncio.wait([state.task])
            state = self.docs.get(uri)
        return state

    def close_document(self, uri: str) -> None:
        """Forget a closed document (a push client gets its diagnostics cleared)."""
        state = self.docs.pop(uri, None)
        if state is not None:
            self._cancel_pending(state)
        if not self.pull_diagnostics:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    def review_all_open(self) -> None:
        """Re-review every open document (settings changed); pull clients re-pull once."""
        for uri in list(self.workspace.text_documents):
            self.review_document(uri)
        if self.pull_diagnostics:
            self.spawn(self._refresh_when_done())

    async def _refresh_when_done(self) -> None:
        pending = [s.task for s in self.docs.values() if s.task is not None]
        if pending:
            await asyncio.wait(pending)
        self.workspace_diagnostic_refresh(None)
