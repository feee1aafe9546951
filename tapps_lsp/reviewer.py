"""The Reviewer: cache first, then worker processes; shared by the server and the CLI.

Three paths, cheapest first:
- `lookup`: hash the text, look the result up, score it. Synchronous and in
  microseconds: the path a save of unchanged content takes.
- `review_text`: a miss is analysed in the interactive worker, one process
  kept warm for the editor and never shared with scans, so a save is not
  queued behind a workspace review.
- `review_files`: a scan. Unchanged files are recognised by the stat index
  (path, size, mtime, ctime, inode, device, as git does) and served from
  the cache without being read;
  files the index does not know are read and hashed in a thread and may
  still be cache hits; the rest go to a pool of scan workers in chunks
  (one ruff run per chunk) and are read inside the workers.

Workers are started with forkserver where it exists: forking a server that
runs threads is unsafe, and spawn pays interpreter start-up per process. The
fork server starts outside the workspace (review/isolation.py).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapps_lsp.cache import ResultCache, content_hash, fingerprint, make_key
from tapps_lsp.cache.store import stamp_of
from tapps_lsp.config import Settings
from tapps_lsp.review import engine, isolation, scoring, worker, worker_logs
from tapps_lsp.review.model import FileResult, Review
from tapps_lsp.review.project import (
    CoverageOptions,
    ProjectContext,
    coverage_options,
    project_root,
)

Log = Callable[[str, str], None]

# Reasons given to files that were not analysed for a reason of the file system.
UNREADABLE = "File skipped: cannot be read"
CRASHED = "File skipped: its analysis stopped the worker process"

# A file modified this recently might be modified again within the file
# system's timestamp granularity with the same size: its stat entry is not
# trusted (git's "racily clean" rule).
_RACY_NS = 2_000_000_000
# Scan chunks: at most this many files, and roughly this many bytes, per chunk. A chunk's
# results come back together, so its analysis time is the step of the progress count:
# 64 KiB is about 0.13 s of one worker, so with two the count moves every ~0.1 s. ruff
# runs once per chunk: about 11 ms of CPU a run on its own against 1.5 ms a file batched,
# which smaller chunks would add to a cold scan (8 KiB chunks: +20 % on the stdlib).
_CHUNK_FILES = 8
_CHUNK_BYTES = 64 * 1024
# Files above this size take a chunk each and go through the workers one at a time while
# smaller ones remain (33 stdlib files, 32 % of its bytes).
_LARGE_BYTES = _CHUNK_BYTES
# How many files the event loop handles before it lets other work run (a warm scan
# after a restart spends up to 1 ms a file on disk-tier lookups: slices of <= ~30 ms).
_SLICE = 32
# How many files one trip to the reading thread reads (a few ms of work).
_READ_SLICE = 256
# Worker pools a scan may lose in a row, with nothing coming back, before it
# stops retrying (a worker that cannot even start would otherwise be retried
# file by file).
_MAX_DEATHS = 3


def _new_pool(workers: int, niceness: int = 0) -> ProcessPoolExecutor:
    context = isolation.mp_context()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=worker.start,
        # The workers log through ours (the level, and a queue our thread reads).
        initargs=(os.getpid(), niceness, isolation.current_dir(), worker_logs.for_workers(context)),
    )


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: drop queued work and terminate the workers mid-file."""
    # The executor keeps its processes private; terminating them is the only
    # way to stop a file that is being analysed.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


# ---- the reviewer ------------------------------------------------------------------------

# A file as the stat index knows it: path, the error of its stat, its content hash
# ("" when the index does not know it) and its cached result.
_Known = tuple[str, OSError | None, str, dict[str, Any] | None]

# Scored reviews remembered per path (least recently used dropped first).
_SCORED_ENTRIES = 20_000


