"""A worker process: reads requests from its owner's pipe, answers on another.

Started by review/worker_process.py as `python -I -c BOOT ROOT CONFIG` (`BOOT` is there) in the
owner's private folder (never the workspace), `BOOT` putting the folder our
package was imported from (ROOT) first on sys.path when it is not already on
it. `CONFIG` is JSON: the two pipes' descriptors, the owner's pid, the
niceness, the owner's folder to move into and the log level.

The worker ends at the end of its request pipe (its owner closed it, or
ended), and at once when its owner's process ends (a pidfd), even mid-file.
Its stdout is /dev/null: nothing a tool prints can reach a pipe.
"""

from __future__ import annotations

import json
import os
import select
import sys
import threading
import time

from tapps_lsp.review import engine, worker, worker_logs, worker_wire
from tapps_lsp.review.worker_wire import Message


class _Replies:
    """The reply pipe; one message at a time (the log handler may write from any thread)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        data = worker_wire.encode(message)
        with self._lock:
            worker_wire.write_all(self.fd, data)


def main(config_json: str) -> None:
    """Run the worker until its request pipe ends."""
    config = json.loads(config_json)
    requests, replies = int(config["requests"]), int(config["replies"])
    for fd in (requests, replies):
        os.set_inheritable(fd, False)  # not handed on to ruff
    out = _Replies(replies)
    worker_logs.attach(int(config["level"]), out.send)
    _settle(config.get("cwd"), int(config.get("niceness", 0)))
    threading.Thread(
        target=_end_with, args=(int(config["owner"]),), name="end-with-owner", daemon=True
    ).start()
    engine.warm_up()
    inbox = worker_wire.Inbox(requests)
    try:
        while True:
            _serve(inbox.next(), out)
    except (EOFError, BrokenPipeError):
        return  # the owner closed our pipe, or is gone


def _settle(cwd: str | None, niceness: int) -> None:
    """Move into the owner's folder and lower our priority."""
    # Entries relative to the cwd would follow it (`-I` adds none: kept as a guard).
    sys.path[:] = [entry for entry in sys.path if entry and os.path.isabs(entry)]
    if cwd is not None:
        # Started elsewhere, so that nothing in the owner's folder could be imported while
        # Python started; relative paths of a `check` mean that folder.
        try:
            os.chdir(cwd)
        except OSError:
            pass  # gone: the owner's relative paths are unreadable to it as well
    if niceness > 0:
        try:
            os.nice(niceness)
        except OSError:
            pass  # not allowed here: run at the owner's priority


def _serve(request: Message, out: _Replies) -> None:
    """Answer one request; a failure of the operation is its answer, never our end."""
    number = request.get("id")
    try:
        settings = worker_wire.settings_from_dict(request["settings"])
        if request.get("op") == "analyze":
            result = engine.analyze(request["text"], settings, filename=request["path"])
            out.send({"id": number, "result": result.to_dict()})
        elif request.get("op") == "chunk":
            for item in worker.analyze_chunk(list(request["paths"]), settings):
                out.send({"id": number, "item": item.to_wire()})
            out.send({"id": number, "done": True})
        else:
            out.send({"id": number, "error": f"unknown operation {request.get('op')!r}"})
    except BrokenPipeError:
        raise  # the owner is gone: so is anyone to answer
    except Exception as exc:  # noqa: BLE001 - the owner reports it, as an executor would
        out.send({"id": number, "error": repr(exc)})


def _end_with(owner: int) -> None:
    """Exit this worker once `owner` (the server, or a `check` run) has ended, even mid-file.

    A pidfd becomes readable when its process ends; without one (Linux < 5.3),
    the owner is looked for every second.
    """
    try:
        handle = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):
        while _exists(owner):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])
    os._exit(0)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, and someone else's
    return True
