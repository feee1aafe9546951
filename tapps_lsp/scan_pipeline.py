"""A scan: many files reviewed in three stages, cheapest first.

1. The stat index: unchanged files are recognised by their stamp (path, size,
   mtime, ctime, inode, device, as git does) and served from the cache
   without being read.
2. Hashes: files the index does not know are read and hashed in a thread and
   may still be cache hits.
3. Analysis: the rest go to a `SupervisedPool` of scan workers in chunks (one
   ruff run per chunk) and are read inside the workers.

Each stage works in slices whose disk reads happen in a thread while the event
loop scores and delivers the slice before, and checks the cancel between them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from tapps_lsp.cache import ResultCache, fingerprint, make_key
from tapps_lsp.cache.store import stamp_of
from tapps_lsp.config import Settings
from tapps_lsp.review import worker
from tapps_lsp.review.model import FileResult, Review
from tapps_lsp.review.skips import skipped_result
from tapps_lsp.supervised_pool import ChunkQueue, SupervisedPool

log = logging.getLogger(__name__)

# Reasons given to files that were not analysed for a reason of the file system.
UNREADABLE = "File skipped: cannot be read"
CRASHED = "File skipped: its analysis stopped the worker process"

# A file modified this recently might be modified again within the file
# system's timestamp granularity with the same size: its stat entry is not
# trusted (git's "racily clean" rule).
_RACY_NS = 2_000_000_000
# How many files the event loop handles before it lets other work run (a warm scan
# after a restart spends up to 1 ms a file on disk-tier lookups: slices of <= ~30 ms).
_SLICE = 32
# How many files one trip to the reading thread reads (a few ms of work).
_READ_SLICE = 256

# A file as the stat index knows it: path, the error of its stat, its content hash
# ("" when the index does not know it) and its cached result.
_Known = tuple[str, OSError | None, str, dict[str, Any] | None]


class Scorer(Protocol):
    """What a scan needs of the reviewer: the cache, projects, scoring and worker pools."""

    cache: ResultCache
    jobs: int

    def load_projects(self, paths: Iterable[str], settings: Settings, root: Path | None) -> None:
        """Thread: build the project contexts of `paths`."""
        ...

    def reviewed(
        self,
        data: dict[str, Any] | None,
        digest: str,
        fp: str,
        path: str,
        settings: Settings,
        root: Path | None,
        *,
        remember: bool = True,
    ) -> Review | None:
        """The review of a cached result, None when there is none."""
        ...

    def score(
        self,
        result: FileResult,
        path: str,
        settings: Settings,
        root: Path | None,
        *,
        digest: str = "",
        fp: str = "",
        remember: bool = True,
    ) -> Review:
        """The review of a result (remembered for the path unless `remember` is False)."""
        ...

    def scan_pool(self, workers: int) -> SupervisedPool:
        """A new pool of scan workers."""
        ...


def _is_set(event: asyncio.Event | None) -> bool:
    return event is not None and event.is_set()


class ScanPipeline:
    """One `Reviewer.review_files` call: its stages, its pool and its results."""

    def __init__(
        self,
        host: Scorer,
        settings: Settings,
        root: Path | None,
        *,
        on_result: Callable[[Review], None] | None = None,
        on_deleted: Callable[[str], None] | None = None,
        keep: bool = True,
    ) -> None:
        """A scan of files under `root` with `settings`, scored and cached through `host`;
        `keep`: the reviews are kept and returned by `run` (else only counted)."""
        self._host = host
        self._cache = host.cache
        self._settings = settings
        self._root = root
        self._fp = fingerprint(settings)
        self._on_result = on_result
        self._on_deleted = on_deleted
        self._keep = keep
        self._reviews: dict[int, Review] = {}
        self._index_of: dict[str, int] = {}
        self._delivered = 0
        self._pool: SupervisedPool | None = None

    async def run(
        self, paths: Sequence[Path | str], cancel: asyncio.Event | None = None
    ) -> list[Review]:
        """Review `paths`; returns their reviews in order (see `Reviewer.review_files`)."""
        names = [str(p) for p in paths]
        if self._keep:
            self._index_of = {name: i for i, name in enumerate(names)}
        started = time.perf_counter()
        finished = False
        await asyncio.to_thread(self._host.load_projects, names, self._settings, self._root)
        try:
            await self._stages(names, cancel)
            finished = not _is_set(cancel)
        finally:
            # Cancelled or failed: stop the workers mid-file; else let them exit idle.
            if self._pool is not None:
                self._pool.close(kill_workers=not finished)
        log.info(
            f"reviewed {self._delivered} of {len(names)} files in "
            f"{time.perf_counter() - started:.2f} s" + (" (cancelled)" if _is_set(cancel) else ""),
        )
        return [self._reviews[i] for i in sorted(self._reviews)]

    async def _stages(self, names: list[str], cancel: asyncio.Event | None) -> None:
        unknown = await self._from_stat_index(names, cancel)
        if unknown and not _is_set(cancel):
            misses = await self._from_hashes(unknown, cancel)
            if misses and not _is_set(cancel):
                await self._analyse(misses, cancel)

    # ---- stage 1: the stat index ----------------------------------------------------------

    async def _from_stat_index(self, names: list[str], cancel: asyncio.Event | None) -> list[str]:
        """Serve files whose stamp (size, times, inode) the index knows; returns the others.

        The disk reads (stat, the index's and the results' SQLite rows, JSON
        decoding) of a slice happen in a thread while the event loop scores,
        converts and publishes the slice before: after a restart they are half
        of a warm scan, and SQLite waits without the GIL.
        """
        slices = [names[start : start + _SLICE] for start in range(0, len(names), _SLICE)]
        unknown: list[str] = []
        ahead: asyncio.Future[list[_Known]] | None = None
        try:
            for number, names_of_slice in enumerate(slices):
                if _is_set(cancel):
                    break
                if ahead is None:
                    ahead = self._prefetch_soon(names_of_slice)
                known = await ahead
                ahead = None
                if number + 1 < len(slices):
                    ahead = self._prefetch_soon(slices[number + 1])
                unknown += self._serve_known(known)
                await asyncio.sleep(0)
        finally:
            if ahead is not None:
                ahead.cancel()
        return unknown

    def _prefetch_soon(self, names: list[str]) -> asyncio.Future[list[_Known]]:
        return asyncio.ensure_future(asyncio.to_thread(self._prefetch, names))

    def _prefetch(self, names: list[str]) -> list[_Known]:
        """Thread: stat each file, look its hash up in the index, and its result in the cache."""
        index = self._cache.stat_index
        fp = self._fp
        out: list[_Known] = []
        for name in names:
            try:
                st = os.stat(name)
            except OSError as exc:
                out.append((name, exc, "", None))
                continue
            digest = index.lookup(name, stamp_of(st))
            out.append((name, None, digest or "", None))
        # One batch for the slice: one round trip when the team cache is on.
        found = self._cache.get_many([make_key(d, fp, n) for n, _, d, _ in out if d], bulk=True)
        return [(n, e, d, found.get(make_key(d, fp, n)) if d else None) for n, e, d, _ in out]

    def _serve_known(self, known: list[_Known]) -> list[str]:
        """Deliver the cache hits of a slice; returns the files to read."""
        unknown = []
        for name, error, digest, data in known:
            if error is not None:
                if isinstance(error, FileNotFoundError):
                    self._deleted(name)
                else:
                    self._unreadable(name, error.strerror or str(error))
                continue
            review = self._host.reviewed(
                data, digest, self._fp, name, self._settings, self._root, remember=False
            )
            if review is None:
                unknown.append(name)
            else:
                self._deliver(review)
        return unknown

    # ---- stage 2: hashes -------------------------------------------------------------------

    async def _from_hashes(
        self, names: list[str], cancel: asyncio.Event | None
    ) -> list[tuple[str, int]]:
        """Read and hash (in a thread) what the index did not know; serve cache hits.

        Returns (path, size) of the files that need analysing. Slices keep a
        cancel prompt however many files there are.
        """
        misses: list[tuple[str, int]] = []
        recorded: list[tuple[worker.Read, str]] = []
        slices = [names[start : start + _READ_SLICE] for start in range(0, len(names), _READ_SLICE)]

        def fetch(number: int) -> asyncio.Future[tuple[list[worker.Hashed], dict[str, Any]]]:
            size = self._settings.maxFileSize
            return asyncio.ensure_future(
                asyncio.to_thread(self._hash_and_fetch, slices[number], size)
            )

        # The next slice is read, hashed and looked up (one round trip to the team cache)
        # while this one is scored: a fresh machine served by the team cache overlaps both.
        ahead = fetch(0) if slices else None
        for number in range(len(slices)):
            if _is_set(cancel) or ahead is None:
                break
            hashed, found = await ahead
            ahead = fetch(number + 1) if number + 1 < len(slices) else None
            self._serve_hashed(hashed, found, misses, recorded)
            await asyncio.sleep(0)
        if ahead is not None:
            ahead.cancel()
        self._record(recorded)
        return misses

    def _hash_and_fetch(
        self, names: list[str], max_size: int
    ) -> tuple[list[worker.Hashed], dict[str, dict[str, Any]]]:
        """Thread: read and hash files, then look their results up in one batch."""
        hashed = worker.hash_files(names, max_size)
        keys = [make_key(i.hash, self._fp, i.read.path) for i in hashed if i.read.status == "ok"]
        return hashed, self._cache.get_many(keys, bulk=True)

    def _serve_hashed(
        self,
        hashed: list[worker.Hashed],
        found: dict[str, Any],
        misses: list[tuple[str, int]],
        recorded: list[tuple[worker.Read, str]],
    ) -> None:
        """Deliver the cache hits of a slice; add the others to `misses`."""
        for item in hashed:
            read = item.read
            if self._unusable(read):
                continue
            data = found.get(make_key(item.hash, self._fp, read.path))
            review = self._host.reviewed(
                data, item.hash, self._fp, read.path, self._settings, self._root, remember=False
            )
            if review is None:
                misses.append((read.path, read.size))
                continue
            recorded.append((read, item.hash))
            self._deliver(review)

    # ---- stage 3: analysis -----------------------------------------------------------------

    async def _analyse(self, misses: list[tuple[str, int]], cancel: asyncio.Event | None) -> None:
        """Analyse the misses in scan workers, one chunk in flight in each; each file is
        scored and delivered as soon as its result comes, and cached a slice at a time."""
        workers = max(1, min(self._host.jobs, len(misses)))
        feed = ChunkQueue(misses, workers)
        self._pool = self._host.scan_pool(min(workers, feed.count))
        # Results to cache and stamps to record, written a slice at a time (one transaction)
        # by a thread of their own, in order: SQLite (and Redis) never hold the event loop,
        # whose progress reports and saves must come every 100 ms.
        self._unsaved: list[tuple[str, dict[str, Any]]] = []
        self._unrecorded: list[tuple[worker.Read, str]] = []
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="tapps-cache-writer")
        try:
            await self._pool.run(
                feed, self._settings, on_item=self._store, on_lost=self._crashed, cancel=cancel
            )
        finally:
            self._save()
            # Written before the scan returns: the next one finds every result.
            await asyncio.shield(asyncio.to_thread(self._writer.shutdown, True))

    def _store(self, item: worker.Analysed) -> None:
        """Score and deliver what a worker sent for one file; cache it (by slices)."""
        read = item.read
        if self._unusable(read) or item.data is None:
            return
        # The worker's dict goes to the cache as it came; scoring needs the FileResult.
        result = FileResult.from_dict(item.data)
        if not result.analyzer_errors:
            self._unsaved.append((make_key(item.hash, self._fp, read.path), item.data))
            self._unrecorded.append((read, item.hash))
        review = self._host.score(
            result,
            read.path,
            self._settings,
            self._root,
            digest=item.hash,
            fp=self._fp,
            remember=False,
        )
        self._deliver(review)
        if len(self._unsaved) >= _SLICE:
            self._save()

    def _save(self) -> None:
        """Hand the results and stamps `_store` kept to the writer thread."""
        stored, self._unsaved = self._unsaved, []
        recorded, self._unrecorded = self._unrecorded, []
        if stored or recorded:
            self._writer.submit(self._write, stored, recorded)

    def _write(
        self, stored: list[tuple[str, dict[str, Any]]], recorded: list[tuple[worker.Read, str]]
    ) -> None:
        """Writer thread: one slice of results and stamps (the tiers warn, never raise)."""
        try:
            self._cache.put_many(stored, bulk=True)
            self._record(recorded)
        except Exception as exc:  # noqa: BLE001 - a lost slice is analysed again next time
            log.warning(f"could not cache {len(stored)} results: {exc!r}")

    def _record(self, items: Iterable[tuple[worker.Read, str]]) -> None:
        """Remember stamp -> hash, except for files too recently modified to trust.

        Like git's racy check, on the mtime: a same-size rewrite that puts the old
        mtime back still changes the ctime, which is in the stamp.
        """
        now = time.time_ns()
        self._cache.stat_index.record_many(
            (read.path, read.stamp, digest)
            for read, digest in items
            if now - read.mtime_ns > _RACY_NS
        )

    # ---- results ---------------------------------------------------------------------------

    def _unusable(self, read: worker.Read) -> bool:
        """Report a file that cannot be reviewed (deleted, unreadable, too large)."""
        if read.status == "deleted":
            self._deleted(read.path)
        elif read.status == "unreadable":
            self._unreadable(read.path, read.error)
        elif read.status == "large":
            self._too_large(read)
        else:
            return False
        return True

    def _deliver(self, review: Review) -> None:
        self._delivered += 1
        if self._keep:
            self._reviews[self._index_of[review.path]] = review
        if self._on_result is not None:
            self._on_result(review)

    def _skipped(self, path: str, reason: str) -> None:
        result = skipped_result(reason)
        self._deliver(self._host.score(result, path, self._settings, self._root))

    def _deleted(self, path: str) -> None:
        log.info(f"{path} was deleted during the review; skipped")
        if self._on_deleted is not None:
            self._on_deleted(path)

    def _unreadable(self, path: str, error: str) -> None:
        log.warning(f"cannot read {path}: {error}")
        self._skipped(path, f"{UNREADABLE} ({error})")

    def _too_large(self, read: worker.Read) -> None:
        # Not read at all, so the same message skips.skip_reason gives, from the size.
        reason = (
            f"File skipped: {read.size:,} bytes is over the size limit of "
            f"{self._settings.maxFileSize:,} bytes (setting maxFileSize)"
        )
        self._skipped(read.path, reason)

    def _crashed(self, path: str, detail: str) -> None:
        self._skipped(path, f"{CRASHED} ({detail})")


__all__ = ["CRASHED", "UNREADABLE", "ScanPipeline", "Scorer"]
