"""tapps-lsp driven over stdio, one scenario per target of PRODUCT.md section 10."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from benchmarks.lsp_client import LspClient, Progress, default_capabilities, file_uri, now_ms
from benchmarks.sampling import RssSampler, tree_cpu_seconds
from benchmarks.saves import Document, repeat, varied
from benchmarks.slope import files_done

SERVER_COMMAND = [sys.executable, "-m", "tapps_lsp"]
_SCAN_TIMEOUT_S = 1800.0
_TERMINAL_STATES = {"done", "cancelled", "failed"}


@dataclass(frozen=True)
class Server:
    """How to start tapps-lsp; `source` is the tree its package is imported from.

    Benchmarks run a snapshot of a commit rather than the shared work tree,
    so that a half-saved file of someone's edit cannot break or skew a run.
    """

    source: Path | None = None

    @contextlib.asynccontextmanager
    async def start(
        self,
        workspace: Path,
        cache_dir: Path,
        log: Path,
        *,
        settings: dict[str, Any] | None = None,
        pull: bool = False,
    ) -> AsyncIterator[LspClient]:
        env = {"TAPPS_LSP_CACHE_DIR": str(cache_dir)}
        if self.source is not None:
            env["PYTHONPATH"] = str(self.source)
        client = LspClient(
            SERVER_COMMAND,
            env=env,
            cwd=workspace.parent,
            stderr_path=log,
            settings=settings or {},
        )
        await client.start()
        try:
            client.initialize_ms = await client.initialize(  # type: ignore[attr-defined]
                workspace,
                capabilities=default_capabilities(pull=pull),
                initialization_options=settings or {},
            )
            yield client
        finally:
            await client.stop()


async def cache_stats(client: LspClient) -> dict[str, Any]:
    return await client.execute_command("tapps.cacheStats") or {}


async def _poll_task(client: LspClient, task_id: str) -> dict[str, Any]:
    # Only a fallback for a server that reports no progress: the end of the
    # progress is the moment an editor learns that the scan is over.
    while True:
        status = await client.execute_command("tapps.taskStatus", task_id)
        if isinstance(status, dict) and status.get("state") in _TERMINAL_STATES:
            return status
        await asyncio.sleep(0.05)


async def run_scan(client: LspClient, *, progress_grace_s: float = 2.0) -> dict[str, Any]:
    """tapps.reviewWorkspace until its progress ends; times and progress gaps."""
    # Drain tokens of earlier scans.
    while not client.progress_created.empty():
        client.progress_created.get_nowait()
    start = now_ms()
    answer = await client.execute_command("tapps.reviewWorkspace", timeout=60)
    command_ms = now_ms() - start
    task_id = answer.get("taskId") if isinstance(answer, dict) else answer
    progress: Progress | None = None
    try:
        progress = await asyncio.wait_for(client.progress_created.get(), progress_grace_s)
    except asyncio.TimeoutError:
        progress = None
    status: dict[str, Any] = {}
    if progress is not None:
        await asyncio.wait_for(progress.ended.wait(), _SCAN_TIMEOUT_S)
        end_ms = progress.events[-1][0]
    else:
        status = await asyncio.wait_for(_poll_task(client, str(task_id)), _SCAN_TIMEOUT_S)
        end_ms = now_ms()
    if not status:
        with contextlib.suppress(Exception):
            status = await client.execute_command("tapps.taskStatus", task_id)
    reports = progress.report_times() if progress is not None else []
    end_message = ""
    counts: list[list[float]] = []
    if progress is not None:
        end_message = str(progress.events[-1][1].get("message", ""))
        for received, value in progress.events:
            found = files_done(value.get("message")) if value.get("kind") == "report" else None
            if found is not None:
                counts.append([round(received, 1), *found])
    return {
        "task_id": task_id,
        "command_ms": command_ms,
        "seconds": (end_ms - start) / 1000,
        "progress_gaps_ms": [b - a for a, b in zip(reports, reports[1:], strict=False)],
        "progress_reports": len(reports),
        # [receive time in ms (now_ms), files done, total] of every report.
        "progress_counts": counts,
        "end_message": end_message,
        "status": status if isinstance(status, dict) else {},
    }


async def saves(
    server: Server,
    workspace: Path,
    source: Path,
    cache_dir: Path,
    log: Path,
    *,
    cached: int,
    uncached: int,
) -> dict[str, Any]:
    """Targets 1 and 2: cached and uncached save -> publishDiagnostics."""
    async with server.start(workspace, cache_dir, log) as client:
        text = source.read_text(encoding="utf-8")
        document = Document(client, file_uri(source), text)
        open_ms = await document.open()
        # CPU time beside wall time: on a loaded machine the difference is the
        # wait for a core, not work of ours.
        before = tree_cpu_seconds(client.pid)
        same = await repeat(lambda i: document.edit_then_save(), cached, warmup=20)
        middle = tree_cpu_seconds(client.pid)
        fresh = await repeat(lambda i: document.edit_then_save(varied(text, i)), uncached, warmup=2)
        after = tree_cpu_seconds(client.pid)
        cpu_ms = {
            "cached_save": (middle - before) * 1000 / (cached + 20),
            "uncached_save": (after - middle) * 1000 / (uncached + 2),
        }
        stats = await cache_stats(client)
        initialize_ms = client.initialize_ms  # type: ignore[attr-defined]
        server_info = client.server_info
    # A pull client (VS Code) learns of a save's result through a refresh
    # request and its own textDocument/diagnostic: one more round trip.
    async with server.start(workspace, cache_dir, log, pull=True) as client:
        document = Document(client, file_uri(source), text)
        await client.did_open(document.uri, text, document.version)
        await document.pull()
        pulled = await repeat(lambda i: document.save_then_pull(), cached, warmup=20)
    return {
        "initialize_ms": initialize_ms,
        "open_ms": open_ms,
        "cached_save_ms": same,
        "cached_save_pull_ms": pulled,
        "uncached_save_ms": fresh,
        "cache_stats": stats,
        "cpu_ms_per_save": cpu_ms,
        "server": server_info,
    }


async def saves_until(document: Document, done: asyncio.Event, pause_s: float) -> list[float]:
    """Saves `document` unchanged every `pause_s` until `done`; each save's round trip."""
    samples: list[float] = []
    while not done.is_set():
        samples.append(await document.edit_then_save())
        # Pacing like a user saving now and then; not a synchronisation.
        await asyncio.sleep(pause_s)
    return samples


