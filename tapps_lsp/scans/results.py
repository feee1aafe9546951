"""Scan results of files that are not open: converted to diagnostics, pushed or stored.

Results reach push clients as publishDiagnostics (files with findings) and
pull clients through `workspace/diagnostic` (scans/pull.py). Open documents
are the editor's: a scan never overrides what the buffer's own review says.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from urllib.parse import quote

from lsprotocol import types

from tapps_lsp import convert, documents
from tapps_lsp.cache import content_hash
from tapps_lsp.folders import Folder, uri_to_path
from tapps_lsp.review.model import Review
from tapps_lsp.review.positions import split_lines
from tapps_lsp.safe_io import read_source_text
from tapps_lsp.scans.state import GONE, Entry
from tapps_lsp.server import TappsLanguageServer

# Files converted to diagnostics between two yields to the event loop (about 10-20 ms).
ABSORB_SLICE = 32

# A result on its way to the client: the review, its project, its URI and result id.
Fresh = tuple[Review, Folder, str, str]


class Intake:
    """Hands scan results to `absorb` in batches, off the Reviewer's synchronous callback."""

    def __init__(self, absorb: Callable[[list[tuple[Review, Folder]]], Awaitable[None]]) -> None:
        self._absorb = absorb
        self._items: list[tuple[Review, Folder]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="tapps-intake")

    def add(self, review: Review, folder: Folder) -> None:
        """Queue one result (called from the Reviewer's callback, on the loop)."""
        self._items.append((review, folder))
        self._wake.set()

    async def close(self) -> None:
        """Wait until everything added so far is absorbed."""
        self._closed = True
        self._wake.set()
        await self._task

    def cancel(self) -> None:
        """Stop absorbing (what is still queued is dropped)."""
        self._task.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._drain()
            if self._closed:
                return

    async def _drain(self) -> None:
        while self._items:
            batch, self._items = self._items, []
            await self._absorb(batch)


def read_source(path: str) -> str | None:
    """A file's current text as the scan workers decode it; None unless it is a regular
    file (opening a FIFO named like a source file would block the reading thread)."""
    try:
        return read_source_text(path)
    except OSError:
        return None


def _read_texts(paths: Iterable[str]) -> dict[str, str]:
    texts = {}
    for path in paths:
        text = read_source(path)
        if text is not None:
            texts[path] = text
    return texts


async def _texts_of(fresh: list[Fresh]) -> dict[str, str]:
    """The current text of each reviewed file with findings (in a thread)."""
    wanted = [review.path for review, *_ in fresh if review.findings and review.content_hash]
    return await asyncio.to_thread(_read_texts, wanted) if wanted else {}


def _lines(text: str) -> list[str]:
    """`split_lines`, ten times faster for the usual text without CR (a warm scan converts
    the diagnostics of hundreds of files on the event loop)."""
    return text.split("\n") if "\r" not in text else split_lines(text)


def file_uri(folder: Folder, path: str) -> str:
    """The URI of a file of the folder, spelt as the client spelt the folder.

    A file name is bytes on Linux: a name that is not UTF-8 (`caf\\xe9.py`, held
    as a lone surrogate) is percent-encoded byte for byte (`caf%E9.py`), and
    `uri_to_path` gives the same path back.
    """
    if folder.root is None:
        return Path(os.path.abspath(path)).as_uri()
    try:
        relative = Path(path).relative_to(folder.root).as_posix()
    except ValueError:  # not spelt under the folder: its own URI, never an error
        return Path(os.path.abspath(path)).as_uri()
    return folder.uri.rstrip("/") + "/" + quote(os.fsencode(relative))