@dataclass
class _Scored:
    """A path's last review and what it was computed from.

    A warm scan re-scores nothing when the content, the engine, the settings
    and the project are those of the last time: decoding a cached result and
    scoring it cost more than everything else a cache hit does.
    """

    digest: str
    fingerprint: str
    settings: Settings
    project: ProjectContext
    review: Review

    def matches(self, digest: str, fp: str, settings: Settings, project: ProjectContext) -> bool:
        return (
            self.digest == digest
            and self.fingerprint == fp
            and self.project is project
            and (self.settings is settings or self.settings == settings)
        )


@dataclass
class _Scan:
    """One review_files call: its pool, its results, its retry book-keeping."""

    settings: Settings
    root: Path | None
    fingerprint: str
    on_result: Callable[[Review], None] | None
    on_deleted: Callable[[str], None] | None
    reviews: dict[int, Review] = field(default_factory=dict)
    index_of: dict[str, int] = field(default_factory=dict)
    pool: ProcessPoolExecutor | None = None
    # The one-process pool that retries files whose worker died.
    spare: ProcessPoolExecutor | None = None


class Reviewer:
    """Reviews text and files through the cache and worker processes."""

    def __init__(
        self, cache: ResultCache, jobs: int = 0, log: Log | None = None, *, scan_niceness: int = 0
    ) -> None:
        """`scan_niceness`: how much lower than ours the scan workers' CPU priority is.

        The server runs scans in the background: its event loop (progress, saves
        answered from the cache) and the interactive worker keep their priority,
        and so do the user's other programs. A `check` run is the foreground.
        """
        self.cache = cache
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
        self.scan_niceness = scan_niceness
        self._log: Log = log or (lambda level, message: None)
        # Project contexts by (project root, boundary, coverage options), and the project
        # root of each folder a file was reviewed in, by (folder, boundary).
        self._projects: dict[tuple[Path | None, Path | None, CoverageOptions], ProjectContext] = {}
        self._roots: dict[tuple[str, Path | None], Path] = {}
        self._interactive: ProcessPoolExecutor | None = None
        self._scan_pools: set[ProcessPoolExecutor] = set()
        self._scored: collections.OrderedDict[str, _Scored] = collections.OrderedDict()

    # ---- projects ------------------------------------------------------------------------

    # `root` below is the folder a review is bounded by: the server's workspace folder
    # (None for a file outside every folder), or the project root `check` found. Each
    # file is scored with the ProjectContext of its own project root inside it
    # (project.project_root). Building one reads files: `load_projects` does it in a
    # thread before the event loop scores; `project_ready` says whether that is done.

    def project(self, root: Path | None, options: CoverageOptions | None = None) -> ProjectContext:
        """The ProjectContext of a project root, built once until `invalidate_project`."""
        key = (root, root, options or CoverageOptions())
        context = self._projects.get(key)
        if context is None:
            context = self._projects[key] = ProjectContext(root, options=key[2])
        return context

    def project_for(self, path: str, settings: Settings, root: Path | None) -> ProjectContext:
        """The context of the file's own project root (reads files the first time)."""
        options = coverage_options(settings)
        if root is None:
            return self._projects.setdefault((None, None, options), ProjectContext(None))
        folder = os.path.dirname(os.path.abspath(path))
        top = self._roots.get((folder, root))
        if top is None:
            top = self._roots[(folder, root)] = project_root(path, root)
        key = (top, root, options)
        context = self._projects.get(key)
        if context is None:
            context = self._projects[key] = ProjectContext(top, boundary=root, options=options)
        return context

    def project_ready(self, path: str, settings: Settings, root: Path | None) -> bool:
        """Whether scoring `path` needs no file read (its project context is built)."""
        if root is None:
            return True
        top = self._roots.get((os.path.dirname(os.path.abspath(path)), root))
        return top is not None and (top, root, coverage_options(settings)) in self._projects

    def load_projects(self, paths: Iterable[str], settings: Settings, root: Path | None) -> None:
        """Thread: build the project contexts of `paths`, rebuilding those whose coverage
        data changed since (a `check` run or a scan picks up a new coverage.xml)."""
        seen: set[int] = set()
        for path in paths:
            context = self.project_for(path, settings, root)
            if id(context) in seen:
                continue
            seen.add(id(context))
            if context.stale():
                key = (context.root, root, context.options)
                self._projects[key] = ProjectContext(
                    context.root, boundary=root, options=context.options
                )

    def invalidate_project(self, root: Path | None) -> None:
        """Forget what the folder and the projects in it said (coverage data, layout changed)."""
        if root is None:
            self._projects.clear()
            self._roots.clear()
            return
        # Snapshots (`list()` copies at once): a scan's thread may be adding entries.
        for project in [k for k in list(self._projects) if root in (k[0], k[1])]:
            self._projects.pop(project, None)
        for folder in [k for k in list(self._roots) if k[1] == root]:
            self._roots.pop(folder, None)

    # ---- single documents -------------------------------------------------------------------

    def lookup(self, text: str, path: str, settings: Settings, root: Path | None) -> Review | None:
        """The review of `text` when its result is cached, else None. Never analyses."""
        digest = content_hash(text)
        return self._cached(digest, fingerprint(settings), path, settings, root)

    def warm(self) -> None:
        """Start the interactive worker now, so the first save does not pay for it."""
        self._interactive_pool().submit(int)

    async def review_text(
        self,
        text: str,
        path: str,
        settings: Settings,
        root: Path | None,
        *,
        looked_up: bool = False,
    ) -> Review:
        """The review of `text`: from the cache, else analysed in the interactive worker.

        `looked_up`: the caller's `lookup` of this text and settings just missed, so
        the cache is not asked (and its miss not counted) a second time.
        """
        digest = content_hash(text)
        fp = fingerprint(settings)
        review = None if looked_up else self._cached(digest, fp, path, settings, root)
        if review is None and self.cache.remote is not None:
            # The team cache, for at most its budget (20 ms): never longer than a review.
            data = await self.cache.get_remote(make_key(digest, fp, path))
            review = self._reviewed(data, digest, fp, path, settings, root)
        if review is not None:
            return review
        job = functools.partial(engine.analyze, text, settings, filename=path)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._interactive_pool(), job)
        except BrokenProcessPool:
            self._log("warning", f"the review worker stopped while reviewing {path}; retrying")
            self._replace_interactive()
            try:
                result = await loop.run_in_executor(self._interactive_pool(), job)
            except BrokenProcessPool:
                self._replace_interactive()
                self._log("error", f"the review worker stopped twice on {path}")
                return self._score(engine.skipped_result(CRASHED), path, settings, root)
        for tool, message in result.analyzer_errors.items():
            # Said once per analysis; a cache hit repeats nothing.
            self._log("warning", f"{path}: {tool} did not run: {message}")
        if not result.analyzer_errors:
            self.cache.put(make_key(digest, fp, path), result.to_dict())
        return self._score(result, path, settings, root, digest=digest, fp=fp)

    def _interactive_pool(self) -> ProcessPoolExecutor:
        if self._interactive is None:
            self._interactive = _new_pool(1)
        return self._interactive

    def _replace_interactive(self) -> None:
        if self._interactive is not None:
            _kill(self._interactive)
        self._interactive = None

    # ---- scans -------------------------------------------------------------------------------

    def review_files_sync(
        self,
        paths: Sequence[Path | str],
        settings: Settings,
        root: Path | None,
        *,
        on_result: Callable[[Review], None] | None = None,
        on_deleted: Callable[[str], None] | None = None,
    ) -> list[Review]:
        """`review_files` for callers without an event loop (the CLI)."""
        return asyncio.run(
            self.review_files(paths, settings, root, on_result=on_result, on_deleted=on_deleted)
        )

    async def review_files(
        self,
        paths: Sequence[Path | str],
        settings: Settings,
        root: Path | None,
        *,
        on_result: Callable[[Review], None] | None = None,
        cancel: asyncio.Event | None = None,
        on_deleted: Callable[[str], None] | None = None,
    ) -> list[Review]:
        """Review files in bulk; returns their reviews in the order of `paths`.

        `on_result` is called on the event loop as each review is ready (cache
        hits first). A file deleted before it could be read is left out and
        reported to `on_deleted`; an unreadable one gets a review skipped with
        `UNREADABLE`. When `cancel` is set the scan stops within a second, its
        worker processes terminated, and the reviews done so far are returned.
        """
        scan = _Scan(settings, root, fingerprint(settings), on_result, on_deleted)
        names = [str(p) for p in paths]
        scan.index_of = {name: i for i, name in enumerate(names)}
        started = time.perf_counter()
        finished = False
        await asyncio.to_thread(self.load_projects, names, settings, root)
        try:
            unknown = await self._from_stat_index(scan, names, cancel)
            if unknown and not _is_set(cancel):
                misses = await self._from_hashes(scan, unknown, cancel)
                if misses and not _is_set(cancel):
                    await self._analyse(scan, misses, cancel)
            finished = not _is_set(cancel)
        finally:
            # Cancelled or failed: stop the workers mid-file; else let them exit idle.
            for pool in (scan.pool, scan.spare):
                if pool is not None:
                    self._stop_pool(pool, kill=not finished)
        self._log(
            "info",
            f"reviewed {len(scan.reviews)} of {len(names)} files in "
            f"{time.perf_counter() - started:.2f} s" + (" (cancelled)" if _is_set(cancel) else ""),
        )
        return [scan.reviews[i] for i in sorted(scan.reviews)]

    async def _from_stat_index(
        self, scan: _Scan, names: list[str], cancel: asyncio.Event | None
    ) -> list[str]:
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
                    ahead = asyncio.ensure_future(
                        asyncio.to_thread(self._prefetch, names_of_slice, scan.fingerprint)
                    )
                known = await ahead
                ahead = None
                if number + 1 < len(slices):
                    ahead = asyncio.ensure_future(
                        asyncio.to_thread(self._prefetch, slices[number + 1], scan.fingerprint)
                    )
                for name, error, digest, data in known:
                    if error is not None:
                        if isinstance(error, FileNotFoundError):
                            self._deleted(scan, name)
                        else:
                            self._unreadable(scan, name, error.strerror or str(error))
                        continue
                    review = self._reviewed(
                        data, digest, scan.fingerprint, name, scan.settings, scan.root
                    )
                    if review is None:
                        unknown.append(name)
                    else:
                        self._deliver(scan, review)
                await asyncio.sleep(0)
        finally:
            if ahead is not None:
                ahead.cancel()
        return unknown

    def _prefetch(self, names: list[str], fp: str) -> list[_Known]:
        """Thread: stat each file, look its hash up in the index, and its result in the cache."""
        index = self.cache.stat_index
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
        found = self.cache.get_many([make_key(d, fp, n) for n, _, d, _ in out if d])
        return [(n, e, d, found.get(make_key(d, fp, n)) if d else None) for n, e, d, _ in out]

    def _hash_and_fetch(
        self, names: list[str], max_size: int, fp: str
    ) -> tuple[list[worker.Hashed], dict[str, dict[str, Any]]]:
        """Thread: read and hash files, then look their results up in one batch."""
        hashed = worker.hash_files(names, max_size)
        keys = [make_key(i.hash, fp, i.read.path) for i in hashed if i.read.status == "ok"]
        return hashed, self.cache.get_many(keys)

    async def _from_hashes(
        self, scan: _Scan, names: list[str], cancel: asyncio.Event | None
    ) -> list[tuple[str, int]]:
        """Read and hash (in a thread) what the index did not know; serve cache hits.

        Returns (path, size) of the files that need analysing. Slices keep a
        cancel prompt however many files there are.
        """
        misses = []
        recorded = []
        slices = [names[start : start + _READ_SLICE] for start in range(0, len(names), _READ_SLICE)]

        def fetch(number: int) -> asyncio.Future[tuple[list[worker.Hashed], dict[str, Any]]]:
            size, fp = scan.settings.maxFileSize, scan.fingerprint
            return asyncio.ensure_future(
                asyncio.to_thread(self._hash_and_fetch, slices[number], size, fp)
            )

        # The next slice is read, hashed and looked up (one round trip to the team cache)
        # while this one is scored: a fresh machine served by the team cache overlaps both.
        ahead = fetch(0) if slices else None
        for number in range(len(slices)):
            if _is_set(cancel) or ahead is None:
                break
            hashed, found = await ahead
            ahead = fetch(number + 1) if number + 1 < len(slices) else None
            for item in hashed:
                read = item.read
                if not self._unusable(scan, read):
                    data = found.get(make_key(item.hash, scan.fingerprint, read.path))
                    review = self._reviewed(
                        data, item.hash, scan.fingerprint, read.path, scan.settings, scan.root
                    )
                    if review is None:
                        misses.append((read.path, read.size))
                        continue
                    recorded.append((read, item.hash))
                    self._deliver(scan, review)
            await asyncio.sleep(0)
        if ahead is not None:
            ahead.cancel()
        self._record(recorded)
        return misses

    async def _analyse(
        self, scan: _Scan, misses: list[tuple[str, int]], cancel: asyncio.Event | None
    ) -> None:
        """Analyse the misses in the scan pool, a few chunks in flight at a time.

        When a worker dies, every chunk in flight in that pool fails with it and
        the pool is replaced. Their files are retried one at a time in a
        one-process retry pool, where a death can only be that file's doing:
        such a file is reported as crashed instead of being retried again.
        Pools that keep dying before anything comes back (workers that cannot
        start at all) end the retries: the remaining files are reported.
        """
        # Large files take seconds each: while one is in the workers, the others get
        # small chunks, so that results (and the progress count) keep coming.
        large_files = {name for name, size in misses if size > _LARGE_BYTES}
        chunks = _chunks(misses)
        large = collections.deque(c for c in chunks if c[0] in large_files)
        small = collections.deque(c for c in chunks if c[0] not in large_files)
        suspects: collections.deque[str] = collections.deque()
        pending: dict[asyncio.Future[Any], tuple[ProcessPoolExecutor, list[str]]] = {}
        workers = min(self.jobs, len(chunks))
        scan.pool = self._start_pool(workers)
        deaths = 0  # pools lost since a chunk last came back
        cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        try:
            while not _is_set(cancel):
                if deaths > _MAX_DEATHS:
                    left = [*suspects, *(n for c in (*large, *small) for n in c)]
                    left += [n for _, chunk in pending.values() for n in chunk]
                    self._log("error", f"worker processes keep stopping; {len(left)} not reviewed")
                    for name in left:
                        self._crashed(scan, name, "worker processes keep stopping")
                    return
                in_flight = sum(1 for pool, _ in pending.values() if pool is scan.pool)
                # A few chunks ahead keep the workers busy without queueing the whole scan.
                while (large or small) and in_flight < 2 * workers:
                    large_in_flight = any(
                        pool is scan.pool and chunk[0] in large_files
                        for pool, chunk in pending.values()
                    )
                    queue = large if large and not (large_in_flight and small) else small
                    if self._submit(pending, scan.pool, queue[0], scan.settings):
                        queue.popleft()
                        in_flight += 1
                    else:  # broken by a death whose failures are still on their way
                        deaths += 1
                        self._replace_scan_pool(scan, workers)
                if suspects and not any(pool is scan.spare for pool, _ in pending.values()):
                    scan.spare = scan.spare or self._start_pool(1)
                    if self._submit(pending, scan.spare, [suspects[0]], scan.settings):
                        suspects.popleft()
                    else:
                        deaths += 1
                        self._stop_pool(scan.spare)
                        scan.spare = None
                        continue
                if not pending:
                    return
                waiting: set[asyncio.Future[Any]] = set(pending)
                if cancelled is not None:
                    waiting.add(cancelled)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for future in done - {cancelled}:
                    pool, chunk = pending.pop(future)
                    exc = None if future.cancelled() else future.exception()
                    if future.cancelled() or isinstance(exc, BrokenProcessPool):
                        if pool is scan.spare:
                            deaths += 1
                            self._log("error", f"{chunk[0]}: its analysis stopped the worker")
                            self._crashed(scan, chunk[0], "a retry alone stopped it too")
                            self._stop_pool(pool)
                            scan.spare = None
                            continue
                        if pool is scan.pool:
                            deaths += 1
                            self._replace_scan_pool(scan, workers)
                        suspects.extend(chunk)
                    elif exc is not None:
                        self._log("error", f"analysis of {len(chunk)} files failed: {exc!r}")
                        for name in chunk:
                            self._crashed(scan, name, repr(exc))
                    else:
                        deaths = 0
                        self._store(scan, future.result())
        finally:
            if cancelled is not None:
                cancelled.cancel()
            for future in pending:
                future.cancel()

    def _replace_scan_pool(self, scan: _Scan, workers: int) -> None:
        self._log("warning", "a scan worker stopped; starting a new one")
        if scan.pool is not None:
            self._stop_pool(scan.pool)
        scan.pool = self._start_pool(workers)

    def _start_pool(self, workers: int) -> ProcessPoolExecutor:
        pool = _new_pool(workers, self.scan_niceness)
        self._scan_pools.add(pool)
        return pool

    def _stop_pool(self, pool: ProcessPoolExecutor, *, kill: bool = True) -> None:
        self._scan_pools.discard(pool)
        if kill:
            _kill(pool)
        else:
            pool.shutdown(wait=False)

    @staticmethod
    def _submit(
        pending: dict[asyncio.Future[Any], tuple[ProcessPoolExecutor, list[str]]],
        pool: ProcessPoolExecutor,
        chunk: list[str],
        settings: Settings,
    ) -> bool:
        """Submit a chunk; False when the pool is already broken."""
        try:
            future = asyncio.wrap_future(pool.submit(worker.analyze_chunk, chunk, settings))
        except BrokenProcessPool:
            return False
        pending[future] = (pool, chunk)
        return True

    def worker_pids(self) -> list[int]:
        """Process ids of the live worker processes (interactive and scans)."""
        pools = [*self._scan_pools, *([self._interactive] if self._interactive else [])]
        return sorted(
            process.pid
            for pool in pools
            for process in (getattr(pool, "_processes", None) or {}).values()
            if process.pid is not None and process.is_alive()
        )

    def _unusable(self, scan: _Scan, read: worker.Read) -> bool:
        """Report a file that cannot be reviewed (deleted, unreadable, too large)."""
        if read.status == "deleted":
            self._deleted(scan, read.path)
        elif read.status == "unreadable":
            self._unreadable(scan, read.path, read.error)
        elif read.status == "large":
            self._too_large(scan, read)
        else:
            return False
        return True

    def _store(self, scan: _Scan, items: list[worker.Analysed]) -> None:
        """Cache and deliver what a worker returned."""
        stored = []
        recorded = []
        for item in items:
            read = item.read
            if not self._unusable(scan, read) and item.result is not None:
                if not item.result.analyzer_errors:
                    key = make_key(item.hash, scan.fingerprint, read.path)
                    stored.append((key, item.result.to_dict()))
                    recorded.append((read, item.hash))
                review = self._score(
                    item.result,
                    read.path,
                    scan.settings,
                    scan.root,
                    digest=item.hash,
                    fp=scan.fingerprint,
                )
                self._deliver(scan, review)
        self.cache.put_many(stored)
        self._record(recorded)

    def _record(self, items: Iterable[tuple[worker.Read, str]]) -> None:
        """Remember stamp -> hash, except for files too recently modified to trust.

        Like git's racy check, on the mtime: a same-size rewrite that puts the old
        mtime back still changes the ctime, which is in the stamp.
        """
        now = time.time_ns()
        self.cache.stat_index.record_many(
            (read.path, read.stamp, digest)
            for read, digest in items
            if now - read.mtime_ns > _RACY_NS
        )

    # ---- results -----------------------------------------------------------------------------

    def _cached(
        self, digest: str, fp: str, path: str, settings: Settings, root: Path | None
    ) -> Review | None:
        data = self.cache.get(make_key(digest, fp, path))
        return self._reviewed(data, digest, fp, path, settings, root)

    def _reviewed(
        self,
        data: dict[str, Any] | None,
        digest: str,
        fp: str,
        path: str,
        settings: Settings,
        root: Path | None,
    ) -> Review | None:
        """The review of a cached result (`data`, as the cache returned it)."""
        if data is None:
            return None
        project = self.project_for(path, settings, root)
        memo = self._scored.get(path)
        if memo is not None and memo.matches(digest, fp, settings, project):
            self._scored.move_to_end(path)
            return dataclasses.replace(memo.review, from_cache=True)
        try:
            result = FileResult.from_dict(data)
        except (ValueError, KeyError, TypeError) as exc:
            self._log("warning", f"ignored a cached result of another shape ({exc})")
            return None
        review = self._score(result, path, settings, root, digest=digest, fp=fp)
        return dataclasses.replace(review, from_cache=True)

    def _score(
        self,
        result: FileResult,
        path: str,
        settings: Settings,
        root: Path | None,
        *,
        digest: str = "",
        fp: str = "",
    ) -> Review:
        project = self.project_for(path, settings, root)
        info = project.info_for(path, settings.testPatterns)
        review = scoring.score(result, info, settings, path)
        review.content_hash = digest
        if digest:
            self._scored[path] = _Scored(digest, fp, settings, project, review)
            self._scored.move_to_end(path)
            if len(self._scored) > _SCORED_ENTRIES:
                self._scored.popitem(last=False)
        return review

    def _deliver(self, scan: _Scan, review: Review) -> None:
        scan.reviews[scan.index_of[review.path]] = review
        if scan.on_result is not None:
            scan.on_result(review)

    def _deleted(self, scan: _Scan, path: str) -> None:
        self._log("info", f"{path} was deleted during the review; skipped")
        if scan.on_deleted is not None:
            scan.on_deleted(path)

    def _unreadable(self, scan: _Scan, path: str, error: str) -> None:
        self._log("warning", f"cannot read {path}: {error}")
        result = engine.skipped_result(f"{UNREADABLE} ({error})")
        self._deliver(scan, self._score(result, path, scan.settings, scan.root))

    def _too_large(self, scan: _Scan, read: worker.Read) -> None:
        # Not read at all, so the same message engine.skip_reason gives, from the size.
        reason = (
            f"File skipped: {read.size:,} bytes is over the size limit of "
            f"{scan.settings.maxFileSize:,} bytes (setting maxFileSize)"
        )
        result = engine.skipped_result(reason)
        self._deliver(scan, self._score(result, read.path, scan.settings, scan.root))

    def _crashed(self, scan: _Scan, path: str, detail: str) -> None:
        result = engine.skipped_result(f"{CRASHED} ({detail})")
        self._deliver(scan, self._score(result, path, scan.settings, scan.root))

    # ---- lifetime ----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every worker process now."""
        self._replace_interactive()
        for pool in list(self._scan_pools):
            _kill(pool)
        self._scan_pools.clear()


def _is_set(event: asyncio.Event | None) -> bool:
    return event is not None and event.is_set()


def _chunks(misses: list[tuple[str, int]]) -> list[list[str]]:
    """Chunks of similar weight, largest files first: no worker is left with a giant at the end."""
    chunks: list[list[str]] = []
    current: list[str] = []
    weight = 0
    for name, size in sorted(misses, key=lambda m: (-m[1], m[0])):
        if current and (weight + size > _CHUNK_BYTES or len(current) >= _CHUNK_FILES):
            chunks.append(current)
            current, weight = [], 0
        current.append(name)
        weight += size
    if current:
        chunks.append(current)
    return chunks


__all__ = ["CRASHED", "UNREADABLE", "Reviewer"]
