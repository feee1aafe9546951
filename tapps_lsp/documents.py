"""Open documents: one pending review each, and what was last delivered for it.

A review is answered from the cache within the same turn of the event loop
when it can be, else analysed in the reviewer's worker; a newer request
supersedes an older one. Results go to the client as pushed diagnostics, or,
for a pull client, as a refresh request. The server is reached through the
`DocumentHost` protocol: this module does not import it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lsprotocol import types

from tapps_lsp import convert
from tapps_lsp.config import Settings
from tapps_lsp.folders import Folder, uri_to_path
from tapps_lsp.review.positions import split_lines

if TYPE_CHECKING:
    from pygls.workspace import Workspace

    from tapps_lsp.review.model import Review
    from tapps_lsp.reviewer_host import ReviewerHost

log = logging.getLogger(__name__)

# Entries kept in the per-URI memo of review paths before it is dropped wholesale.
MEMO_SIZE = 4096


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


def result_id(review: Review, folder: Folder) -> str:
    """The cache key of the content, plus what else shapes the diagnostics.

    Settings that only change the presentation are in the folder's view
    digest; the scores (which word the gate diagnostic) in the last part.
    """
    from tapps_lsp.cache import make_key

    key = make_key(review.content_hash, folder.fingerprint, review.path)
    scores = repr((review.overall, review.passed, review.weakest, review.scores))
    return f"{key}.{folder.view_digest}.{zlib.crc32(scores.encode()):08x}"


class DocumentHost(Protocol):
    """What the documents need of the server."""

    encoding: str
    pull_diagnostics: bool
    reviewer_host: ReviewerHost

    @property
    def workspace(self) -> Workspace:
        """pygls's workspace: the open documents' text and version."""

    def folder_for(self, uri: str) -> Folder:
        """The folder whose settings apply to `uri`."""

    async def settings_of(self, folder: Folder) -> Settings:
        """The folder's settings, once loaded."""

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """A background task, kept alive and its failure logged."""

    def text_document_publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        """Push diagnostics."""

    def workspace_diagnostic_refresh(self, params: None) -> Any:
        """Ask a pull client to pull again."""


class Documents:
    """The open documents' reviews: `docs` by URI, each with its pending task and result."""

    def __init__(self, ls: DocumentHost) -> None:
        self.ls = ls
        self.docs: dict[str, DocState] = {}
        self._paths: dict[str, str] = {}

    def path(self, uri: str) -> str:
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

    def review(self, uri: str, *, refresh: bool = False) -> None:
        """Review an open document's current text: from the cache at once, else in the worker.

        A newer call supersedes an older one (its result is dropped). `refresh`
        asks a pull client to re-pull once the result is in (after a save or a
        settings change; on open and change the client pulls by itself).
        """
        doc = self.ls.workspace.text_documents.get(uri)
        if doc is None:
            return
        state = self.docs.setdefault(uri, DocState(uri))
        state.generation += 1
        self._cancel_pending(state)
        folder = self.ls.folder_for(uri)
        text, version = doc.source, doc.version
        # Until the warm-up thread has built the reviewer, reviews take the async path.
        looked_up: Settings | None = None
        path = self.path(uri)
        # The file's project (coverage data, layout) is read in a thread the first time.
        reviewer = self.ls.reviewer_host.built
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
        state.task = self.ls.spawn(
            self._review(state, state.generation, text, version, folder, refresh, looked_up)
        )

    def review_from_cache(self, uri: str) -> bool:
        """Bring an edited document's result up to date when its text is cached."""
        doc = self.ls.workspace.text_documents.get(uri)
        state = self.docs.get(uri)
        folder = self.ls.folder_for(uri)
        reviewer = self.ls.reviewer_host.built
        if doc is None or state is None or folder.settings is None or reviewer is None:
            return False
        path = self.path(uri)
        if not reviewer.project_ready(path, folder.settings, folder.root):
            return False
        review = reviewer.lookup(doc.source, path, folder.settings, folder.root)
        if review is None:
            return False
        state.generation += 1
        self._cancel_pending(state)
        self.deliver(state, review, doc.source, doc.version, folder)
        return True

    def schedule(self, uri: str, delay_ms: int) -> None:
        """Debounced review while typing: only the last keystroke's text is reviewed.

        The wait is the document's pending task, so a pull that arrives
        meanwhile is answered with the review of the text it was pulled for.
        """
        state = self.docs.setdefault(uri, DocState(uri))
        state.generation += 1
        self._cancel_pending(state)
        state.task = self.ls.spawn(self._debounced(state, state.generation, delay_ms / 1000))

    async def _debounced(self, state: DocState, generation: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if state.generation == generation:
            state.task = None  # the review below replaces this task; it must not cancel it
            self.review(state.uri)

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
        settings = await self.ls.settings_of(folder)
        reviewer = await self.ls.reviewer_host.ready()
        started = time.perf_counter()
        try:
            # Off the event loop: a project's coverage data is a workspace file like any other.
            path = self.path(state.uri)
            await asyncio.to_thread(reviewer.load_projects, [path], settings, folder.root)
            review = await reviewer.review_text(
                text,
                self.path(state.uri),
                settings,
                folder.root,
                looked_up=settings is looked_up,
            )
        except Exception as exc:  # the document keeps its last result; the next save retries
            log.error("reviewing %s failed: %s", state.uri, exc, exc_info=exc)
            return
        log.info(
            "reviewed %s in %.0f ms: %.1f/100, %d findings",
            self.path(state.uri),
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
        new_id = result_id(review, folder)
        if new_id != state.result_id:
            # The same id means the same text, settings and scores: the same diagnostics.
            state.lines = split_lines(text)
            state.diagnostics = convert.diagnostics(
                review, state.lines, self.ls.encoding, folder.settings.severityOverrides
            )
        state.review, state.text, state.version = review, text, version
        state.settings = folder.settings
        state.result_id = new_id
        if not self.ls.pull_diagnostics:
            self.ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=state.uri, diagnostics=state.diagnostics, version=version
                )
            )
        elif refresh:
            self.ls.workspace_diagnostic_refresh(None)

    async def current(self, uri: str) -> DocState | None:
        """The document's state once any pending review is in (for pulls and actions)."""
        state = self.docs.get(uri)
        while state is not None and (state.task is not None and not state.task.done()):
            await asyncio.wait([state.task])
            state = self.docs.get(uri)
        return state

    def close(self, uri: str) -> None:
        """Forget a closed document (a push client gets its diagnostics cleared)."""
        state = self.docs.pop(uri, None)
        if state is not None:
            self._cancel_pending(state)
        if not self.ls.pull_diagnostics:
            self.ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    def review_all_open(self) -> None:
        """Re-review every open document (settings changed); pull clients re-pull once."""
        for uri in list(self.ls.workspace.text_documents):
            self.review(uri)
        if self.ls.pull_diagnostics:
            self.ls.spawn(self._refresh_when_done())

    async def _refresh_when_done(self) -> None:
        pending = [s.task for s in self.docs.values() if s.task is not None]
        if pending:
            await asyncio.wait(pending)
        self.ls.workspace_diagnostic_refresh(None)