class Results:
    """The diagnostics of files that are not open, kept in `ls.scans.entries`."""

    def __init__(self, ls: TappsLanguageServer) -> None:
        self.ls = ls
        self.state = ls.scans

    async def absorb(self, batch: list[tuple[Review, Folder]]) -> None:
        """Convert a batch of reviews into diagnostics against the text they were made for.

        A file whose result id the client already has is skipped before its text is
        read: a warm re-scan converts nothing.
        """
        fresh = [item for item in map(self._fresh, batch) if item is not None]
        texts = await _texts_of(fresh)
        for count, (review, folder, uri, result_id) in enumerate(fresh, 1):
            if count % ABSORB_SLICE == 0:
                await asyncio.sleep(0)  # let a save or a progress report through
            diagnostics = self._diagnostics(review, folder, texts)
            if diagnostics is not None:
                self._store(Entry(uri, folder.uri, result_id, diagnostics, len(diagnostics)))
        if fresh:
            self.state.notify()

    def _fresh(self, item: tuple[Review, Folder]) -> Fresh | None:
        """The result with its URI and id, unless the client has it or the file is open."""
        review, folder = item
        uri = file_uri(folder, review.path)
        if uri in self.ls.workspace.text_documents:
            # The buffer's own review is what the client shows; closing it clears that.
            self.state.published.discard(uri)
            return None
        result_id = self.result_id(review, folder)
        old = self.state.entries.get(uri)
        if old is None and not review.findings:
            return None  # nothing to show, and nothing shown before
        shown = self.ls.pull_diagnostics or not old or not old.count
        if old and old.result_id == result_id and (shown or uri in self.state.published):
            return None
        return review, folder, uri, result_id

    def _diagnostics(
        self, review: Review, folder: Folder, texts: dict[str, str]
    ) -> list[types.Diagnostic] | None:
        """A result's diagnostics; None when the file changed or went since its review."""
        if not review.findings:
            return []
        lines = [""]  # a file skipped unread: its notice sits on line 0
        if review.content_hash:
            text = texts.get(review.path)
            if text is None or content_hash(text) != review.content_hash:
                return None  # the watcher brings it back
            lines = _lines(text)
        settings = folder.settings
        overrides = settings.severityOverrides if settings is not None else {}
        return convert.diagnostics(review, lines, self.ls.encoding, overrides)

    def result_id(self, review: Review, folder: Folder) -> str:
        """The result id of a file's diagnostics (see `documents.result_id`)."""
        if review.content_hash:
            return documents.result_id(review, folder)
        # Skipped unread (unreadable, too large): no content hash; the notice is the result.
        notice = hashlib.sha256((review.result.skipped or "").encode()).hexdigest()[:16]
        return f"skipped.{notice}.{folder.view_digest}"

    def _store(self, entry: Entry) -> None:
        """Keep (pull) or publish (push) a file's diagnostics; a file without any keeps
        no entry, but for a pull client's empty report replacing one it was given."""
        entries = self.state.entries
        old = entries.get(entry.uri)
        if self.ls.pull_diagnostics:
            if entry.count or old is not None:
                entries[entry.uri] = entry
            return
        published = self.state.published
        unchanged = old is not None and old.result_id == entry.result_id
        if entry.count and not (unchanged and entry.uri in published):
            published.add(entry.uri)
            self._publish(entry.uri, entry.diagnostics)
        elif not entry.count and entry.uri in published:
            published.discard(entry.uri)
            self._publish(entry.uri, [])
        if entry.count:
            # The client holds them now: what is kept is the id and the count.
            entries[entry.uri] = Entry(entry.uri, entry.folder, entry.result_id, [], entry.count)
        else:
            entries.pop(entry.uri, None)

    def _publish(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        self.ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )

    def clear(self, uri: str) -> None:
        """A file is gone: its diagnostics go too (pull: an empty report under GONE)."""
        entry = self.state.entries.get(uri)
        if entry is None or entry.result_id == GONE:
            return
        self._store(Entry(uri, entry.folder, GONE, []))
        self.state.notify()

    def forget_missing(self, folder: Folder, present: set[str]) -> None:
        """Files of an earlier scan (paths in `present`) that this one did not find
        (deleted, now excluded)."""
        for uri, entry in list(self.state.entries.items()):
            if entry.folder == folder.uri and str(uri_to_path(uri)) not in present:
                self.clear(uri)
