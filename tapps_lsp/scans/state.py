"""What the server keeps of workspace reviews (`ls.scans`): tasks, results, the last scan.

State only: the server creates it before any feature exists, and the scan
modules (runner, results, watch) act on it through the server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from tapps_lsp.folders import Folder
from tapps_lsp.reports.summary import Run
from tapps_lsp.tasks import TaskRegistry

log = logging.getLogger(__name__)

# The result id of a file that is gone: its report is empty.
GONE = "gone"


@dataclass
class Entry:
    """What the client was given for a file that is not open: diagnostics and result id.

    Kept only for files with diagnostics (and, for a pull client, a file whose
    diagnostics went: its empty report). A push client holds what it was sent, so
    its entries keep the count, not the diagnostics.
    """

    uri: str
    folder: str
    result_id: str
    diagnostics: list[types.Diagnostic]
    count: int = 0


@dataclass
class LastScan:
    """What `tapps.exportReport` needs of the last finished scan: its folders and run.

    Not its reviews: the report reads them back from the cache when it is written.
    """

    folders: list[Folder]
    run: Run
    root: Path


class ScanState:
    """The state of workspace reviews for one server."""

    def __init__(self) -> None:
        # A held-open workspace/diagnostic that streams a scan returns when the scan ends.
        self.tasks = TaskRegistry(on_finish=lambda task: self.notify())
        # Re-reviews of files changed outside the editor: quiet, never queued behind a scan.
        self.refreshes = TaskRegistry()
        self.entries: dict[str, Entry] = {}
        self.published: set[str] = set()
        self.scanned: set[str] = set()
        self.last: LastScan | None = None
        self._changed = asyncio.Event()

    @property
    def changed(self) -> asyncio.Event:
        """Set (and replaced) at the next change of the entries or the end of a scan."""
        return self._changed

    def notify(self) -> None:
        """Wake every held-open workspace/diagnostic request."""
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def scanning(self) -> bool:
        """Whether a scan is queued or running."""
        return any(task.active for task in self.tasks.list())

    def active_covering(self, folder_uri: str) -> list[str]:
        """The ids of the active scans that cover a workspace folder."""
        return [
            task.id
            for task in self.tasks.list()
            if task.active and folder_uri in task.key.split("\n")
        ]
