"""Memory of a server and of the worker processes it started (psutil)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

_MB = 1024 * 1024


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS of the process alone and with its descendants, in MB."""
    server = 0.0
    total = 0.0
    for index, process in enumerate(_tree(pid)):
        with contextlib.suppress(psutil.Error):
            rss = process.memory_info().rss / _MB
            total += rss
            if index == 0:
                server = rss
    return {"server": server, "total": total}


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process, its live descendants, and the
    children they have reaped (ruff's short-lived subprocesses)."""
    total = 0.0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass
class RssSampler:
    """Samples a process tree every `interval_s` while a scenario runs.

    RSS counts pages shared between the server and its forked workers once
    per process; PSS shares them out, so both are kept (PSS less often: it
    reads every mapping of every process).
    """

    pid: int
    interval_s: float = 0.05
    pss_every: int = 10
    server_peak: float = 0.0
    total_peak: float = 0.0
    pss_peak: float = 0.0
    processes_peak: int = 0
    samples: list[tuple[float, float]] = field(default_factory=list)
    # Peak RSS per process, to show which processes the memory is in.
    per_process: dict[int, tuple[str, float]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        count = 0
        while True:
            # Off the event loop, so the sampler does not delay the client's reads.
            await loop.run_in_executor(None, self._sample, count % self.pss_every == 0)
            count += 1
            await asyncio.sleep(self.interval_s)

    def _sample(self, with_pss: bool) -> None:
        try:
            processes = _tree(self.pid)
        except psutil.Error:
            return
        total = 0.0
        pss = 0.0
        for index, process in enumerate(processes):
            with contextlib.suppress(psutil.Error):
                rss = process.memory_info().rss / _MB
                total += rss
                if index == 0:
                    self.server_peak = max(self.server_peak, rss)
                role, peak = self.per_process.get(process.pid) or (_role(process, index), 0.0)
                self.per_process[process.pid] = (role, max(peak, rss))
                if with_pss:
                    pss += process.memory_full_info().pss / _MB
        self.total_peak = max(self.total_peak, total)
        self.pss_peak = max(self.pss_peak, pss)
        self.processes_peak = max(self.processes_peak, len(processes))
        self.samples.append((time.perf_counter(), total))

    def summary(self) -> dict[str, Any]:
        return {
            "server_peak_mb": self.server_peak,
            "with_workers_peak_mb": self.total_peak,
            "pss_with_workers_peak_mb": self.pss_peak,
            "processes_peak": self.processes_peak,
            "per_role": self._per_role(),
        }

    def _per_role(self) -> dict[str, dict[str, float]]:
        """For each kind of process: how many were seen and the largest peak RSS of one."""
        roles: dict[str, dict[str, float]] = {}
        for role, peak in self.per_process.values():
            entry = roles.setdefault(role, {"processes": 0, "peak_mb": 0.0})
            entry["processes"] += 1
            entry["peak_mb"] = round(max(entry["peak_mb"], peak), 1)
        return roles


def _role(process: psutil.Process, index: int) -> str:
    """server, forkserver, worker, ruff ... from the process's place and command line."""
    if index == 0:
        return "server"
    cmdline = " ".join(process.cmdline())
    if "ruff" in process.name():  # first: its command line lists the files it lints
        return "ruff"
    if "worker_main" in cmdline:  # our own workers (issue 17)
        return "worker"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "forkserver" in cmdline:
        # The fork server's children share its command line: tell them apart by parent.
        parent = process.parent()
        return (
            "worker"
            if parent is not None and "forkserver" in " ".join(parent.cmdline())
            else "forkserver"
        )
    return process.name()
