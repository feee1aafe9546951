"""The one helper all background work goes through.

It keeps a reference to every asyncio task (an unreferenced task can be
garbage-collected mid-flight), logs exceptions instead of losing them,
sends progress begin/end in try/finally so a client never keeps a spinner
for a dead task, and honours cancellation: cooperatively through the task's
`cancel_event` first, then by cancelling the asyncio task if the work has not
stopped within `grace` seconds.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tapps_lsp.tasks.progress import DEFAULT_INTERVAL, NullSink, ProgressReporter, ProgressSink

_logger = logging.getLogger(__name__)

# Finished tasks kept for tapps.taskStatus / tapps.listTasks.
HISTORY = 50


class TaskState(str, enum.Enum):
    """Where a task is in its life: queued, running, then done, cancelled or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What finished work hands back: a JSON summary and the progress end message."""

    summary: dict[str, Any]
    message: str


@dataclass(eq=False)
class Task:
    """One background job; `key` names what it works on (one active task per key)."""

    id: str
    key: str
    title: str
    state: TaskState = TaskState.QUEUED
    done: int = 0
    total: int = 0
    current: str = ""
    summary: dict[str, Any] | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    cancel_event: asyncio.Event = field(default_factory=asyncio.Event)
    _reporter: ProgressReporter | None = field(default=None, repr=False)
    _handle: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state in (TaskState.QUEUED, TaskState.RUNNING)

    @property
    def cancel_requested(self) -> bool:
        """Whether someone asked the task to stop."""
        return self.cancel_event.is_set()

    def progress(self, done: int, total: int, current: str = "") -> None:
        """Record progress; reports reach the client throttled."""
        self.done, self.total, self.current = done, total, current
        if self._reporter is not None:
            self._reporter.update(done, total, current)

    def to_dict(self) -> dict[str, Any]:
        """The task as tapps.taskStatus and tapps.listTasks answer it."""
        return {
            "taskId": self.id,
            "key": self.key,
            "title": self.title,
            "state": self.state.value,
            "done": self.done,
            "total": self.total,
            "summary": self.summary,
            "error": self.error,
        }


Work = Callable[[Task], Awaitable[Outcome]]
OpenSink = Callable[[Task], Awaitable[ProgressSink]]


class TaskRegistry:
    """Runs background tasks, at most `max_running` at once; the rest wait as queued."""

    def __init__(
        self,
        *,
        max_running: int = 1,
        interval: float = DEFAULT_INTERVAL,
        grace: float = 0.8,
        on_finish: Callable[[Task], None] | None = None,
    ) -> None:
        """`on_finish(task)` is called once per task after it has ended, whatever its state."""
        self._slots = asyncio.Semaphore(max_running)
        self._on_finish = on_finish
        self._interval = interval
        self._grace = grace
        self._tasks: dict[str, Task] = {}

    def submit(self, key: str, title: str, work: Work, open_sink: OpenSink | None = None) -> Task:
        """Start `work` in the background, or return the task already active for `key`."""
        for task in self._tasks.values():
            if task.key == key and task.active:
                return task
        task = Task(id=uuid.uuid4().hex[:12], key=key, title=title)
        self._tasks[task.id] = task
        task._handle = asyncio.create_task(
            self._run(task, work, open_sink), name=f"tapps-{task.id}"
        )
        if self._on_finish is not None:
            on_finish = self._on_finish
            task._handle.add_done_callback(lambda _: on_finish(task))
        self._forget_old()
        return task

    def get(self, task_id: str) -> Task | None:
        """The task with this id, if it is still remembered."""
        return self._tasks.get(task_id)

    def list(self) -> list[Task]:
        """Every remembered task, oldest first."""
        return list(self._tasks.values())

    def cancel(self, task_id: str) -> bool:
        """Ask a task to stop; False when it is unknown or already finished."""
        task = self._tasks.get(task_id)
        if task is None or not task.active:
            return False
        if task.cancel_requested:
            return True
        task.cancel_event.set()
        if task.state is TaskState.QUEUED and task._handle is not None:
            # Nothing has started: no progress to end, no workers to stop.
            task.state = TaskState.CANCELLED
            task.finished = time.monotonic()
            task._handle.cancel()
        else:
            asyncio.get_running_loop().call_later(self._grace, self._force_cancel, task)
        return True

    async def wait(self, task_id: str) -> Task:
        """Wait until the task has finished (whatever its final state)."""
        task = self._tasks[task_id]
        if task._handle is not None:
            await asyncio.wait([task._handle])
        return task

    async def shutdown(self) -> None:
        """Cancel everything still active and wait for it to wind down."""
        handles = [t._handle for t in self._tasks.values() if t.active and t._handle]
        for task in self._tasks.values():
            if task.active:
                self.cancel(task.id)
        for handle in handles:
            if handle is not None:
                handle.cancel()
        await asyncio.gather(*(h for h in handles if h is not None), return_exceptions=True)

    def _force_cancel(self, task: Task) -> None:
        if task.active and task._handle is not None:
            _logger.warning(f"task {task.id} ignored cancellation for {self._grace}s; stopping it")
            task._handle.cancel()

    def _forget_old(self) -> None:
        finished = [t for t in self._tasks.values() if not t.active]
        for task in finished[: max(0, len(finished) - HISTORY)]:
            del self._tasks[task.id]

    async def _run(self, task: Task, work: Work, open_sink: OpenSink | None) -> None:
        try:
            async with self._slots:
                await self._run_slot(task, work, open_sink)
        except asyncio.CancelledError:
            if not task.cancel_requested:
                raise
        finally:
            if task.active:  # stopped before its work began (e.g. while asking for a token)
                task.state = TaskState.CANCELLED
                task.finished = time.monotonic()

    async def _open_sink(self, task: Task, open_sink: OpenSink | None) -> ProgressSink:
        if open_sink is None:
            return NullSink()
        try:
            return await open_sink(task)
        except Exception as exc:  # a client that refuses the token still gets the work done
            _logger.warning(f"task {task.id}: no progress ({type(exc).__name__}: {exc})")
            return NullSink()

    async def _run_slot(self, task: Task, work: Work, open_sink: OpenSink | None) -> None:
        task.state = TaskState.RUNNING
        task.started = time.monotonic()
        reporter = ProgressReporter(await self._open_sink(task, open_sink), interval=self._interval)
        task._reporter = reporter
        reporter.begin(task.title, cancellable=True)
        message = ""
        try:
            outcome = await work(task)
            task.summary = outcome.summary
            message = outcome.message
            task.state = TaskState.CANCELLED if task.cancel_requested else TaskState.DONE
        except asyncio.CancelledError:
            task.state = TaskState.CANCELLED
            raise
        except Exception as exc:
            task.state = TaskState.FAILED
            task.error = f"{type(exc).__name__}: {exc}"
            message = f"Failed: {task.error}"
            _logger.error(f"task {task.id} failed:\n{''.join(traceback.format_exception(exc))}")
        finally:
            task.finished = time.monotonic()
            if task.state is TaskState.CANCELLED:
                progress = f"{task.done}/{task.total} files"
                message = f"Cancelled: {message}" if message else f"Cancelled after {progress}"
            reporter.end(message)
