"""TappsLanguageServer: the one owner of the server's state.

Settings per workspace folder, the Reviewer (built on first use so that
`initialize` answers fast), one pending review per document, the latest
result per document (diagnostics and their result id), the negotiated
position encoding and the push/pull choice. Handlers in `features/` stay
thin and call the methods here.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import ipaddress
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

from tapps_lsp import __version__, convert
from tapps_lsp.config import Settings, env_log_level
from tapps_lsp.protocol import StdoutWriter, TappsProtocol, claim_stdio, serve, stdin_reader
from tapps_lsp.review.positions import UTF16, split_lines
from tapps_lsp.review.project import project_root

if TYPE_CHECKING:
    from tapps_lsp.cache import ResultCache
    from tapps_lsp.review.model import Review
    from tapps_lsp.reviewer import Reviewer

log = logging.getLogger("tapps_lsp")

# Entries kept in the per-URI memos before they are dropped wholesale.
MEMO_SIZE = 4096
# Scan workers run this much below the server's CPU priority (nice): a background
# "Review all" leaves the cores to the event loop, saves and the user's programs
# first. With the machine otherwise idle it still gets every core.
SCAN_NICENESS = 10

LOG_LEVELS = {
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}
MESSAGE_TYPES = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
    logging.DEBUG: types.MessageType.Log,
}


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


class LspLogHandler(logging.Handler):
    """Forwards `tapps_lsp` log records to the client as window/logMessage."""

    def __init__(self, server: TappsLanguageServer):
        super().__init__()
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            kind = MESSAGE_TYPES.get(record.levelno, types.MessageType.Log)
            self.server.send_threadsafe(
                lambda: self.server.window_log_message(
                    types.LogMessageParams(type=kind, message=message)
                )
            )
        except Exception:  # a log call must never break the server
            self.handleError(record)


class TappsLanguageServer(LanguageServer):
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
        self._cache: ResultCache | None = None
        self._reviewer: Reviewer | None = None
        # The reviewer and cache are built by the warm-up thread or, if needed first, on the
        # loop; the cache has its own lock so that cacheStats need not wait for the worker.
        self._build_lock = threading.RLock()
        self._cache_lock = threading.Lock()
        self._warm_up: asyncio.Future[None] | None = None
        self._closed = False
        self._shown: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.rule_docs: dict[str, str] = {}
        # Awaited once the settings are loaded on `initialized` (dynamic registrations).
        self.initialized_hooks: list[Callable[[], Awaitable[None]]] = []
        # Projects nested in workspace folders, by their root; `load_project_settings`
        # (features/configuration.py) reads the settings of one found on the way.
        self._projects: dict[Path, Folder] = {}
        self.load_project_settings: Callable[[Folder], Awaitable[None]] | None = None
        self.log_handler = LspLogHandler(self)
        self.log_handler.setFormatter(logging.Formatter("%(message)s"))

    # ---- transport ----------------------------------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio; exits with our status (see protocol.py), not pygls's 0."""
        if stdin is None or stdout is None:
            stdin, stdout = claim_stdio()
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))
        sys.exit(asyncio.run(self._serve_stdio(stdin)))

    async def _serve_stdio(self, stdin: BinaryIO) -> int:
        self._bind_loop()
        self._connected()
        reader = await stdin_reader(stdin)
        assert self._stop_event is not None
        try:
            return await serve(reader, self.protocol, self._stop_event)
        finally:
            self._close()

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client on a TCP socket (the editor connects to us).

        The first connection is the client. Any later one is closed at once and
        logged: a second client would take over the replies (they go to the
        latest writer) and could run commands as the user. The session ends
        when the client goes away. A host that is not a loopback address is
        reachable from other machines: that is warned about.
        """
        self._stop_event = stop_event = threading.Event()
        done: asyncio.Future[int] | None = None
        client: list[str] = []

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = _peer(writer)
            if client:
                log.warning(
                    "refused a connection from %s: this server has its client (%s); "
                    "start another server for another editor",
                    peer,
                    client[0],
                )
                writer.close()
                return
            client.append(peer)
            log.info("client connected from %s", peer)
            self.protocol.set_writer(_SocketWriter(writer))
            self._connected()
            status = await serve(reader, self.protocol, stop_event)
            if done is not None and not done.done():
                done.set_result(status)

        async def main() -> int:
            nonlocal done
            self._bind_loop()
            done = asyncio.get_running_loop().create_future()
            if not is_loopback(host):
                log.warning(
                    "listening on %s, which other machines can reach: whoever connects "
                    "first is the client and can read files and run commands as you. "
                    "Use 127.0.0.1 (the default) unless the network is yours alone.",
                    host or "every address",
                )
            server = await asyncio.start_server(connection, host, port, limit=2**28)
            log.info("serving on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
            async with server:
                try:
                    return await done
                finally:
                    self._close()

        sys.exit(asyncio.run(main()))

    def _bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def _connected(self) -> None:
        """A client is there: from now on our log goes to it, and only to it.

        Each record reaches the client once, as window/logMessage with its own
        level. Not also on stderr: clients show a server's stderr as errors (VS
        Code's output channel logged every review twice, once as a red
        `[error]`). Stderr keeps what comes before the session and after it.
        """
        logger = logging.getLogger("tapps_lsp")
        logger.addHandler(self.log_handler)
        logger.propagate = False

    def send_threadsafe(self, send: Callable[[], None]) -> None:
        """Run `send` on the event loop: two threads writing stdout would mix bytes."""
        if self._loop is None or threading.get_ident() == self._loop_thread:
            send()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(send)

    def _close(self) -> None:
        logger = logging.getLogger("tapps_lsp")
        logger.removeHandler(self.log_handler)
        logger.propagate = True
        # Under the lock: a warm-up still running must not start a worker after this.
        with self._build_lock:
            self._closed = True
            if self._reviewer is not None:
                self._reviewer.shutdown()
                self._reviewer = None
        with self._cache_lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    # ---- initialisation ---------------------------------------------------------

    def on_initialize(self, params: types.InitializeParams, encoding: str) -> None:
        """Record what the client can do; called before pygls builds our capabilities."""
        caps = params.capabilities
        self.encoding = encoding
        text_document = caps.text_document
        workspace = caps.workspace
        self.refresh_support = bool(
            workspace and workspace.diagnostics and workspace.diagnostics.refresh_support
        )
        # Pull only when we can also ask for a re-pull: Neovim 0.11 pulls on open
        # and change but not on save and has no refresh, so it would keep showing
        # results from before the save. Such clients get push.
        self.pull_diagnostics = bool(
            text_document and text_document.diagnostic and self.refresh_support
        )
        hover = text_document.hover if text_document else None
        formats = (hover.content_format if hover else None) or []
        self.markdown = not formats or types.MarkupKind.Markdown in formats
        options = params.initialization_options
        if isinstance(options, dict):
            nested = options.get("tapps")
            self.init_options = dict(nested if isinstance(nested, dict) else options)
        level = self.init_options.get("logLevel", env_log_level())
        self.set_log_level(level if isinstance(level, str) else env_log_level())
        self.loose = Folder(uri="", root=None)
        for folder in params.workspace_folders or []:
            self.add_folder(folder.uri)
        if not params.workspace_folders and params.root_uri:
            self.add_folder(params.root_uri)

    def add_folder(self, uri: str) -> Folder:
        path = uri_to_path(uri)
        folder = Folder(uri=uri, root=Path(os.path.realpath(path)) if path else None)
        self.folders[uri] = folder
        self.forget_projects()
        return folder

    def remove_folder(self, uri: str) -> None:
        self.folders.pop(uri, None)
        self.forget_projects()

    def forget_projects(self) -> None:
        """Look the folder and project of every file up again (folders or projects changed)."""
        self._folder_of.clear()
        self._projects.clear()

    def set_log_level(self, level: str) -> None:
        logging.getLogger("tapps_lsp").setLevel(LOG_LEVELS.get(level, logging.INFO))

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
        self.set_log_level(min(levels, key=lambda name: LOG_LEVELS.get(name, logging.INFO)))

    def all_folders(self) -> list[Folder]:
        return [*self.folders.values(), *self._projects.values(), self.loose]

    async def settings_of(self, folder: Folder) -> Settings:
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

    # ---- cache and reviewer -----------------------------------------------------

    @property
    def cache(self) -> ResultCache:
        if self._cache is None:
            with self._cache_lock:
                if self._cache is None:
                    from tapps_lsp.cache.remote import open_cache

                    # The team cache only from the user: environment, initializationOptions.
                    self._cache = open_cache(user=self.init_options, warn=self.warn_once)
        return self._cache

    @property
    def reviewer(self) -> Reviewer:
        """Built on first use: initialize must not wait for the cache or worker processes.

        Async paths use `ready_reviewer()`, which waits for the warm-up thread
        instead of blocking the loop on the lock while that thread builds it.
        """
        if self._reviewer is None:
            with self._build_lock:
                if self._reviewer is None:
                    from tapps_lsp.reviewer import Reviewer

                    jobs = self.loose.settings.jobs if self.loose.settings else 0
                    self._reviewer = Reviewer(
                        self.cache, jobs=jobs, log=self._reviewer_log, scan_niceness=SCAN_NICENESS
                    )
        return self._reviewer

    def start_warm_up(self) -> None:
        """Build the reviewer and start its worker process in a thread.

        Importing the engine, opening the cache and starting the forkserver
        take 0.3-1 s; on the event loop they held up every request of the
        session's first second. A review asked for meanwhile waits for the
        warm-up in `ready_reviewer()`.
        """
        if self._warm_up is None:
            self._warm_up = self.spawn(self._warm())

    async def _warm(self) -> None:
        await asyncio.to_thread(self._warm_in_thread)
        # What start-up imported lives as long as the process: out of the collector's
        # sight, a full collection no longer walks it in the middle of a save.
        gc.freeze()

    def _warm_in_thread(self) -> None:
        with self._build_lock:
            if not self._closed:
                self.reviewer.warm()

    async def ready_reviewer(self) -> Reviewer:
        """The reviewer, once the warm-up thread (if started) is done with it.

        Its worker pool is created lazily: never from two threads at once.
        """
        if self._warm_up is not None and not self._warm_up.done():
            await asyncio.wait([self._warm_up])
        return self.reviewer

    def _reviewer_log(self, level: str, message: str) -> None:
        log.log(LOG_LEVELS.get(level, logging.INFO), message)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
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
        if (
            folder.settings is not None
            and self._reviewer is not None
            and self._reviewer.project_ready(path, folder.settings, folder.root)
        ):
            looked_up = folder.settings
            review = self._reviewer.lookup(text, path, looked_up, folder.root)
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
        if doc is None or state is None or folder.settings is None or self._reviewer is None:
            return False
        path = self.doc_path(uri)
        if not self._reviewer.project_ready(path, folder.settings, folder.root):
            return False
        review = self._reviewer.lookup(doc.source, path, folder.settings, folder.root)
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


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


class _SocketWriter:
    def __init__(self, writer: asyncio.StreamWriter):
        self._writer = writer

    def close(self) -> None:
        self._writer.close()

    def write(self, data: bytes) -> None:
        self._writer.write(data)
