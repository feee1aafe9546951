"""Lifetime hit and miss counters of a cache directory, summed over every process.

A process counts its own lookups in memory; `flush` adds what it counted
since its last flush to `lifetime.json` beside the results, under an
exclusive lock, so `tapps-lsp cache stats` (a process that looks nothing
up) shows what the servers and `check` runs did. The file is ours (in the
user's cache directory), small, and rewritten atomically; a file that is
not ours to read or write leaves the counters at what this process counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: the counters are then summed without a lock
    fcntl = None  # type: ignore[assignment]

FILE = "lifetime.json"
_MAX_BYTES = 4096


class Lifetime:
    """The counters in `directory/lifetime.json` (nothing when `directory` is None)."""

    def __init__(self, directory: Path | None) -> None:
        self.path = None if directory is None else directory / FILE
        self._flushed = (0, 0)
        self._lock = threading.Lock()

    def totals(self) -> dict[str, Any]:
        """{"hits", "misses", "since"} of every process that used the directory."""
        data = _read(self.path) if self.path is not None else {}
        return {
            "hits": int(data.get("hits", 0)),
            "misses": int(data.get("misses", 0)),
            "since": data.get("since"),
        }

    def flush(self, hits: int, misses: int) -> None:
        """Add this process's lookups since the last flush to the file."""
        if self.path is None:
            return
        with self._lock:
            delta = (hits - self._flushed[0], misses - self._flushed[1])
            if delta == (0, 0):
                return
            with contextlib.suppress(OSError):
                _add(self.path, delta)
                self._flushed = (hits, misses)


def _add(path: Path, delta: tuple[int, int]) -> None:
    """Add `delta` to the counters in `path`, under an exclusive lock, atomically."""
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        data = _read(path)
        data = {
            "hits": int(data.get("hits", 0)) + delta[0],
            "misses": int(data.get("misses", 0)) + delta[1],
            "since": data.get("since") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        # 0600 whatever the umask, never through a link: private_dir.py refuses a cache
        # directory holding anything other users could write to.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        with open(os.open(temporary, flags, 0o600), "w") as writer:
            writer.write(json.dumps(data))
        os.replace(temporary, path)
    finally:
        os.close(fd)


def _read(path: Path) -> dict[str, Any]:
    """The counters file's object, or {} when it is missing, unreadable or not ours."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        with open(fd, "rb") as reader:
            data = json.loads(reader.read(_MAX_BYTES))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    counts = (data.get("hits"), data.get("misses"))
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        return {}
    return data
