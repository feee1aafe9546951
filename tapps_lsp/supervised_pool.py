"""Worker processes under supervision: started isolated, replaced when they die.

A `SupervisedPool` owns the process pools of one job: the interactive worker
that reviews saves, or one scan. Its workers start from the fork server in a
private folder (review/isolation.py), move into their owner's folder, lower
their priority by `niceness`, log through their owner and end with it (a pidfd
of the owner: review/worker.py `start`).

When a worker dies, the work it had is retried once:

- `call` (the interactive worker): the pool is replaced and the job run again;
  a second death raises `BrokenProcessPool`.
- `run` (a scan): files go to the workers in chunks (a `ChunkQueue`: one ruff
  run per chunk, large files one at a time while small ones remain). Every
  chunk in flight in a dead pool fails with it and the pool is replaced. Their
  files are retried one at a time in a one-process spare pool, where a death
  can only be that file's doing: such a file is lost instead of being retried
  again. Pools that keep dying before anything comes back (workers that cannot
  start at all) end the retries: the remaining files are lost.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from tapps_lsp.review import isolation, worker, worker_logs

log = logging.getLogger(__name__)
T = TypeVar("T")
Chunk = list[str]

# Worker pools a scan may lose in a row, with nothing coming back, before it
# stops retrying (a worker that cannot even start would otherwise be retried
# file by file).
_MAX_DEATHS = 3
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


def new_executor(workers: int, niceness: int = 0) -> ProcessPoolExecutor:
    """A process pool whose workers start isolated, niced and bound to our lifetime."""
    context = isolation.mp_context()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=worker.start,
        # The workers log through ours (the level, and a queue our thread reads).
        initargs=(os.getpid(), niceness, isolation.current_dir(), worker_logs.for_workers(context)),
    )


def kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: drop queued work and terminate the workers mid-file."""
    # The executor keeps its processes private; terminating them is the only
    # way to stop a file that is being analysed.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


def _pids(pool: ProcessPoolExecutor | None) -> list[int]:
    processes = (getattr(pool, "_processes", None) or {}).values() if pool is not None else []
    return [p.pid for p in processes if p.pid is not None and p.is_alive()]


def _chunks(misses: list[tuple[str, int]]) -> list[Chunk]:
    """Chunks of similar weight, largest files first: no worker is left with a giant at the end."""
    chunks: list[Chunk] = []
    current: Chunk = []
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


class ChunkQueue:
    """The chunks of a scan's misses. Large files take seconds each: while one is in the
    workers, the others get small chunks, so that results (and the progress count) keep
    coming."""

    def __init__(self, misses: list[tuple[str, int]]) -> None:
        """Chunk `misses` ((path, size) pairs)."""
        self._large_files = {name for name, size in misses if size > _LARGE_BYTES}
        chunks = _chunks(misses)
        self.count = len(chunks)
        self._large = collections.deque(c for c in chunks if c[0] in self._large_files)
        self._small = collections.deque(c for c in chunks if c[0] not in self._large_files)

    def __bool__(self) -> bool:
        """Whether a chunk is left."""
        return bool(self._large or self._small)

    def peek(self, in_flight: list[Chunk]) -> Chunk:
        """A large chunk unless one is in flight and small ones remain."""
        large_in_flight = any(chunk[0] in self._large_files for chunk in in_flight)
        large = self._large and not (large_in_flight and self._small)
        return self._large[0] if large else self._small[0]

    def take(self, chunk: Chunk) -> None:
        """Drop `chunk`, which `peek` returned."""
        if self._large and self._large[0] is chunk:
            self._large.popleft()
        else:
            self._small.popleft()

    def rest(self) -> list[str]:
        """The files of every chunk left."""
        return [name for chunk in (*self._large, *self._small) for name in chunk]


