"""Where the time goes: py-spy samples the running server (and its workers)
while the client drives the path under study; the top frames are summarised.

Sampling the real server process over stdio, not a re-creation of its hot
path, so the profile shows what the benchmark measured.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.lsp_client import file_uri
from benchmarks.saves import Document, varied
from benchmarks.tapps_bench import Server, run_scan

PY_SPY = Path(sys.prefix) / "bin" / "py-spy"
_CACHED_SAVES = 1500
_UNCACHED_SAVES = 25
_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
# `process 123:"cmdline";frame;frame`: the command line itself may hold "; ".
_PROCESS = re.compile(r'^process \d+:"(?P<cmdline>.*?)";(?! )')
# Frames every sample shares (event loop, process start-up, worker plumbing):
# they say nothing about where the time goes.
_PLUMBING = (
    "asyncio/",
    "runpy",
    "multiprocessing/",
    "concurrent/futures/",
    "threading.py",
    "tapps_lsp/cli.py",
    "start_io (",
)
# A thread waiting in the event loop's select is idle, not slow: such samples
# are left out so that the shares are of the time spent working.
_IDLE = ("select (selectors.py)",)


def short_frame(frame: str) -> str:
    """`name (path/to/module.py:12)` -> `name (module.py)`, lines merged per function."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['name']} ({path})"


def _process_name(cmdline: str) -> str:
    if "forkserver" in cmdline or "worker_main" in cmdline:
        return "worker process"
    return "server process" if "tapps_lsp" in cmdline else cmdline[:60]


def summarise(raw: str, *, top: int = 12) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    processes: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # A worker's stack sits under its parent's process line: keep the innermost.
        cmdline = ""
        while process := _PROCESS.match(stack):
            cmdline = process["cmdline"]
            stack = stack[process.end() :]
        # Only main threads work here; the others (pool feeders, pygls's
        # reader) wait on locks that py-spy does not always see as idle.
        thread, _, rest = stack.partition(";")
        if thread.startswith("thread ("):
            if not thread.endswith(": MainThread"):
                continue
            stack = rest

        names = [short_frame(frame) for frame in stack.split(";") if frame]
        if not names or names[-1].endswith(_IDLE):
            continue
        if cmdline:
            processes[_process_name(cmdline)] += count
        total += count
        own[names[-1]] += count
        for name in set(names):
            if not name.startswith("<module>") and not any(p in name for p in _PLUMBING):
                inclusive[name] += count

    def shares(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * count / total, 1)] for name, count in counter.most_common(top)]

    return {
        "samples": total,
        "self": shares(own) if total else [],
        "inclusive": shares(inclusive) if total else [],
        "processes": shares(processes) if total else [],
    }


async def _sampled(
    pid: int, out: Path, drive: Callable[[], Awaitable[Any]], *, subprocesses: bool, rate: int
) -> str:
    """Runs `drive()` while py-spy records `pid`; returns py-spy's raw output."""
    command = [str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "-o", str(out)]
    # Blocking mode (py-spy pauses the process for each sample, tens of
    # microseconds): without it, stacks read while the process runs put
    # idle samples under the wrong frame.
    command += ["--rate", str(rate), "--threads"]
    if subprocesses:
        command.append("--subprocesses")
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    # py-spy attaches within a fraction of a second and the drive lasts
    # seconds: the few iterations it misses do not change the shares.
    try:
        await drive()
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
        _, stderr = await spy.communicate()
    if not out.exists():
        raise RuntimeError(f"py-spy wrote nothing: {stderr.decode(errors='replace')[-500:]}")
    return out.read_text()


async def _profile_saves(server: Server, work: Path, logs: Path, single: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with server.start(single.parent, work / "cache-profile", logs / "profile.log") as client:
        text = single.read_text(encoding="utf-8")
        document = Document(client, file_uri(single), text)
        await document.open()
        for _ in range(20):
            await document.edit_then_save()

        async def cached() -> None:
            for _ in range(_CACHED_SAVES):
                await document.edit_then_save()

        raw = await _sampled(client.pid, work / "cached.txt", cached, subprocesses=False, rate=1000)
        results["cached_save"] = summarise(raw)

        async def uncached() -> None:
            for index in range(_UNCACHED_SAVES):
                await document.edit_then_save(varied(text, 10_000 + index))

        raw = await _sampled(
            client.pid, work / "uncached.txt", uncached, subprocesses=True, rate=500
        )
        results["uncached_save"] = summarise(raw)
    return results


async def _profile_scan(server: Server, work: Path, logs: Path, corpus_dir: Path) -> dict[str, Any]:
    async with server.start(
        corpus_dir, work / "cache-profile-scan", logs / "profile.log"
    ) as client:

        async def scan() -> None:
            await run_scan(client)

        raw = await _sampled(client.pid, work / "scan.txt", scan, subprocesses=True, rate=100)
    return {"cold_scan": summarise(raw)}


async def _profile_warm(
    server: Server, work: Path, logs: Path, corpus_dir: Path, cache_dir: Path
) -> dict[str, Any]:
    """A warm Review all of the whole library just after a restart, then twice more."""
    if not cache_dir.exists():
        raise RuntimeError("no cold scan left a cache to start from")
    async with server.start(corpus_dir, cache_dir, logs / "profile.log") as client:

        async def after_restart() -> None:
            await run_scan(client)

        raw = await _sampled(
            client.pid, work / "warm1.txt", after_restart, subprocesses=True, rate=1000
        )
        out = {"warm_scan_after_restart": summarise(raw)}

        async def warm_memory() -> None:
            for _ in range(3):
                await run_scan(client)

        raw = await _sampled(
            client.pid, work / "warm2.txt", warm_memory, subprocesses=True, rate=1000
        )
        out["warm_scan_memory"] = summarise(raw)
    return out


def run(
    server: Server,
    work: Path,
    logs: Path,
    single: Path,
    subset_dir: Path,
    corpus_dir: Path,
    warm_cache: Path,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, scenario in (
        ("saves", _profile_saves(server, work, logs, single)),
        ("scan", _profile_scan(server, work, logs, subset_dir)),
        ("warm", _profile_warm(server, work, logs, corpus_dir, warm_cache)),
    ):
        try:
            out.update(asyncio.run(scenario))
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            out[f"{name}_error"] = f"{type(error).__name__}: {error}"
    return out
