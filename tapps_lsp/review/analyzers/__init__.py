"""Analyzers: each turns one file's text into findings and raw metrics.

Shared here: the error an analyzer raises when its tool cannot run, the one
way we start a tool process (argument list, no shell, a private working
directory, a timeout that kills the whole process group, the command logged),
and the deadline that stops an in-process analyzer.
"""

from __future__ import annotations

import atexit
import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

LOG = logging.getLogger("tapps_lsp.review")


class ToolError(Exception):
    """An analyzer could not run; the message names what went wrong, for the user."""


class Expired(BaseException):  # noqa: N818 - it is the event, not an error of ours
    """An in-process analyzer ran out of time.

    A BaseException, so that a tool's own `except Exception` cannot swallow it.
    """


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise Expired in the running analyzer after `seconds`.

    Signals reach only the main thread, which is where worker processes run
    reviews; elsewhere, or when another interval timer is already running (a
    test runner's), the analyzer runs unbounded rather than stealing that timer.
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0)
    ):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@cache
def private_dir() -> str:
    """A directory of our own per process: the tools' cwd and home of temp files.

    Never the workspace, so that nothing there (a `ruff.toml`, a `mypy.py`) can
    shadow or configure the tools.
    """
    path = tempfile.mkdtemp(prefix="tapps-lsp-")
    atexit.register(shutil.rmtree, path, True)
    return path


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


def run_tool(
    name: str, argv: list[str], *, stdin: bytes | None, timeout: float, env: dict | None = None
) -> Completed:
    """Run a tool to completion or kill its process group after `timeout` seconds."""
    shown = argv if len(argv) <= 20 else [*argv[:20], f"... ({len(argv) - 20} more)"]
    LOG.debug("running %s (cwd %s, timeout %g s)", shlex.join(shown), private_dir(), timeout)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=private_dir(),
            env=env,
            # Its own process group, so a timeout also stops any children it started.
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolError(f"{name} could not start: {exc.strerror or exc}") from exc
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ToolError(f"{name} timed out after {timeout:g} s") from None
    except BaseException:
        _kill_group(proc)
        raise
    return Completed(proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # Windows: no process groups to signal
            proc.kill()
    except ProcessLookupError:
        pass
    proc.communicate()


def first_lines(data: bytes, count: int = 3) -> str:
    """The first non-empty lines of a tool's stderr, joined into a one-line message."""
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return "; ".join(lines[:count])[:400]
