"""The package's log, shown in the client's output channel during a session.

Each record reaches the client once, as window/logMessage with its own level.
Not also on stderr: clients show a server's stderr as errors (VS Code's output
channel logged every review twice, once as a red `[error]`). Stderr keeps what
comes before the session and after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from lsprotocol import types

from tapps_lsp.config import LOG_LEVELS

PACKAGE_LOGGER = "tapps_lsp"
MESSAGE_TYPES = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
    logging.DEBUG: types.MessageType.Log,
}


class LspLogHandler(logging.Handler):
    """Forwards `tapps_lsp` log records to `send` as window/logMessage parameters."""

    def __init__(self, send: Callable[[types.LogMessageParams], None]):
        super().__init__()
        self.send = send
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Send one record (from any thread: `send` takes it to the event loop)."""
        try:
            message = self.format(record)
            kind = MESSAGE_TYPES.get(record.levelno, types.MessageType.Log)
            self.send(types.LogMessageParams(type=kind, message=message))
        except Exception:  # a log call must never break the server
            self.handleError(record)

    def attach(self) -> None:
        """From now on the package's log goes to the client, and only to it."""
        logger = logging.getLogger(PACKAGE_LOGGER)
        logger.addHandler(self)
        logger.propagate = False

    def detach(self) -> None:
        """The session is over: the log goes to stderr again."""
        logger = logging.getLogger(PACKAGE_LOGGER)
        logger.removeHandler(self)
        logger.propagate = True


def set_level(name: str) -> None:
    """Set the package's log level by its settings name (unknown names mean info)."""
    logging.getLogger(PACKAGE_LOGGER).setLevel(LOG_LEVELS.get(name, logging.INFO))


def most_verbose(names: Iterable[str]) -> str:
    """The name among `names` that shows the most (unknown names count as info)."""
    return min(names, key=lambda name: LOG_LEVELS.get(name, logging.INFO))
