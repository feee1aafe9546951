"""Throttled work-done progress, independent of LSP.

A task calls `ProgressReporter.update()` as often as it likes (once per
reviewed file); from the first update on, the reporter sends the latest
state once per interval to a `ProgressSink`. A scan of 2,000 cached files
does not flood the client with 2,000 notifications, and while the workers
are busy with a chunk that holds a large file (nothing finishes for
seconds) the client still hears every interval that the task is alive:
spinners keep turning, and a stuck task is told apart from a slow one.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

# Clients redraw on every report; faster than this is noise, slower looks stuck.
DEFAULT_INTERVAL = 0.1
# Hard floor between two reports, whatever the caller asks for.
MIN_INTERVAL = 0.05


class ProgressSink(Protocol):
    """Where progress goes: `$/progress` in the server, a list in tests."""

    def begin(self, title: str, *, percentage: int, cancellable: bool) -> None:
        """The work starts."""

    def report(self, message: str, *, percentage: int) -> None:
        """The work goes on: what is being done, how far."""

    def end(self, message: str) -> None:
        """The work is over, with a summary."""


class NullSink:
    """For clients that cannot show progress: the task runs the same, silently."""

    def begin(self, title: str, *, percentage: int, cancellable: bool) -> None:
        """Nothing to show."""

    def report(self, message: str, *, percentage: int) -> None:
        """Nothing to show."""

    def end(self, message: str) -> None:
        """Nothing to show."""


class ProgressReporter:
    """One begin, a report of the latest state every interval (percentage never going
    back), one end."""

    def __init__(self, sink: ProgressSink, *, interval: float = DEFAULT_INTERVAL) -> None:
        self._sink = sink
        self._interval = max(interval, MIN_INTERVAL)
        self._done = 0
        self._total = 0
        self._current = ""
        self._percentage = 0
        self._last_sent = 0.0
        self._started = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._ended = False

    @property
    def interval(self) -> float:
        """Seconds between two reports."""
        return self._interval

    def begin(self, title: str, *, cancellable: bool = True) -> None:
        """Send begin (percentage 0) and start forwarding updates."""
        if self._ticker is not None:
            raise RuntimeError("progress already begun")
        self._sink.begin(title, percentage=0, cancellable=cancellable)
        self._last_sent = asyncio.get_running_loop().time()
        self._ticker = asyncio.create_task(self._forward(), name="tapps-progress")

    def update(self, done: int, total: int, current: str = "") -> None:
        """Record the latest state; the next report carries it."""
        self._done, self._total, self._current = done, total, current
        self._started.set()

    def end(self, message: str) -> None:
        """Stop reporting and send end; safe to call more than once (only the first counts)."""
        if self._ended:
            return
        self._ended = True
        if self._ticker is not None:
            self._ticker.cancel()
        self._sink.end(message)

    def _message(self) -> str:
        text = f"{self._done}/{self._total}"
        return f"{text} {self._current}" if self._current else text

    async def _forward(self) -> None:
        loop = asyncio.get_running_loop()
        await self._started.wait()  # no state to show before the first update
        while True:
            # A loop: timers may fire a clock tick early, and the floor is a promise.
            while (wait := self._last_sent + self._interval - loop.time()) > 0:
                await asyncio.sleep(wait)
            if self._total:
                # The total can grow while discovery runs; the bar must never go back.
                percentage = min(100, self._done * 100 // self._total)
                self._percentage = max(self._percentage, percentage)
            self._sink.report(self._message(), percentage=self._percentage)
            self._last_sent = loop.time()
