"""`$/progress` as a `ProgressSink`: the one module of tasks/ that speaks LSP.

Progress always uses a token the server creates: pygls 2.1.1 hands a command
handler its arguments only, not the request's `workDoneToken`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.progress import Progress

from tapps_lsp.tasks.progress import NullSink, ProgressSink


class LspProgress:
    """`$/progress` on one token."""

    def __init__(self, progress: Progress, token: str) -> None:
        self._progress = progress
        self._token = token

    def begin(self, title: str, *, percentage: int, cancellable: bool) -> None:
        """Send the begin notification."""
        self._progress.begin(
            self._token,
            types.WorkDoneProgressBegin(
                title=title, percentage=percentage, cancellable=cancellable
            ),
        )

    def report(self, message: str, *, percentage: int) -> None:
        """Send one report notification."""
        self._progress.report(
            self._token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def end(self, message: str) -> None:
        """Send the end notification."""
        self._progress.end(self._token, types.WorkDoneProgressEnd(message=message))


async def open_progress(ls: LanguageServer, on_cancel: Callable[[], object]) -> ProgressSink:
    """A new progress token, when the client shows progress; `on_cancel` runs on the loop
    when the user cancels it from the client's progress UI."""
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return NullSink()
    token = str(uuid.uuid4())
    await ls.work_done_progress.create_async(token)
    loop = asyncio.get_running_loop()

    def cancelled(future: Any) -> None:
        if future.cancelled():
            loop.call_soon_threadsafe(on_cancel)

    # pygls cancels this future on window/workDoneProgress/cancel.
    ls.work_done_progress.tokens[token].add_done_callback(cancelled)
    return LspProgress(ls.work_done_progress, token)
