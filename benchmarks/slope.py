"""Memory against the number of files a scan has done, and its slope in bytes per file.

A scan's `$/progress` reports say how many files are done ("1234/20000 ..."). A memory
sample keyed by that count rather than by time does not move with the machine's load:
a busy machine makes the scan slower, not its memory per file larger. The slope is a
least-squares fit of RSS against files done over the part of the scan after warm-up
(from 25 % of the files by default), where a design whose memory is flat in the number
of files shows about 0 and one that keeps state per file shows that state's size.

Used by tests/perf/test_memory_slope.py (samples taken as each report arrives) and by
benchmarks/memory.py (time-based samples mapped to the count reported before them).
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

_MB = 1024 * 1024
_DONE = re.compile(r"(\d+)/(\d+)")
# Where the fit starts: the first quarter holds the start-up of the workers and of ruff.
START_FRACTION = 0.25


def files_done(message: object) -> tuple[int, int] | None:
    """(done, total) of a scan's progress report message ("1234/20000 pkg/mod.py")."""
    if not isinstance(message, str):
        return None
    found = _DONE.match(message)
    return (int(found[1]), int(found[2])) if found else None


@dataclass(frozen=True)
class CountSample:
    """The process tree's memory when `done` of `total` files were reported done."""

    done: int
    total: int
    server_rss_mb: float
    tree_rss_mb: float
    processes: int
    server_hwm_mb: float = 0.0  # the kernel's peak RSS of the server so far (VmHWM)


def _hwm_mb(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def sample_tree(pid: int, done: int, total: int) -> CountSample:
    """RSS of `pid` and of it plus every live descendant now, keyed by `done`."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
        server = root.memory_info().rss / _MB
    except psutil.Error:
        return CountSample(done, total, 0.0, 0.0, 0)
    tree = 0.0
    alive = 0
    for process in members:
        with contextlib.suppress(psutil.Error):
            tree += process.memory_info().rss / _MB
            alive += 1
    return CountSample(done, total, server, tree, alive, _hwm_mb(pid))


def least_squares_slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The slope of the least-squares line through (x, y) points; None under 2 x values."""
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def in_window(
    samples: Sequence[CountSample], start_fraction: float = START_FRACTION
) -> list[CountSample]:
    """The samples taken once `start_fraction` of the files were done."""
    return [s for s in samples if s.total and s.done >= start_fraction * s.total]


def bytes_per_file(
    samples: Sequence[CountSample], key: str, start_fraction: float = START_FRACTION
) -> float | None:
    """Slope of `key` (an MB field of CountSample) against files done, in bytes per file."""
    points = [(float(s.done), float(getattr(s, key))) for s in in_window(samples, start_fraction)]
    slope = least_squares_slope(points)
    return None if slope is None else slope * _MB


def keyed_by_count(
    samples: Sequence[tuple[float, float, float, int]],
    reports: Sequence[tuple[float, int, int]],
) -> list[CountSample]:
    """Time-based samples (t, server MB, tree MB, processes) keyed by the count of the last
    report (t, done, total) received at or before each; samples before any report are
    dropped. Both clocks must be the same."""
    times = [t for t, _, _ in reports]
    keyed = []
    for t, server, tree, processes in samples:
        index = bisect.bisect_right(times, t) - 1
        if index >= 0:
            _, done, total = reports[index]
            keyed.append(CountSample(done, total, server, tree, processes))
    return keyed


def describe(samples: Sequence[CountSample], start_fraction: float = START_FRACTION) -> str:
    """The figures of a run in one paragraph: samples, RSS at the window's ends, slopes."""
    window = in_window(samples, start_fraction)
    if not window:
        return f"{len(samples)} samples, none after {start_fraction:.0%} of the files"
    first, last = window[0], window[-1]
    slopes = ", ".join(
        f"{name} {value:.0f} B/file" if value is not None else f"{name} n/a"
        for name, value in (
            ("server", bytes_per_file(samples, "server_rss_mb", start_fraction)),
            ("tree", bytes_per_file(samples, "tree_rss_mb", start_fraction)),
            ("server peak (VmHWM)", bytes_per_file(samples, "server_hwm_mb", start_fraction)),
        )
    )
    return (
        f"{len(window)} of {len(samples)} samples from {first.done:,} to {last.done:,} of "
        f"{last.total:,} files; server {first.server_rss_mb:.0f} -> {last.server_rss_mb:.0f} MB, "
        f"tree {first.tree_rss_mb:.0f} -> {last.tree_rss_mb:.0f} MB "
        f"(peak {max(s.tree_rss_mb for s in samples):.0f} MB in up to "
        f"{max(s.processes for s in samples)} processes); slope {slopes}"
    )
