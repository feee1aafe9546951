"""One worker process, seen from its owner (the server, or a `check` run).

A worker is a plain child process, `python -I -c BOOT` (review/worker_main.py):
no multiprocessing, so no fork server and no resource tracker stay beside it.
It starts in our private folder with PYTHONSAFEPATH=1 as well as `-I`, so that
nothing in the workspace can be imported while Python starts, then moves into
our folder. Requests and replies are length-prefixed JSON on two pipes of its
own (review/worker_wire.py); its stdout is /dev/null and its stderr ours.

Two threads of ours serve it: one writes the requests (the event loop never
blocks on a full pipe), one reads the replies, hands results to the asyncio
futures of their requests, re-emits its log records in our log, and ends its
life: once it has been idle for `IDLE_SECONDS` its request pipe is closed and
it exits (the next job starts another). A worker also exits at the end of that
pipe when we close it or end, and at once when our process ends (a pidfd).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tapps_lsp
from tapps_lsp.review import worker_logs
from tapps_lsp.review.analyzers import private_dir
from tapps_lsp.review.worker_wire import Inbox, Message, Timeout, encode, write_all

# A worker with nothing to do for this long exits (about 22 MB of RSS each); the next
# review or scan starts one again, which costs about 0.2 s of CPU (Python and the engine).
IDLE_SECONDS = 20.0
# What the worker runs (`python -I -c BOOT ROOT CONFIG`): ROOT first on sys.path unless it is
# on it already, then review/worker_main.py.
BOOT = (
    "import sys\n"
    "if sys.argv[1] not in sys.path: sys.path.insert(0, sys.argv[1])\n"
    "from tapps_lsp.review.worker_main import main\n"
    "main(sys.argv[2])\n"
)
# ROOT: the folder our package was imported from: the worker imports the same code, even when
# it came from PYTHONPATH (which `-I` ignores).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tapps_lsp.__file__)))


class WorkerStopped(Exception):
    """The worker process ended before it answered: it died, was killed, or could not start."""


class WorkerFailed(Exception):
    """The operation raised in the worker; the message is its repr."""


@dataclass
class _Job:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    on_item: Callable[[Any], None] | None


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return  # cancelled meanwhile
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        pass  # the loop is closed: nobody waits any more


class WorkerProcess:
    """A worker process and the two threads that talk to it."""

    def __init__(self, niceness: int = 0, *, idle_seconds: float | None = IDLE_SECONDS) -> None:
        """Start it: `niceness` lower than our priority, exiting after `idle_seconds` idle.

        OSError when it cannot be started.
        """
        self.niceness = niceness
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._number = 0
        self._closing = False
        self._idle_since: float | None = time.monotonic()
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.process, self._requests, replies = _spawn(niceness)
        self.pid = self.process.pid
        self._inbox = Inbox(replies)
        threading.Thread(target=self._write, name=f"worker-{self.pid}-in", daemon=True).start()
        self._reader = threading.Thread(
            target=self._read, name=f"worker-{self.pid}-out", daemon=True
        )
        self._reader.start()

    # ---- what the pools ask ---------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether it takes requests (not closing, not gone)."""
        return not self._closing

    @property
    def busy(self) -> bool:
        """Whether a request of ours is unanswered."""
        return bool(self._jobs)

    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process.poll() is None

    def submit(
        self, request: Message, on_item: Callable[[Any], None] | None = None
    ) -> asyncio.Future[Any] | None:
        """Send `request`; its future gets the answer (`result`, or None once `done`), or
        WorkerStopped / WorkerFailed. `on_item` gets each `item` on the event loop.
        None when the worker no longer takes requests (it was idle too long, or is gone)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if self._closing:
                return None
            self._number += 1
            number = self._number
            data = encode({**request, "id": number})
            self._jobs[number] = _Job(loop, future, on_item)
            self._idle_since = None
            self._outbox.put(data)
        return future

    def kill(self) -> None:
        """Stop it now, mid-file; what it was asked fails with WorkerStopped."""
        with self._lock:
            self._closing = True
            self._outbox.put(None)
        try:
            self.process.kill()
        except OSError:
            pass

    def close(self, *, wait: bool = False) -> None:
        """Let it finish what it was asked and exit (waiting for that with `wait`)."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._outbox.put(None)
        worker_logs.draining(self._reader)
        if wait and self._reader is not threading.current_thread():
            self._reader.join()

    # ---- its threads ------------------------------------------------------------------------

    def _write(self) -> None:
        """Thread: the requests, in order, until the end (None); then the end of the pipe."""
        try:
            while (data := self._outbox.get()) is not None:
                write_all(self._requests, data)
        except OSError:
            pass  # it is gone: the reading thread fails what was asked
        finally:
            os.close(self._requests)

    def _read(self) -> None:
        """Thread: the replies until the worker's end, then what was left unanswered fails."""
        try:
            while True:
                try:
                    message = self._inbox.next(self._idle_wait())
                except Timeout:
                    self._retire_if_idle()
                    continue
                self._dispatch(message)
        except (EOFError, OSError, ValueError):
            pass  # its end, or a broken stream (ValueError: not JSON)
        finally:
            self._inbox.close()
            if self.alive():
                self.kill()
            self.process.wait()
            self._end()

    def _idle_wait(self) -> float | None:
        with self._lock:
            if self._jobs or self._closing or self._idle_seconds is None:
                return None
            since = self._idle_since if self._idle_since is not None else time.monotonic()
            return self._idle_seconds - (time.monotonic() - since)

    def _retire_if_idle(self) -> None:
        with self._lock:
            if self._jobs or self._closing or self._idle_seconds is None:
                return
            if self._idle_since is None or time.monotonic() - self._idle_since < self._idle_seconds:
                return
            self._closing = True
            self._outbox.put(None)

    def _dispatch(self, message: Message) -> None:
        if "log" in message:
            worker_logs.emit(message["log"], self.pid)
            return
        number = message.get("id")
        with self._lock:
            job = self._jobs.get(number) if isinstance(number, int) else None
            if job is None or not isinstance(number, int):
                return
            if "item" in message:
                if job.on_item is not None:
                    _call_soon(job.loop, job.on_item, message["item"])
                return
            del self._jobs[number]
            if not self._jobs:
                self._idle_since = time.monotonic()
        error = WorkerFailed(str(message["error"])) if "error" in message else None
        _call_soon(job.loop, _settle, job.future, message.get("result"), error)

    def _end(self) -> None:
        with self._lock:
            self._closing = True
            self._outbox.put(None)
            jobs, self._jobs = self._jobs, {}
        status = self.process.returncode
        for job in jobs.values():
            error = WorkerStopped(f"the worker process {self.pid} stopped (status {status})")
            _call_soon(job.loop, _settle, job.future, None, error)


def _spawn(niceness: int) -> tuple[subprocess.Popen[bytes], int, int]:
    """The process, the write end of its request pipe and the read end of its replies."""
    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    config = {
        "requests": requests_read,
        "replies": replies_write,
        "owner": os.getpid(),
        "niceness": niceness,
        "cwd": _current_dir(),
        "level": worker_logs.level(),
    }
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT, _ROOT, json.dumps(config)],
            cwd=private_dir(),
            env={**os.environ, "PYTHONSAFEPATH": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=(requests_read, replies_write),
        )
    except BaseException:
        os.close(requests_write)
        os.close(replies_read)
        raise
    finally:
        os.close(requests_read)
        os.close(replies_write)
    return process, requests_write, replies_read


def _current_dir() -> str | None:
    """Our working directory, for the worker to move into once started; None when it is gone."""
    try:
        return os.getcwd()
    except OSError:
        return None


__all__ = ["IDLE_SECONDS", "WorkerFailed", "WorkerProcess", "WorkerStopped"]
