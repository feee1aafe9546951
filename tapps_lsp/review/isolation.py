"""Starting Python processes that cannot import anything from the workspace.

`python -c CODE` puts its current directory first on sys.path, and so does
`python -m`. multiprocessing starts the fork server, the resource tracker and
spawned workers as `python -c 'from multiprocessing... import main; ...'` in
the parent's current directory, which is the workspace when an editor starts
us there (or `tapps-lsp check` runs inside a repository): a `multiprocessing/`
or `tapps_lsp/` folder planted there would be imported by them. Two guards:

- PYTHONSAFEPATH=1 in our environment (inherited by every child): Python 3.11+
  leaves the current directory off sys.path. It does not help a child started
  with `-E` (multiprocessing passes our own `-E` on), hence:
- the fork server and the resource tracker start in a private, empty
  directory of our own. The workers fork from the fork server and then move
  into the owner's directory (relative paths given to `check` mean that
  folder), dropping the cwd-relative entries of sys.path first.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing import forkserver, resource_tracker
from typing import Any

from tapps_lsp.review.analyzers import private_dir

# chdir is process-wide: one start at a time.
_CHDIR = threading.Lock()


def isolate_children() -> None:
    """Make every Python this process starts leave its current directory off sys.path."""
    os.environ["PYTHONSAFEPATH"] = "1"


def mp_context() -> Any:
    """The multiprocessing context for worker pools, its helper processes started safely.

    forkserver where it exists (forking a server that runs threads is unsafe, and spawn
    pays interpreter start-up per process), with the engine preloaded; else spawn.
    """
    isolate_children()
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Workers fork from a server that has already imported the engine.
    context.set_forkserver_preload(["tapps_lsp.review.preload"])
    # Both before the pool exists: creating the pool's queues starts the resource tracker.
    run_in_private_dir(resource_tracker.ensure_running)
    run_in_private_dir(forkserver.ensure_running)
    return context


def current_dir() -> str | None:
    """This process's working directory, for workers to move into once started; None when
    it is gone."""
    try:
        return os.getcwd()
    except OSError:
        return None


def run_in_private_dir(start: Callable[[], None]) -> None:
    """Call `start` (which starts a process) with our private directory as the cwd.

    The cwd is process-wide, so this holds a lock and comes back to the previous
    directory by a handle (even if it was renamed). Nothing in tapps-lsp uses a
    relative path once it runs: the paths it reads are absolute.
    """
    with _CHDIR:
        try:
            previous = os.open(".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            previous = None  # a deleted or unreadable cwd: nothing to come back to
        os.chdir(private_dir())
        try:
            start()
        finally:
            if previous is not None:
                os.fchdir(previous)
                os.close(previous)