class SupervisedPool:
    """Worker processes that are replaced when they die; their work is retried once."""

    def __init__(
        self,
        workers: int,
        *,
        niceness: int = 0,
        on_close: Callable[[SupervisedPool], None] | None = None,
    ) -> None:
        """`niceness`: how much lower than ours the workers' CPU priority is.

        `on_close` is told when `close` has stopped the pool.
        """
        self.workers = workers
        self._niceness = niceness
        self._on_close = on_close
        self._main: ProcessPoolExecutor | None = None
        # The one-process pool that retries files whose worker died.
        self._spare: ProcessPoolExecutor | None = None
        self._pending: dict[asyncio.Future[Any], tuple[ProcessPoolExecutor, Chunk]] = {}
        self._suspects: collections.deque[str] = collections.deque()
        self._deaths = 0  # pools lost since a chunk last came back

    # ---- one job at a time (the interactive worker) -------------------------------------------

    def warm_up(self) -> None:
        """Start the workers now, so the first job does not pay for their start-up."""
        self._executor().submit(int)

    async def call(self, job: Callable[[], T], *, retry_note: str) -> T:
        """Run `job` in a worker. If the worker dies, log `retry_note` and run it once more
        in a new one; a second death raises `BrokenProcessPool` (the next call starts anew)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), job)
        except BrokenProcessPool:
            log.warning(retry_note)
            self._drop_main()
        try:
            return await loop.run_in_executor(self._executor(), job)
        except BrokenProcessPool:
            self._drop_main()
            raise

    def _executor(self) -> ProcessPoolExecutor:
        if self._main is None:
            self._main = new_executor(self.workers, self._niceness)
        return self._main

    def _drop_main(self) -> None:
        if self._main is not None:
            kill(self._main)
        self._main = None

    # ---- chunks (a scan) --------------------------------------------------------------------

    async def run(
        self,
        feed: ChunkQueue,
        job: Callable[[Chunk], T],
        *,
        on_done: Callable[[T], None],
        on_lost: Callable[[str, str], None],
        cancel: asyncio.Event | None = None,
    ) -> None:
        """Run every chunk of `feed` through `job` in the workers, a few chunks in flight.

        `on_done` gets each chunk's result on the event loop; `on_lost` gets each
        file that could not be analysed and why. Returns when every chunk is done
        or lost, or when `cancel` is set (the work in flight is then abandoned).
        """
        self._executor()
        cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        try:
            while cancel is None or not cancel.is_set():
                if self._deaths > _MAX_DEATHS:
                    self._give_up(feed, on_lost)
                    return
                self._fill(feed, job)
                if not self._retry_suspect(job):
                    continue
                if not self._pending:
                    return
                await self._settle(cancelled, on_done, on_lost)
        finally:
            if cancelled is not None:
                cancelled.cancel()
            for future in self._pending:
                future.cancel()
            self._pending.clear()

    def _fill(self, feed: ChunkQueue, job: Callable[[Chunk], Any]) -> None:
        """Keep a few chunks ahead in the pool: the workers stay busy, the scan is not queued."""
        in_flight = len(self._in_main())
        while feed and in_flight < 2 * self.workers:
            chunk = feed.peek(self._in_main())
            if self._submit(self._executor(), chunk, job):
                feed.take(chunk)
                in_flight += 1
            else:  # broken by a death whose failures are still on their way
                self._deaths += 1
                self._replace_main()

    def _retry_suspect(self, job: Callable[[Chunk], Any]) -> bool:
        """Retry the next file of a dead worker alone; False when the spare pool broke."""
        if not self._suspects or any(pool is self._spare for pool, _ in self._pending.values()):
            return True
        self._spare = self._spare or new_executor(1, self._niceness)
        if self._submit(self._spare, [self._suspects[0]], job):
            self._suspects.popleft()
            return True
        self._deaths += 1
        self._drop_spare()
        return False

    async def _settle(
        self,
        cancelled: asyncio.Future[Any] | None,
        on_done: Callable[[Any], None],
        on_lost: Callable[[str, str], None],
    ) -> None:
        """Wait for a chunk (or the cancel) and hand out what came back."""
        waiting: set[asyncio.Future[Any]] = set(self._pending)
        if cancelled is not None:
            waiting.add(cancelled)
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for future in done - {cancelled}:
            pool, chunk = self._pending.pop(future)
            exc = None if future.cancelled() else future.exception()
            if future.cancelled() or isinstance(exc, BrokenProcessPool):
                self._died(pool, chunk, on_lost)
            elif exc is not None:
                self._failed(chunk, exc, on_lost)
            else:
                self._deaths = 0
                on_done(future.result())

    def _died(
        self, pool: ProcessPoolExecutor, chunk: Chunk, on_lost: Callable[[str, str], None]
    ) -> None:
        """A chunk's worker died: its files become suspects, or the retried file is lost."""
        if pool is self._spare:
            self._deaths += 1
            log.error(f"{chunk[0]}: its analysis stopped the worker")
            on_lost(chunk[0], "a retry alone stopped it too")
            self._drop_spare()
            return
        if pool is self._main:
            self._deaths += 1
            self._replace_main()
        self._suspects.extend(chunk)

    def _failed(
        self, chunk: Chunk, exc: BaseException, on_lost: Callable[[str, str], None]
    ) -> None:
        """A chunk's analysis raised: its files are lost (they would raise again)."""
        log.error(f"analysis of {len(chunk)} files failed: {exc!r}")
        for name in chunk:
            on_lost(name, repr(exc))

    def _give_up(self, feed: ChunkQueue, on_lost: Callable[[str, str], None]) -> None:
        left = [*self._suspects, *feed.rest()]
        left += [n for _, chunk in self._pending.values() for n in chunk]
        log.error(f"worker processes keep stopping; {len(left)} not reviewed")
        for name in left:
            on_lost(name, "worker processes keep stopping")

    def _in_main(self) -> list[Chunk]:
        return [chunk for pool, chunk in self._pending.values() if pool is self._main]

    def _replace_main(self) -> None:
        log.warning("a scan worker stopped; starting a new one")
        self._drop_main()
        self._executor()

    def _drop_spare(self) -> None:
        if self._spare is not None:
            kill(self._spare)
        self._spare = None

    def _submit(self, pool: ProcessPoolExecutor, chunk: Chunk, job: Callable[[Chunk], Any]) -> bool:
        """Submit a chunk; False when the pool is already broken."""
        try:
            future = asyncio.wrap_future(pool.submit(job, chunk))
        except BrokenProcessPool:
            return False
        self._pending[future] = (pool, chunk)
        return True

    # ---- lifetime ----------------------------------------------------------------------------

    def pids(self) -> list[int]:
        """Process ids of its live workers."""
        return [*_pids(self._main), *_pids(self._spare)]

    def close(self, *, kill_workers: bool = True, wait: bool = False) -> None:
        """Stop the workers: now, mid-file (`kill_workers`), or once they are idle
        (waiting for them to exit with `wait`)."""
        for pool in (self._main, self._spare):
            if pool is None:
                continue
            if kill_workers:
                kill(pool)
            else:
                pool.shutdown(wait=wait)
        self._main = self._spare = None
        if self._on_close is not None:
            self._on_close(self)


__all__ = ["Chunk", "ChunkQueue", "SupervisedPool", "kill", "new_executor"]