async def cold_scan(
    server: Server,
    workspace: Path,
    source: Path,
    cache_dir: Path,
    log: Path,
    *,
    saves_during: bool,
    save_pause_s: float = 0.05,
) -> dict[str, Any]:
    """Targets 3, 5, 6, 7: a cold Review all, its progress, memory, and saves meanwhile."""
    async with server.start(workspace, cache_dir, log) as client:
        document = Document(client, file_uri(source), source.read_text(encoding="utf-8"))
        await document.open()
        await document.edit_then_save()  # now cached
        sampler = RssSampler(client.pid)
        sampler.start()
        done = asyncio.Event()
        saver = (
            asyncio.create_task(saves_until(document, done, save_pause_s)) if saves_during else None
        )
        cpu = tree_cpu_seconds(client.pid)
        machine = psutil.cpu_times()
        try:
            scan = await run_scan(client)
            # Load-independent: what the scan cost, whoever else used the cores.
            scan["cpu_seconds"] = tree_cpu_seconds(client.pid) - cpu
            # Idle cores during the scan would mean our pipeline, not the machine, waits.
            scan["machine_idle_fraction"] = _idle_fraction(machine, psutil.cpu_times())
        finally:
            done.set()
            during = await saver if saver is not None else []
            await sampler.stop()
        stats = await cache_stats(client)
        return {
            **scan,
            "saves_during_scan_ms": during,
            "memory": sampler.summary(),
            "rss_timeline": sampler.samples,
            "cache_stats": stats,
            "initialize_ms": client.initialize_ms,  # type: ignore[attr-defined]
        }


def _idle_fraction(before: Any, after: Any) -> float:
    total = sum(after) - sum(before)
    return (after.idle - before.idle) / total if total > 0 else 0.0


async def warm_scans(
    server: Server, workspace: Path, cache_dir: Path, log: Path, *, restarts: int, memory_runs: int
) -> dict[str, Any]:
    """Target 4: Review all on a cache filled by a cold scan, after a restart and warm."""
    after_restart: list[dict[str, Any]] = []
    warm_memory: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    for index in range(restarts):
        async with server.start(workspace, cache_dir, log) as client:
            sampler = RssSampler(client.pid)
            sampler.start()
            after_restart.append(await run_scan(client))
            if index == restarts - 1:
                for _ in range(memory_runs):
                    warm_memory.append(await run_scan(client))
            await sampler.stop()
            after_restart[-1]["memory"] = sampler.summary()
            stats = await cache_stats(client)
    return {"after_restart": after_restart, "warm_memory": warm_memory, "cache_stats": stats}


async def edit_loop(
    server: Server,
    workspace: Path,
    files: list[Path],
    cache_dir: Path,
    log: Path,
    *,
    cycles: int,
    seed: int = 7,
) -> dict[str, Any]:
    """Target 8: hit rate of the cache over open / modify / save cycles.

    The workspace was reviewed once before (as a previous session or a
    Review all leaves it). Each cycle opens 10 files, edits and saves 2 of
    them (written to disk as an editor does), saves the other 8 unchanged
    ("save all"), and closes them. Counted: every lookup in the loop.
    """
    rng = random.Random(seed)
    async with server.start(workspace, cache_dir, log) as client:
        await run_scan(client)
        before = await cache_stats(client)
        edits = 0
        for cycle in range(cycles):
            chosen = rng.sample(files, k=min(10, len(files)))
            documents = []
            for path in chosen:
                document = Document(client, file_uri(path), path.read_text(encoding="utf-8"))
                await document.open()
                documents.append((path, document))
            for index, (path, document) in enumerate(documents):
                if index < 2:
                    edits += 1
                    text = varied(document.text, cycle * 10 + index)
                    path.write_text(text, encoding="utf-8")
                    await document.edit_then_save(text)
                else:
                    await document.edit_then_save()
            for _, document in documents:
                await document.close()
        after = await cache_stats(client)
    hits = after.get("hits", 0) - before.get("hits", 0)
    misses = after.get("misses", 0) - before.get("misses", 0)
    return {
        "cycles": cycles,
        "edits": edits,
        "hits": hits,
        "misses": misses,
        "hit_rate": hits / (hits + misses) if hits + misses else None,
    }
