"""Worker processes under supervision: started isolated, replaced when they die.

A `SupervisedPool` owns the worker processes of one job: the interactive worker
that reviews saves, or one scan. Each worker is a `WorkerProcess`
(review/worker_process.py): a plain child process started outside the
workspace, talking JSON over pipes, at `niceness` below our priority, ending
with us, and exiting after `IDLE_SECONDS` without work.

When a worker dies, the work it had is retried once:

- `call` (the interactive worker): the job runs again in a new worker; a
  second death raises `WorkerStopped` (the next call starts anew).
- `run` (a scan): files go to the workers in chunks (a `ChunkQueue`: one ruff
  run per chunk, large files apart while small ones remain), one chunk in
  flight per worker; a worker sends each file's result as soon as it has it.
  The files of a dead worker's chunk that had not come back are retried one at
  a time in a spare process, where a death can only be that file's doing: such
  a file is lost instead of being retried again. Workers that keep dying before
  anything comes back (workers that cannot start at all) end the retries: the
  remaining files are lost.

A scan's workers that finish their work go to a `Reserve`, where the next scan
(a `check` reviews one project root after another) takes them instead of
starting its own; there they exit after `IDLE_SECONDS` too.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tapps_lsp.config import Settings
from tapps_lsp.review.worker import Analysed
from tapps_lsp.review.worker_process import (
    IDLE_SECONDS,
    WorkerFailed,
    WorkerProcess,
    WorkerStopped,
)
from tapps_lsp.review.worker_wire import Message, chunk_request, settings_to_dict

log = logging.getLogger(__name__)
Chunk = list[str]

# Workers a scan may lose in a row, with nothing coming back, before it stops retrying
# (a worker that cannot even start would otherwise be retried file by file).
_MAX_DEATHS = 3
# Scan chunks. A worker sends each file's result as soon as it is analysed, so a chunk's
# size is not the step of the progress count: it is how often ruff starts (about 11 ms of
# CPU a run on its own against 1.5 ms a file batched). A chunk holds at most this many
# files and about this many bytes, and about 1/(2 x workers) of the bytes left, at least
# _MIN_CHUNK_BYTES: large chunks first, smaller ones at the end so that the workers end
# together. The standard library (14 MB, 2 workers): about 25 ruff runs instead of 180.
_CHUNK_FILES = 256
_CHUNK_BYTES = 1 << 20
_MIN_CHUNK_BYTES = 64 * 1024
# Files above this size go to large chunks, and through the workers one large chunk at
# a time while small chunks remain (33 stdlib files, 32 % of its bytes).
_LARGE_BYTES = _MIN_CHUNK_BYTES


def _chunks(misses: list[tuple[str, int]], workers: int) -> list[Chunk]:
    """Chunks shrinking with the bytes left, largest files first; large files apart."""
    chunks: list[Chunk] = []
    current: Chunk = []
    weight = first = 0
    left = sum(size for _, size in misses)
    limit = _CHUNK_BYTES
    for name, size in sorted(misses, key=lambda m: (-m[1], m[0])):
        # Sorted by size: the first small file after large ones starts a chunk.
        crosses = size <= _LARGE_BYTES < first
        if current and (crosses or weight + size > limit or len(current) >= _CHUNK_FILES):
            chunks.append(current)
            current, weight = [], 0
        if not current:
            first = size
            limit = max(_MIN_CHUNK_BYTES, min(_CHUNK_BYTES, left // (2 * max(workers, 1))))
        current.append(name)
        weight += size
        left -= size
    if current:
        chunks.append(current)
    return chunks


class ChunkQueue:
    """The chunks of a scan's misses. Large files take seconds each: while a chunk of them
    is in the workers, the others get small chunks, so that results keep coming."""

    def __init__(self, misses: list[tuple[str, int]], workers: int = 1) -> None:
        """Chunk `misses` ((path, size) pairs) for `workers` workers."""
        self._large_files = {name for name, size in misses if size > _LARGE_BYTES}
        chunks = _chunks(misses, workers)
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


class Reserve:
    """Idle scan workers kept for the next scan until they exit on their own (idle)."""

    def __init__(self) -> None:
        """Empty."""
        self._workers: list[WorkerProcess] = []
        self._lock = threading.Lock()

    def put(self, worker: WorkerProcess) -> None:
        """Keep an idle worker."""
        with self._lock:
            self._workers = [w for w in self._workers if w.accepting]
            self._workers.append(worker)

    def take(self, niceness: int) -> WorkerProcess | None:
        """An idle worker at `niceness`, now the caller's; None when there is none."""
        with self._lock:
            for worker in self._workers:
                if worker.accepting and not worker.busy and worker.niceness == niceness:
                    self._workers.remove(worker)
                    return worker
        return None

    def pids(self) -> list[int]:
        """Process ids of its live workers."""
        return [w.pid for w in list(self._workers) if w.alive()]

    def close(self, *, kill_workers: bool = True, wait: bool = False) -> None:
        """Stop its workers (see `SupervisedPool.close`)."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            if kill_workers:
                worker.kill()
            else:
                worker.close(wait=wait)


@dataclass(eq=False)
class _InFlight:
    """A chunk in a worker: the files that have not come back yet."""

    worker: WorkerProcess
    chunk: Chunk
    left: dict[str, None]
    spare: bool


class SupervisedPool:
    """Worker processes that are replaced when they die; their work is retried once."""

    def __init__(
        self,
        workers: int,
        *,
        niceness: int = 0,
        on_close: Callable[[SupervisedPool], None] | None = None,
        reserve: Reserve | None = None,
        idle_seconds: float | None = IDLE_SECONDS,
    ) -> None:
        """`niceness`: how much lower than ours the workers' CPU priority is.

        `on_close` is told when `close` has stopped the pool; `reserve` takes the idle
        workers of a graceful `close` and lends idle workers to this pool. A worker
        exits once idle for `idle_seconds` (None: never).
        """
        self._idle_seconds = idle_seconds
        self.workers = workers
        self._niceness = niceness
        self._on_close = on_close
        self._reserve = reserve
        self._lock = threading.Lock()
        self._workers: list[WorkerProcess] = []
        # The one process that retries files whose worker died.
        self._spare: WorkerProcess | None = None
        self._pending: dict[asyncio.Future[Any], _InFlight] = {}
        self._suspects: collections.deque[str] = collections.deque()
        self._deaths = 0  # workers lost since a file last came back
        # What `on_item` raised, which ends `run` with it; `_raised` wakes `run` up.
        self._error: BaseException | None = None
        self._raised: asyncio.Future[None] | None = None

    # ---- one job at a time (the interactive worker) -------------------------------------------

    def warm_up(self) -> None:
        """Start the worker now, so the first job does not pay for its start-up."""
        try:
            self._one()
        except WorkerStopped as exc:
            log.warning(f"{exc}; the first review tries again")

    async def call(self, request: Message, *, retry_note: str) -> Any:
        """Run `request` (worker_wire.analyze_request) in the worker; its answer. If the worker
        dies, log `retry_note` and run it once more in a new one; a second death raises
        `WorkerStopped` (the next call starts anew). A failure in the worker: WorkerFailed."""
        try:
            return await self._submit_one(request)
        except WorkerStopped:
            log.warning(retry_note)
        return await self._submit_one(request)

    async def _submit_one(self, request: Message) -> Any:
        while True:
            future = self._one().submit(request)
            if future is not None:
                return await future

    def _one(self) -> WorkerProcess:
        """The live worker, started when there is none (it exits when idle)."""
        with self._lock:
            self._workers = [w for w in self._workers if w.accepting]
            if self._workers:
                return self._workers[0]
            try:
                worker = self._new_worker()
            except OSError as exc:
                raise WorkerStopped(f"cannot start a worker process: {exc}") from exc
            self._workers.append(worker)
            return worker

    # ---- chunks (a scan) --------------------------------------------------------------------

    async def run(
        self,
        feed: ChunkQueue,
        settings: Settings,
        *,
        on_item: Callable[[Analysed], None],
        on_lost: Callable[[str, str], None],
        cancel: asyncio.Event | None = None,
    ) -> None:
        """Read and analyse every chunk of `feed` in the workers (worker.analyze_chunk).

        `on_item` gets each file's `Analysed` on the event loop as soon as it comes;
        `on_lost` gets each file that could not be analysed and why. Returns when
        every file is done or lost, or when `cancel` is set (the work in flight is
        then abandoned).
        """
        wire = settings_to_dict(settings)
        cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        self._raised = asyncio.get_running_loop().create_future()
        try:
            while cancel is None or not cancel.is_set():
                if self._deaths > _MAX_DEATHS:
                    self._give_up(feed, on_lost)
                    return
                self._fill(feed, wire, on_item)
                if not self._retry_suspect(wire, on_item):
                    continue
                if not self._pending:
                    if feed or self._suspects:
                        continue  # workers could not start: counted as deaths
                    return
                await self._settle(cancelled, on_lost)
        finally:
            for waited in (cancelled, self._raised):
                if waited is not None:
                    waited.cancel()
            for future in self._pending:
                future.cancel()
            self._pending.clear()

    def _fill(self, feed: ChunkQueue, wire: dict[str, Any], on_item: Callable[..., None]) -> None:
        """Give each idle worker a chunk, starting workers up to `workers`."""
        busy = {id(f.worker) for f in self._pending.values()}
        while feed:
            self._workers = [w for w in self._workers if w.accepting]
            idle = [w for w in self._workers if id(w) not in busy]
            if not idle and len(self._workers) < self.workers:
                started = self._start()
                if started is None:
                    return
                idle = [started]
            if not idle:
                return
            chunk = feed.peek(self._in_main())
            if self._submit(idle[0], chunk, wire, on_item, spare=False):
                feed.take(chunk)
                busy.add(id(idle[0]))

    def _start(self) -> WorkerProcess | None:
        """A worker for the scan: from the reserve, else a new one; None if it cannot start."""
        worker = self._reserve.take(self._niceness) if self._reserve is not None else None
        if worker is None:
            try:
                worker = self._new_worker()
            except OSError as exc:
                log.error(f"cannot start a worker process: {exc}")
                self._deaths += 1
                return None
        self._workers.append(worker)
        return worker

    def _new_worker(self) -> WorkerProcess:
        return WorkerProcess(self._niceness, idle_seconds=self._idle_seconds)

    def _retry_suspect(self, wire: dict[str, Any], on_item: Callable[..., None]) -> bool:
        """Retry the next file of a dead worker alone; False when no spare could start."""
        if not self._suspects or any(f.spare for f in self._pending.values()):
            return True
        if self._spare is None or not self._spare.accepting:
            try:
                self._spare = self._new_worker()
            except OSError as exc:
                log.error(f"cannot start a worker process: {exc}")
                self._deaths += 1
                self._spare = None
                return False
        if self._submit(self._spare, [self._suspects[0]], wire, on_item, spare=True):
            self._suspects.popleft()
        return True

    def _submit(
        self,
        worker: WorkerProcess,
        chunk: Chunk,
        wire: dict[str, Any],
        on_item: Callable[[Analysed], None],
        *,
        spare: bool,
    ) -> bool:
        """Send a chunk; False when the worker no longer takes requests."""
        flight = _InFlight(worker, chunk, dict.fromkeys(chunk), spare)

        def item(value: dict[str, Any]) -> None:
            if self._pending.get(future) is not flight:
                return  # the scan, or the chunk, has ended
            analysed = Analysed.from_wire(value)
            flight.left.pop(analysed.read.path, None)
            self._deaths = 0
            try:
                on_item(analysed)
            except Exception as exc:
                # Raised out of `run`, as a callback's error was before results streamed.
                self._error = self._error or exc
                if self._raised is not None and not self._raised.done():
                    self._raised.set_result(None)

        submitted = worker.submit(chunk_request(chunk, wire), on_item=item)
        if submitted is None:
            if worker is not self._spare:
                self._workers = [w for w in self._workers if w is not worker]
            return False
        future = submitted
        self._pending[future] = flight
        return True

    async def _settle(
        self, cancelled: asyncio.Future[Any] | None, on_lost: Callable[[str, str], None]
    ) -> None:
        """Wait for a chunk to end (or the cancel), and deal with a death or a failure."""
        waiting: set[asyncio.Future[Any]] = set(self._pending)
        waiting.update(f for f in (cancelled, self._raised) if f is not None)
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if self._error is not None:
            raise self._error
        for future in done - {cancelled, self._raised}:
            flight = self._pending.pop(future)
            exc = None if future.cancelled() else future.exception()
            if future.cancelled() or isinstance(exc, WorkerStopped):
                self._died(flight, on_lost)
            elif exc is not None:
                self._failed(list(flight.left), exc, on_lost)
            else:
                self._deaths = 0

    def _died(self, flight: _InFlight, on_lost: Callable[[str, str], None]) -> None:
        """A chunk's worker died: the files that had not come back become suspects, or the
        retried file is lost."""
        self._deaths += 1
        if flight.spare:
            if flight.left:
                log.error(f"{flight.chunk[0]}: its analysis stopped the worker")
                on_lost(flight.chunk[0], "a retry alone stopped it too")
            self._drop_spare()
            return
        log.warning("a scan worker stopped; starting a new one")
        flight.worker.kill()
        self._workers = [w for w in self._workers if w is not flight.worker]
        self._suspects.extend(flight.left)

    def _failed(
        self, names: list[str], exc: BaseException, on_lost: Callable[[str, str], None]
    ) -> None:
        """A chunk's analysis raised: its files left are lost (they would raise again)."""
        log.error(f"analysis of {len(names)} files failed: {exc}")
        for name in names:
            on_lost(name, str(exc) if isinstance(exc, WorkerFailed) else repr(exc))

    def _give_up(self, feed: ChunkQueue, on_lost: Callable[[str, str], None]) -> None:
        left = [*self._suspects, *feed.rest()]
        left += [name for flight in self._pending.values() for name in flight.left]
        log.error(f"worker processes keep stopping; {len(left)} not reviewed")
        for name in left:
            on_lost(name, "worker processes keep stopping")

    def _in_main(self) -> list[Chunk]:
        return [flight.chunk for flight in self._pending.values() if not flight.spare]

    def _drop_spare(self) -> None:
        if self._spare is not None:
            self._spare.kill()
        self._spare = None

    # ---- lifetime ----------------------------------------------------------------------------

    def retire_idle(self) -> None:
        """Let the workers that have nothing to do exit now; the next job starts one."""
        with self._lock:
            idle = [w for w in self._workers if w.accepting and not w.busy]
            self._workers = [w for w in self._workers if w not in idle]
        for worker in idle:
            worker.close(wait=False)

    def pids(self) -> list[int]:
        """Process ids of its live workers."""
        workers = [*self._workers, *([self._spare] if self._spare is not None else [])]
        return [w.pid for w in workers if w.alive()]

    def close(self, *, kill_workers: bool = True, wait: bool = False) -> None:
        """Stop the workers: now, mid-file (`kill_workers`), or once they are idle
        (waiting for them to exit with `wait`); idle ones go to the reserve, if any."""
        with self._lock:
            workers = [*self._workers, *([self._spare] if self._spare is not None else [])]
            self._workers, self._spare = [], None
        for worker in workers:
            if kill_workers:
                worker.kill()
            elif self._reserve is not None and worker.accepting and not worker.busy:
                self._reserve.put(worker)
            else:
                worker.close(wait=wait)
        if self._on_close is not None:
            self._on_close(self)


__all__ = [
    "IDLE_SECONDS",
    "Chunk",
    "ChunkQueue",
    "Reserve",
    "SupervisedPool",
    "WorkerFailed",
    "WorkerStopped",
]
