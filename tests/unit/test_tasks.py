"""The background task helper and the progress throttle, without a client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tapps_lsp.tasks import (
    MIN_INTERVAL,
    Outcome,
    ProgressReporter,
    Task,
    TaskRegistry,
    TaskState,
)


class RecordingSink:
    """Records every call with the loop time; `on_report` lets a test react to reports."""

    def __init__(self, on_report: Callable[[int], None] | None = None) -> None:
        self.events: list[tuple[str, float, dict[str, Any]]] = []
        self.ended = asyncio.Event()
        self.reported = asyncio.Event()
        self._on_report = on_report

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def begin(self, title: str, *, percentage: int, cancellable: bool) -> None:
        self.events.append(
            ("begin", self._now(), {"title": title, "percentage": percentage, "c": cancellable})
        )

    def report(self, message: str, *, percentage: int) -> None:
        self.events.append(("report", self._now(), {"message": message, "percentage": percentage}))
        self.reported.set()
        if self._on_report is not None:
            self._on_report(len(self.reports))

    def end(self, message: str) -> None:
        self.events.append(("end", self._now(), {"message": message}))
        self.ended.set()

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]

    @property
    def reports(self) -> list[dict[str, Any]]:
        return [data for kind, _, data in self.events if kind == "report"]

    @property
    def end_message(self) -> str:
        message: str = self.events[-1][2]["message"]
        return message


async def test_reports_are_throttled_and_never_go_back() -> None:
    enough = asyncio.Event()
    total = 1000
    reporter: ProgressReporter

    def feed(count: int) -> None:
        # Keep something new pending at every report so the throttle is the only brake.
        if count >= 6:
            enough.set()
        else:
            reporter.update(count * 10, total, f"file{count}.py")
            reporter.update(count * 10 + 1, total, f"file{count}b.py")

    sink = RecordingSink(on_report=feed)
    reporter = ProgressReporter(sink, interval=MIN_INTERVAL)
    reporter.begin("Reviewing workspace")
    reporter.update(1, total, "first.py")
    await enough.wait()
    reporter.end("done")

    assert sink.kinds[0] == "begin" and sink.kinds.count("begin") == 1
    assert sink.kinds[-1] == "end" and sink.kinds.count("end") == 1
    assert sink.events[0][2] == {"title": "Reviewing workspace", "percentage": 0, "c": True}
    times = [t for kind, t, _ in sink.events if kind != "end"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= MIN_INTERVAL
    # Only the latest state of each interval is sent.
    assert sink.reports[0]["message"] == "1/1000 first.py"
    assert sink.reports[1]["message"] == "11/1000 file1b.py"
    percentages = [r["percentage"] for r in sink.reports]
    assert percentages == sorted(percentages)


async def test_interval_is_clamped_to_the_floor() -> None:
    assert ProgressReporter(RecordingSink(), interval=0.001).interval == MIN_INTERVAL
    assert ProgressReporter(RecordingSink()).interval == pytest.approx(0.1)


async def test_percentage_does_not_drop_when_the_total_grows() -> None:
    seen: dict[str, asyncio.Event] = {"50/100": asyncio.Event(), "50/200": asyncio.Event()}

    def note(count: int) -> None:
        message = sink.reports[-1]["message"]
        if message in seen:
            seen[message].set()

    sink = RecordingSink(on_report=note)
    reporter = ProgressReporter(sink, interval=MIN_INTERVAL)
    reporter.begin("t")
    reporter.update(50, 100)
    await seen["50/100"].wait()
    reporter.update(50, 200)
    await seen["50/200"].wait()
    reporter.end("x")
    reporter.end("ignored: end is sent once")
    assert {r["percentage"] for r in sink.reports} == {50}
    assert sink.kinds[0] == "begin" and sink.kinds[-1] == "end" and sink.kinds.count("end") == 1


async def test_reports_keep_coming_while_nothing_finishes() -> None:
    """A chunk with a large file finishes nothing for seconds: the client still hears."""
    enough = asyncio.Event()

    def on_report(count: int) -> None:
        if count >= 4:
            enough.set()

    sink = RecordingSink(on_report=on_report)
    reporter = ProgressReporter(sink, interval=MIN_INTERVAL)
    reporter.begin("t")
    reporter.update(7, 10, "big.py")
    await enough.wait()
    reporter.end("x")
    assert [r["message"] for r in sink.reports[:4]] == ["7/10 big.py"] * 4
    times = [t for kind, t, _ in sink.events if kind != "end"]
    assert all(b - a >= MIN_INTERVAL for a, b in zip(times, times[1:], strict=False))


async def test_begin_twice_is_an_error() -> None:
    reporter = ProgressReporter(RecordingSink())
    reporter.begin("t")
    with pytest.raises(RuntimeError):
        reporter.begin("t")
    reporter.end("x")


class _Lines(logging.Handler):
    """(level name, message) of each record the task registry logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelname.lower(), record.getMessage()))


