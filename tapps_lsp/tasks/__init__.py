"""Background work: a task registry and throttled progress.

No LSP imports here: only `lsp_progress.py`, the `$/progress` sink that the
server side imports by its own name, speaks LSP.
"""

from tapps_lsp.tasks.progress import (
    DEFAULT_INTERVAL,
    MIN_INTERVAL,
    NullSink,
    ProgressReporter,
    ProgressSink,
)
from tapps_lsp.tasks.registry import Outcome, Task, TaskRegistry, TaskState

__all__ = [
    "DEFAULT_INTERVAL",
    "MIN_INTERVAL",
    "NullSink",
    "Outcome",
    "ProgressReporter",
    "ProgressSink",
    "Task",
    "TaskRegistry",
    "TaskState",
]
