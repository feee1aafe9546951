"""Giving memory back to the system after a burst of work.

CPython keeps freed objects' pages in its own arenas and glibc keeps freed heap
pages for the process: after a scan the server would stay at its peak. A full
collection frees the cycles a scan left, and glibc's `malloc_trim` returns the
free pages at the top and inside the heap.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, from the symbols already loaded; None without glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _malloc_trim()


def trim() -> None:
    """Return the heap pages freed since the last call to the system (glibc only)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def release() -> None:
    """Collect every generation, then `trim`: after a scan, not on a hot path (a few ms)."""
    gc.collect()
    trim()
