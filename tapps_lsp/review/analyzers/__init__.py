"""Analyzers: each turns one file's text into findings and raw metrics.

Each implements the `Analyzer` protocol (`base.py`) and is listed in
`registry.py`, which is all the engine knows of them. Shared here: the error an
analyzer raises when its tool cannot run, the one way we start a tool process
(argument list, no shell, a private working directory, a timeout that kills the
whole process group, the command logged), and the CPU budget that stops a
file's in-process analysis.
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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

LOG = logging.getLogger("tapps_lsp.review")


class ToolError(Exception):
    """An analyzer could not run; the message names what went wrong, for the user."""


class OverBudget(BaseException):  # noqa: N818 - it is the event, not an error of ours
    """A file's in-process analysis used up its CPU budget (`cpu_budget`).

    A BaseException, so that a tool's own `except Exception` cannot swallow it.
    """


_budget_armed = False


def _over_budget(signum: int, frame: object) -> None:
    # Installed once and left in place: a signal already on its way when the
    # budget was disarmed then finds this handler, never the default (which would
    # end the process).
    if _budget_armed:
        raise OverBudget


@contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Raise OverBudget once the block has used `seconds` of this process's CPU.

    CPU time (ITIMER_PROF), not wall time, so a loaded machine does not push a
    file over, and a runaway analysis is stopped all the same. Time spent
    waiting on a tool process (ruff, mypy; bounded by toolTimeout) does not
    count. A call into C (`ast.parse`) cannot be interrupted: the budget is
    found spent when it returns. Signals reach only the main thread, which is
    where worker processes run reviews; elsewhere, or when someone else (a
    profiler) owns the timer, the block runs unbounded rather than stealing it.
    """
    global _budget_armed
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_PROF) != (0.0, 0.0)
        or signal.getsignal(signal.SIGPROF) not in (signal.SIG_DFL, _over_budget)
    ):
        yield
        return
    signal.signal(signal.SIGPROF, _over_budget)
    _budget_armed = True
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        _budget_armed = False


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
    """A tool process that ran to its end."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run_tool(
    name: str,
    argv: list[str],
    *,
    stdin: bytes | None,
    timeout: float,
    env: dict[str, str] | None = None,
) -> Completed:
    """Run a tool to completion or kill its process group after `timeout` seconds."""
    shown = argv if len(argv) <= 20 else [*argv[:20], f"... ({len(argv) - 20} more)"]
    LOG.debug("running %s (cwd %s, timeout %g s)", shlex.join(shown), private_dir(), timeout)
    started = time.perf_counter()
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
    LOG.debug("%s exited %d after %.3f s", name, proc.returncode, time.perf_counter() - started)
    return Completed(proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a tool's whole process group and reap the tool."""
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