@pytest.fixture
def log_lines() -> Iterator[list[tuple[str, str]]]:
    """What the task registry logs during the test, through its logger."""
    logger = logging.getLogger("tapps_lsp.tasks.registry")
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_task_runs_reports_and_ends_with_the_summary() -> None:
    sink = RecordingSink()
    seen = asyncio.Event()

    async def open_sink(task: Task) -> RecordingSink:
        return sink

    async def work(task: Task) -> Outcome:
        task.progress(3, 4, "c.py")
        await sink.reported.wait()
        seen.set()
        return Outcome({"files": 4}, "4 files")

    registry = TaskRegistry(interval=MIN_INTERVAL)
    task = registry.submit("folder-a", "Reviewing workspace", work, open_sink)
    assert task.state is TaskState.QUEUED
    finished = await registry.wait(task.id)
    assert seen.is_set()
    assert finished.state is TaskState.DONE
    assert finished.to_dict() == {
        "taskId": task.id,
        "key": "folder-a",
        "title": "Reviewing workspace",
        "state": "done",
        "done": 3,
        "total": 4,
        "summary": {"files": 4},
        "error": None,
    }
    assert sink.kinds == ["begin", "report", "end"]
    assert sink.reports[0] == {"message": "3/4 c.py", "percentage": 75}
    assert sink.end_message == "4 files"
    assert registry.list() == [task]


async def test_same_key_returns_the_active_task_and_others_queue() -> None:
    release = asyncio.Event()
    started: list[str] = []

    async def work(task: Task) -> Outcome:
        started.append(task.key)
        await release.wait()
        return Outcome({}, "ok")

    registry = TaskRegistry(max_running=1)
    first = registry.submit("a", "t", work)
    assert registry.submit("a", "t", work) is first
    second = registry.submit("b", "t", work)
    assert second is not first
    while first.state is not TaskState.RUNNING:
        await asyncio.sleep(0)
    assert second.state is TaskState.QUEUED
    release.set()
    await registry.wait(second.id)
    assert started == ["a", "b"]
    # mypy keeps the states narrowed across the awaits above.
    assert first.state is second.state is TaskState.DONE  # type: ignore[comparison-overlap]
    # Finished: a new request for the same key starts a new task.
    third = registry.submit("a", "t", work)
    assert third is not first
    await registry.wait(third.id)


async def test_cooperative_cancel_ends_progress_and_marks_cancelled() -> None:
    sink = RecordingSink()
    running = asyncio.Event()

    async def open_sink(task: Task) -> RecordingSink:
        return sink

    async def work(task: Task) -> Outcome:
        task.progress(1, 10, "a.py")
        running.set()
        await task.cancel_event.wait()
        return Outcome({"files": 1}, "1 of 10 files")

    registry = TaskRegistry()
    task = registry.submit("a", "t", work, open_sink)
    await running.wait()
    assert registry.cancel(task.id) is True
    assert registry.cancel(task.id) is True  # already stopping: still a yes
    await registry.wait(task.id)
    assert task.state is TaskState.CANCELLED
    assert task.summary == {"files": 1}
    assert sink.kinds[0] == "begin" and sink.kinds[-1] == "end"
    assert sink.end_message == "Cancelled: 1 of 10 files"
    assert registry.cancel(task.id) is False
    assert registry.cancel("no-such-task") is False


async def test_work_that_ignores_cancel_is_stopped_after_the_grace(
    log_lines: list[tuple[str, str]],
) -> None:
    sink = RecordingSink()
    running = asyncio.Event()

    async def open_sink(task: Task) -> RecordingSink:
        return sink

    async def work(task: Task) -> Outcome:
        task.progress(2, 5)
        running.set()
        await asyncio.Event().wait()  # never set: only a hard cancel ends this
        raise AssertionError("unreachable")

    lines = log_lines
    registry = TaskRegistry(grace=0.05)
    task = registry.submit("a", "t", work, open_sink)
    await running.wait()
    registry.cancel(task.id)
    await sink.ended.wait()
    await registry.wait(task.id)
    assert task.state is TaskState.CANCELLED
    assert sink.end_message == "Cancelled after 2/5 files"
    assert lines and lines[0][0] == "warning"


