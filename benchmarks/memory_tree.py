"""Memory of a whole process tree: RSS and PSS summed over a server and every descendant.

PSS comes from /proc/PID/smaps_rollup (pages shared between the server and its forked
workers divided among them); RSS counts a shared page once per process. Both are
summed over the server, its workers, the fork server, the resource tracker and any
ruff child alive at the moment of the sample.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

_MB = 1024 * 1024


@dataclass(frozen=True)
class ProcessMemory:
    """One process at one moment: its kind, RSS and PSS in MB."""

    pid: int
    role: str
    rss_mb: float
    pss_mb: float


@dataclass(frozen=True)
class TreeMemory:
    """A whole tree at one moment (`t` in seconds on the sampler's clock)."""

    t: float
    processes: tuple[ProcessMemory, ...]

    @property
    def server_rss_mb(self) -> float:
        """RSS of the root process alone."""
        return self.processes[0].rss_mb if self.processes else 0.0

    @property
    def rss_mb(self) -> float:
        """RSS summed over the tree."""
        return sum(process.rss_mb for process in self.processes)

    @property
    def pss_mb(self) -> float:
        """PSS summed over the tree."""
        return sum(process.pss_mb for process in self.processes)

    def by_role(self) -> dict[str, dict[str, float]]:
        """For each kind of process: how many, and their summed RSS and PSS."""
        roles: dict[str, dict[str, float]] = {}
        for process in self.processes:
            entry = roles.setdefault(process.role, {"count": 0, "rss_mb": 0.0, "pss_mb": 0.0})
            entry["count"] += 1
            entry["rss_mb"] = round(entry["rss_mb"] + process.rss_mb, 1)
            entry["pss_mb"] = round(entry["pss_mb"] + process.pss_mb, 1)
        return roles

    def to_dict(self) -> dict[str, object]:
        """The figures a report keeps of one sample."""
        return {
            "server_rss_mb": round(self.server_rss_mb, 1),
            "tree_rss_mb": round(self.rss_mb, 1),
            "tree_pss_mb": round(self.pss_mb, 1),
            "processes": len(self.processes),
            "by_role": self.by_role(),
        }


def pss_mb(pid: int) -> float:
    """The process's PSS in MB from /proc/PID/smaps_rollup (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def role(process: psutil.Process, root_pid: int) -> str:
    """server, worker, forkserver, resource tracker, ruff ... from place and command line."""
    if process.pid == root_pid:
        return "server"
    cmdline = " ".join(process.cmdline())
    if "ruff" in process.name():  # first: its command line lists the files it lints
        return "ruff"
    if "worker_main" in cmdline:  # our own workers (issue 17)
        return "scan/interactive worker"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "forkserver" in cmdline:
        parent = process.parent()
        parent_line = " ".join(parent.cmdline()) if parent is not None else ""
        return "scan/interactive worker" if "forkserver" in parent_line else "forkserver"
    return process.name()


def measure_tree(root_pid: int, started: float = 0.0) -> TreeMemory:
    """RSS and PSS of `root_pid` and every descendant now."""
    try:
        root = psutil.Process(root_pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return TreeMemory(time.perf_counter() - started, ())
    found = []
    for process in members:
        with contextlib.suppress(psutil.Error):
            found.append(
                ProcessMemory(
                    process.pid,
                    role(process, root_pid),
                    process.memory_info().rss / _MB,
                    pss_mb(process.pid),
                )
            )
    return TreeMemory(time.perf_counter() - started, tuple(found))


@dataclass
class TreeSampler:
    """Samples a process tree every `interval_s` on a thread of its own.

    A thread rather than the client's event loop: reading smaps_rollup of ten processes
    takes a millisecond or two, which would delay the client's reads.
    """

    pid: int
    interval_s: float = 0.1
    samples: list[TreeMemory] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        """Starts sampling; returns self."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops sampling and waits for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def now(self) -> float:
        """Seconds on the sampler's clock."""
        return time.perf_counter() - self.started

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(measure_tree(self.pid, self.started))
            self._stop.wait(self.interval_s)

    def between(self, start: float, end: float) -> list[TreeMemory]:
        """The samples taken between two moments of the sampler's clock."""
        return [sample for sample in self.samples if start <= sample.t <= end]


def peaks(samples: list[TreeMemory]) -> dict[str, object]:
    """Peak server RSS, tree RSS and tree PSS over `samples`, and the peak per process kind."""
    if not samples:
        return {}
    per_role: dict[str, dict[str, float]] = {}
    for sample in samples:
        for name, entry in sample.by_role().items():
            best = per_role.setdefault(name, {"count": 0, "rss_mb": 0.0, "pss_mb": 0.0})
            for key in ("count", "rss_mb", "pss_mb"):
                best[key] = max(best[key], entry[key])
    return {
        "server_rss_mb": round(max(s.server_rss_mb for s in samples), 1),
        "tree_rss_mb": round(max(s.rss_mb for s in samples), 1),
        "tree_pss_mb": round(max(s.pss_mb for s in samples), 1),
        "processes": max(len(s.processes) for s in samples),
        "by_role_peak": per_role,
    }


def timeline(samples: list[TreeMemory], origin: float, limit: int = 600) -> list[list[float]]:
    """[t, server RSS, tree RSS, tree PSS, processes] rows, thinned to about `limit`."""
    step = max(1, len(samples) // limit)
    return [
        [
            round(sample.t - origin, 2),
            round(sample.server_rss_mb, 1),
            round(sample.rss_mb, 1),
            round(sample.pss_mb, 1),
            len(sample.processes),
        ]
        for sample in samples[::step]
    ]
