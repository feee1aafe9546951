"""Worker processes log into their owner's log.

A worker is a process of its own: without this, its log records (the tool
command lines and times at debug, a tool's warnings) went nowhere, or to
stderr past the owner's handlers. Each pool's initializer gets the owner's
level and a queue; the worker's `tapps_lsp` logger puts its records there,
and a thread of the owner hands each to the owner's logger of the same name,
so they reach the terminal (`check`) or the editor (window/logMessage) as the
owner's own records do, once.

The level is the owner's when the pool starts: a pool started before a level
change keeps the level it had.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from typing import Any

_LOGGER = "tapps_lsp"
_lock = threading.Lock()
# One queue and its listener thread per multiprocessing context, until `flush`.
_queues: dict[int, tuple[Any, logging.handlers.QueueListener]] = {}


class _ToOwner(logging.Handler):
    """Hands a worker's record to this process's logger of the same name."""

    def handle(self, record: logging.LogRecord) -> bool:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # handle() does the work
        pass


def for_workers(context: Any) -> tuple[int, Any]:
    """(level, queue) for a pool's initializer: the owner's level, the queue its listener reads.

    `context` is the pool's multiprocessing context: its workers can only be handed
    a queue made by the same context.
    """
    level = logging.getLogger(_LOGGER).getEffectiveLevel()
    with _lock:
        entry = _queues.get(id(context))
        if entry is None:
            queue = context.Queue()
            listener = logging.handlers.QueueListener(queue, _ToOwner())
            listener.start()
            entry = _queues[id(context)] = (queue, listener)
    return level, entry[0]


def flush() -> None:
    """Hand on every record the workers sent, then stop the listeners.

    Call it once the pools' workers have exited (a worker's queue writes its
    buffer to the pipe as it exits): the sentinel each listener stops at is
    written after their records, so none is lost. The next pool starts anew.
    """
    with _lock:
        entries = list(_queues.values())
        _queues.clear()
    for _queue, listener in entries:
        listener.stop()


def attach(level: int, queue: Any) -> None:
    """In a worker: send `tapps_lsp` records of `level` and above to the owner, and only there."""
    logger = logging.getLogger(_LOGGER)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.handlers.QueueHandler(queue))
    logger.propagate = False