async def test_cancel_while_queued_never_begins() -> None:
    release = asyncio.Event()
    sink = RecordingSink()

    async def open_sink(task: Task) -> RecordingSink:
        return sink

    async def blocker(task: Task) -> Outcome:
        await release.wait()
        return Outcome({}, "ok")

    async def never(task: Task) -> Outcome:
        raise AssertionError("a cancelled queued task must not run")

    registry = TaskRegistry(max_running=1)
    first = registry.submit("a", "t", blocker)
    queued = registry.submit("b", "t", never, open_sink)
    assert registry.cancel(queued.id) is True
    await registry.wait(queued.id)
    assert queued.state is TaskState.CANCELLED
    assert sink.events == []
    release.set()
    await registry.wait(first.id)
    assert first.state is TaskState.DONE


async def test_failure_is_logged_and_ends_progress(log_lines: list[tuple[str, str]]) -> None:
    sink = RecordingSink()

    async def open_sink(task: Task) -> RecordingSink:
        return sink

    async def work(task: Task) -> Outcome:
        raise OSError("disk on fire")

    lines = log_lines
    registry = TaskRegistry()
    task = registry.submit("a", "t", work, open_sink)
    await registry.wait(task.id)
    assert task.state is TaskState.FAILED
    assert task.error == "OSError: disk on fire"
    assert sink.end_message == "Failed: OSError: disk on fire"
    assert lines[0][0] == "error" and "disk on fire" in lines[0][1]
    assert "Traceback" in lines[0][1]


async def test_a_refused_progress_token_does_not_stop_the_work(
    log_lines: list[tuple[str, str]],
) -> None:
    async def open_sink(task: Task) -> RecordingSink:
        raise RuntimeError("client said no")

    async def work(task: Task) -> Outcome:
        return Outcome({"files": 0}, "nothing")

    lines = log_lines
    registry = TaskRegistry()
    task = registry.submit("a", "t", work, open_sink)
    await registry.wait(task.id)
    assert task.state is TaskState.DONE
    assert lines == [("warning", f"task {task.id}: no progress (RuntimeError: client said no)")]


async def test_shutdown_cancels_active_tasks() -> None:
    running = asyncio.Event()

    async def work(task: Task) -> Outcome:
        running.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    registry = TaskRegistry()
    task = registry.submit("a", "t", work)
    await running.wait()
    await registry.shutdown()
    assert task.state is TaskState.CANCELLED


async def test_on_finish_is_called_once_per_task_whatever_the_end() -> None:
    finished: list[tuple[str, TaskState]] = []
    seen = asyncio.Event()

    def on_finish(task: Task) -> None:
        finished.append((task.key, task.state))
        if len(finished) == 3:
            seen.set()

    release = asyncio.Event()

    async def blocker(task: Task) -> Outcome:
        await release.wait()
        return Outcome({}, "ok")

    async def broken(task: Task) -> Outcome:
        raise ValueError("no")

    registry = TaskRegistry(on_finish=on_finish)
    first = registry.submit("a", "t", blocker)
    queued = registry.submit("b", "t", blocker)
    registry.cancel(queued.id)
    release.set()
    await registry.wait(first.id)
    registry.submit("c", "t", broken)
    await seen.wait()
    assert sorted(finished) == [
        ("a", TaskState.DONE),
        ("b", TaskState.CANCELLED),
        ("c", TaskState.FAILED),
    ]


async def test_cancelled_while_opening_progress_is_not_left_running() -> None:
    asked = asyncio.Event()

    async def open_sink(task: Task) -> RecordingSink:
        asked.set()
        await asyncio.Event().wait()  # a client that never answers the create request
        raise AssertionError("unreachable")

    async def work(task: Task) -> Outcome:
        raise AssertionError("must not run")

    registry = TaskRegistry(grace=0.05)
    task = registry.submit("a", "t", work, open_sink)
    await asked.wait()
    registry.cancel(task.id)
    await registry.wait(task.id)
    assert task.state is TaskState.CANCELLED
    # The key is free again.
    assert registry.submit("a", "t", work, open_sink) is not task
    await registry.shutdown()
