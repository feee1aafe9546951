"""The Reviewer: cache first, then worker processes; shared by the server and the CLI.

Three paths, cheapest first:
- `lookup`: hash the text, look the result up, score it. Synchronous and in
  microseconds: the path a save of unchanged content takes.
- `review_text`: a miss is analysed in the interactive worker, one process
  kept warm for the editor and never shared with scans, so a save is not
  queued behind a workspace review.
- `review_files`: a scan (scan_pipeline.py): the stat index, then hashes,
  then a pool of scan workers.

The Reviewer keeps what those paths share: the project contexts a review is
scored with, and the scoring memo (a path's last review). Its worker processes
are `SupervisedPool`s (supervised_pool.py): plain child processes started
outside the workspace (review/worker_process.py), replaced when they die, and
gone once idle for a while (a scan's go to a reserve the next scan takes from).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.cache import ResultCache, content_hash, fingerprint, make_key
from tapps_lsp.config import Settings
from tapps_lsp.review import scoring, worker_logs, worker_wire
from tapps_lsp.review.model import FileResult, Review
from tapps_lsp.review.project import (
    CoverageOptions,
    ProjectContext,
    coverage_options,
    project_root,
)
from tapps_lsp.review.skips import skip_reason, skipped_result
from tapps_lsp.scan_pipeline import CRASHED, ScanPipeline
from tapps_lsp.supervised_pool import Reserve, SupervisedPool, WorkerStopped

log = logging.getLogger(__name__)

# Scored reviews remembered per path (least recently used dropped first). A warm re-scan
# of a workspace up to this size re-scores nothing; beyond it the memo would be a copy of
# every review (about 850 bytes a file), so it stays this size however large the scan.
_SCORED_ENTRIES = 4_096
# A bulk review of at least this many files retires an idle interactive worker.
_RETIRE_FOR = 64


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
        """Whether this review was computed from exactly these inputs."""
        return (
            self.digest == digest
            and self.fingerprint == fp
            and self.project is project
            and (self.settings is settings or self.settings == settings)
        )


class Reviewer:
    """Reviews text and files through the cache and worker processes."""

    def __init__(self, cache: ResultCache, jobs: int = 0, *, scan_niceness: int = 0) -> None:
        """`scan_niceness`: how much lower than ours the scan workers' CPU priority is.

        The server runs scans in the background: its event loop (progress, saves
        answered from the cache) and the interactive worker keep their priority,
        and so do the user's other programs. A `check` run is the foreground.
        """
        self.cache = cache
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
        self.scan_niceness = scan_niceness
        # Project contexts by (project root, boundary, coverage options), and the project
        # root of each folder a file was reviewed in, by (folder, boundary).
        self._projects: dict[tuple[Path | None, Path | None, CoverageOptions], ProjectContext] = {}
        self._roots: dict[tuple[str, Path | None], Path] = {}
        # The interactive worker: one process, kept warm for the editor's saves (it exits
        # when idle, and the next review starts it again).
        self._interactive = SupervisedPool(1)
        self._scans: set[SupervisedPool] = set()
        # Scan workers between scans (`check` runs one per project root).
        self._reserve = Reserve()
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

    def warm_up(self) -> None:
        """Start the interactive worker now, so the first save does not pay for it.

        Blocking (a process starts): call it in a thread.
        """
        self._interactive.warm_up()

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
            review = self.reviewed(data, digest, fp, path, settings, root)
        if review is not None:
            return review
        # Text the engine would skip (too large, binary) is not sent to the worker.
        reason = skip_reason(text, settings)
        if reason is not None:
            data = skipped_result(reason).to_dict()
        else:
            note = f"the review worker stopped while reviewing {path}; retrying"
            try:
                data = await self._interactive.call(
                    worker_wire.analyze_request(text, path, settings), retry_note=note
                )
            except WorkerStopped:
                log.error(f"the review worker stopped twice on {path}")
                return self.score(skipped_result(CRASHED), path, settings, root)
        result = FileResult.from_dict(data)
        for tool, message in result.analyzer_errors.items():
            # Said once per analysis; a cache hit repeats nothing.
            log.warning(f"{path}: {tool} did not run: {message}")
        if not result.analyzer_errors:
            self.cache.put(make_key(digest, fp, path), data)
        return self.score(result, path, settings, root, digest=digest, fp=fp)

    # ---- scans -------------------------------------------------------------------------------

    async def review_files(
        self,
        paths: Sequence[Path | str],
        settings: Settings,
        root: Path | None,
        *,
        on_result: Callable[[Review], None] | None = None,
        cancel: asyncio.Event | None = None,
        on_deleted: Callable[[str], None] | None = None,
        keep: bool = True,
    ) -> list[Review]:
        """Review files in bulk; returns their reviews in the order of `paths`.

        `on_result` is called on the event loop as each review is ready (cache
        hits first). A file deleted before it could be read is left out and
        reported to `on_deleted`; an unreadable one gets a review skipped with
        `scan_pipeline.UNREADABLE`. When `cancel` is set the scan stops within a
        second, its worker processes terminated, and the reviews done so far
        are returned. Without `keep` none are kept or returned (a scan of the
        server streams them to `on_result`: its memory does not grow with the files).
        """
        self.make_room(len(paths))
        scan = ScanPipeline(
            self, settings, root, on_result=on_result, on_deleted=on_deleted, keep=keep
        )
        return await scan.run(paths, cancel)

    def make_room(self, files: int) -> None:
        """Before a bulk review of `files` files: an idle interactive worker makes room for
        the scan's workers. It exits now (before they start), and a save during the scan
        starts it again (about 0.05-0.2 s once): one process fewer for the length of the
        scan. Not for a few files changed on disk (the watcher's re-reviews)."""
        if files >= _RETIRE_FOR:
            self._interactive.retire_idle()

    def scan_pool(self, workers: int) -> SupervisedPool:
        """A new pool of `workers` scan workers, at the scan niceness, stopped by `shutdown`;
        its idle workers go to the reserve when it closes, and it takes from there first."""
        pool = SupervisedPool(
            workers,
            niceness=self.scan_niceness,
            on_close=self._scans.discard,
            reserve=self._reserve,
        )
        self._scans.add(pool)
        return pool

    def pools(self) -> list[SupervisedPool | Reserve]:
        """The worker pools: the interactive worker's, the reserve, then running scans'."""
        return [self._interactive, self._reserve, *self._scans]

    # ---- results -----------------------------------------------------------------------------

    def _cached(
        self, digest: str, fp: str, path: str, settings: Settings, root: Path | None
    ) -> Review | None:
        data = self.cache.get(make_key(digest, fp, path))
        return self.reviewed(data, digest, fp, path, settings, root)

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
        """The review of a cached result (`data`, as the cache returned it; None when there
        is none). `remember`: see `score`."""
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
            log.warning(f"ignored a cached result of another shape ({exc})")
            return None
        review = self.score(result, path, settings, root, digest=digest, fp=fp, remember=remember)
        return dataclasses.replace(review, from_cache=True)

    def remembers(self, path: str, digest: str, fp: str) -> bool:
        """Whether the scored-review memo holds a review of this content of `path`."""
        memo = self._scored.get(path)
        return memo is not None and memo.digest == digest and memo.fingerprint == fp

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
        """Score `result` for `path`; remembered for the path when its `digest` is given.

        A scan's reviews are not remembered (`remember=False`): a review of a stdlib
        file is about 27 KB, and reviews kept past a scan pin the allocator's arenas
        (CPython frees an arena only when all of it is free), so the server would stay
        at its peak after every scan. The memo is for the editor's documents.
        """
        project = self.project_for(path, settings, root)
        info = project.info_for(path, settings.testPatterns)
        review = scoring.score(result, info, settings, path)
        review.content_hash = digest
        # Only what the cache holds too: a result a tool failed on is analysed again.
        if digest and remember and not result.analyzer_errors:
            self._scored[path] = _Scored(digest, fp, settings, project, review)
            self._scored.move_to_end(path)
            if len(self._scored) > _SCORED_ENTRIES:
                self._scored.popitem(last=False)
        return review

    # ---- lifetime ----------------------------------------------------------------------------

    def shutdown(self, *, graceful: bool = False) -> None:
        """Stop every worker process: now, or (`graceful`, after finished work) once each
        has exited on its own, with every log record it sent handed on."""
        self._interactive.close(kill_workers=not graceful, wait=graceful)
        for pool in list(self._scans):
            pool.close(kill_workers=not graceful, wait=graceful)
        self._reserve.close(kill_workers=not graceful, wait=graceful)
        if graceful:
            worker_logs.flush()


__all__ = ["Reviewer"]
