"""Worker processes log into their owner's log.

A worker is a process of its own: without this, its log records (the tool
command lines and times at debug, a tool's warnings) went nowhere, or to
stderr past the owner's handlers. A worker starts with its owner's level; its
`tapps_lsp` logger sends each record, as a JSON object, on the pipe its
results travel on (`attach`), and the owner's thread that reads that pipe hands
it to the owner's logger of the same name (`emit`), so it reaches the terminal
(`check`) or the editor (window/logMessage) as the owner's own records do, once.

The level is the owner's when the worker starts: a worker started before a
level change keeps the level it had.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

_LOGGER = "tapps_lsp"
_lock = threading.Lock()
# The reading threads of workers asked to exit: `flush` waits for them.
_draining: list[threading.Thread] = []
# How long `flush` waits for a worker that does not exit (it is then killed by its owner's end).
_FLUSH_SECONDS = 10.0


def level() -> int:
    """The owner's level, for a worker about to start."""
    return logging.getLogger(_LOGGER).getEffectiveLevel()


class _ToOwner(logging.Handler):
    """In a worker: sends each record to the owner as JSON values."""

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self._send = send

    def handle(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        try:
            self._send(
                {
                    "log": {
                        "name": record.name,
                        "levelno": record.levelno,
                        "msg": text,
                        "created": record.created,
                    }
                }
            )
        except OSError:
            pass  # the owner is gone: so is anyone to read it
        return True

    def emit(self, record: logging.LogRecord) -> None:  # handle() does the work
        pass


def attach(level: int, send: Callable[[dict[str, Any]], None]) -> None:
    """In a worker: send `tapps_lsp` records of `level` and above to the owner, and only there."""
    logger = logging.getLogger(_LOGGER)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(_ToOwner(send))
    logger.propagate = False


def emit(value: Any, pid: int) -> None:
    """In the owner: hand a worker's record (`attach`'s JSON values) to our logger of its name."""
    if not isinstance(value, dict):
        return
    name = str(value.get("name", _LOGGER))
    levelno = value.get("levelno")
    if not isinstance(levelno, int):
        return
    logger = logging.getLogger(name)
    if not logger.isEnabledFor(levelno):
        return
    record = logging.makeLogRecord(
        {
            "name": name,
            "levelno": levelno,
            "levelname": logging.getLevelName(levelno),
            "msg": str(value.get("msg", "")),
            "process": pid,
            "processName": "worker",
        }
    )
    created = value.get("created")
    if isinstance(created, float):
        record.created = created
        record.msecs = (created - int(created)) * 1000
    logger.handle(record)


def draining(thread: threading.Thread) -> None:
    """A worker was asked to exit: `thread` reads its last records until it has."""
    with _lock:
        _draining[:] = [t for t in _draining if t.is_alive()]
        _draining.append(thread)


def flush() -> None:
    """Hand on every record that workers asked to exit sent: wait until they have exited
    and their pipes are read to the end (graceful shutdown, after finished work)."""
    with _lock:
        threads = list(_draining)
        _draining.clear()
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join(_FLUSH_SECONDS)
