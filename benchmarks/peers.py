"""What a user would run instead: ruff's own server, python-lsp-server, and the
ruff + radon cc + radon mi + bandit command lines one after another."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.lsp_client import LspClient, default_capabilities, file_uri
from benchmarks.sampling import tree_rss_mb
from benchmarks.saves import Document, repeat, varied

BIN = Path(sys.prefix) / "bin"
HERE = Path(__file__).resolve().parent

# Our engine's default lint settings, so that ruff does the same work in both.
RUFF_ARGS = [
    "--isolated",
    "--select",
    "E,F,W",
    "--ignore",
    "E501",
    "--line-length",
    "100",
    "--output-format",
    "json",
    "--exit-zero",
]

# radon's raw metrics re-tokenize a multi-line statement once per line, so
# these two files alone take minutes (rubik/radon#223): a figure without them
# shows what the rest of the chain costs.
RADON_MI_SLOW = ["*/html/entities.py", "*/pydoc_data/topics.py"]


def server_commands() -> dict[str, list[str]]:
    return {
        "ruff server": [str(BIN / "ruff"), "server"],
        "pylsp": [sys.executable, "-m", "pylsp"],
        "pylsp (no debounce)": [sys.executable, str(HERE / "pylsp_nodebounce.py")],
    }


def peer_capabilities() -> dict[str, Any]:
    """What the bench's client advertises to a peer server."""
    caps = default_capabilities()
    # pylsp asks for a progress token from inside its synchronous lint
    # handler and then blocks a second waiting for our answer, which its own
    # reader thread cannot deliver; without the capability it skips that.
    caps["window"] = {}
    return caps


async def measure_server(
    name: str,
    command: list[str],
    workspace: Path,
    source: Path,
    *,
    cached_count: int,
    uncached_count: int,
    log: Path,
) -> dict[str, Any]:
    """Save -> diagnostics of one peer server on `source`, same and varied content.

    ruff's server lints on didChange (it has no save trigger), pylsp on didSave;
    each is driven by the trigger it acts on.
    """
    client = LspClient(command, cwd=workspace, stderr_path=log)
    await client.start()
    try:
        init_ms = await client.initialize(workspace, capabilities=peer_capabilities())
        text = source.read_text(encoding="utf-8")
        document = Document(client, file_uri(source), text)
        open_ms = await document.open()
        debounced = name == "pylsp"
        pause = 0.05 if name.startswith("pylsp") else 0.0
        extra: dict[str, Any] = {}
        if name == "ruff server":
            trigger = "didChange"
            same = await repeat(lambda i: document.change(text), cached_count, warmup=10)
            fresh = await repeat(
                lambda i: document.change(varied(text, i)), uncached_count, warmup=3
            )

            async def reopen(_: int) -> float:
                await document.close()
                return await document.open()

            extra["didOpen_ms"] = await repeat(reopen, cached_count // 5, warmup=3)
        else:
            trigger = "didSave"
            # The debounce makes every sample cost half a second: fewer of them.
            count = max(5, cached_count // 20) if debounced else max(10, cached_count // 5)
            same = await repeat(lambda i: document.edit_then_save(), count, warmup=2, pause_s=pause)
            fresh = await repeat(
                lambda i: document.edit_then_save(varied(text, i)),
                max(5, uncached_count // 2) if debounced else uncached_count,
                warmup=2,
                pause_s=pause,
            )
        rss = tree_rss_mb(client.pid)
        return {
            "name": name,
            "version": client.server_info.get("version", ""),
            "trigger": trigger,
            "initialize_ms": init_ms,
            "open_ms": open_ms,
            "same_content_ms": same,
            "new_content_ms": fresh,
            "rss_mb": rss,
            **extra,
        }
    finally:
        await client.stop()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], *, cwd: Path, timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    cpu = _children_cpu()
    try:
        completed = subprocess.run(
            command,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # run() has killed and reaped it: its CPU time so far is counted.
        return {"seconds": timeout, "capped": True, "cpu": _children_cpu() - cpu}
    seconds = time.perf_counter() - start
    failed = completed.returncode not in (0, 1)  # bandit exits 1 when it finds issues
    result: dict[str, Any] = {
        "seconds": seconds,
        "capped": False,
        "returncode": completed.returncode,
        "cpu": _children_cpu() - cpu,
    }
    if failed:
        result["stderr"] = completed.stderr.decode(errors="replace")[-2000:]
    return result


def chain_commands(target: Path) -> dict[str, list[str]]:
    """The peer chain on a file or a folder, each tool as its command line."""
    return {
        "ruff": [str(BIN / "ruff"), "check", "--no-cache", *RUFF_ARGS, str(target)],
        "radon cc": [str(BIN / "radon"), "cc", "-j", str(target)],
        "radon mi": [str(BIN / "radon"), "mi", "-j", str(target)],
        "bandit": [str(BIN / "bandit"), "-r", "-q", "-f", "json", str(target)],
    }


# radon mi on the whole library runs for ten minutes or more: the only part
# of the chain worth keeping from an earlier run.
SLOW_TOOLS = ("radon mi", "radon mi (without its 2 slowest files)")


def _tool_run(command: list[str], *, cwd: Path, runs: int, timeout: float) -> dict[str, Any]:
    load = os.getloadavg()
    samples = [_timed(command, cwd=cwd, timeout=timeout) for _ in range(runs)]
    seconds = sorted(sample["seconds"] for sample in samples)
    return {
        "seconds": statistics.median(seconds),
        "samples": seconds,
        "cpu_seconds": statistics.median(sample["cpu"] for sample in samples),
        "capped": any(sample["capped"] for sample in samples),
        "errors": [sample["stderr"] for sample in samples if "stderr" in sample],
        "command": " ".join([Path(command[0]).name, *command[1:]]),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average": load,
    }


def run_chain(
    target: Path,
    *,
    repeats: dict[str, int],
    mi_cap_s: float,
    reuse: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Runs the chain on `target`; the median of `repeats[tool]` runs per tool (default 1).

    radon mi may not finish on the whole library: it is stopped at `mi_cap_s`
    and reported as at least the cap. Tools found in `reuse` (an earlier
    run's `tools`) are taken from it instead of run again.
    """
    cwd = target.parent
    commands = chain_commands(target)
    if target.is_dir():
        commands[SLOW_TOOLS[1]] = [*commands["radon mi"], "-e", ",".join(RADON_MI_SLOW)]
    tools: dict[str, Any] = {}
    for tool, command in commands.items():
        if reuse and tool in reuse:
            tools[tool] = {**reuse[tool], "reused": True}
            continue
        slow = tool in SLOW_TOOLS
        runs = repeats.get(tool, 1)
        tools[tool] = _tool_run(command, cwd=cwd, runs=runs, timeout=mi_cap_s if slow else 3600.0)
    chain = ("ruff", "radon cc", "radon mi", "bandit")
    total = sum(tools[tool]["seconds"] for tool in chain)
    cpu = [tools[tool].get("cpu_seconds") for tool in chain]
    return {
        "tools": tools,
        "total_seconds": total,
        "total_cpu_seconds": sum(cpu) if None not in cpu else None,
        "at_least": tools["radon mi"]["capped"],
        "mi_cap_seconds": mi_cap_s,
    }
