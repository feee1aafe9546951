"""Faults of the parts the server relies on: analyzers, worker processes, the cache disk.

Tool faults are injected in-process (monkeypatching which binary the engine
runs, never through a setting or a variable the product would honour); the
end-to-end cases use only real parts: a real ruff that times out, a worker
killed by a signal, a disk that stops growing.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
from pathlib import Path
from typing import Any

import pytest

from robustness.raw import Raw, cpu_ticks, descendants, poll
from tapps_lsp.review import engine, fastmetrics
from tapps_lsp.review.analyzers import bandit_security, ruff
from tapps_lsp.settings_merge import merge

SOURCE = "import os\nimport subprocess\nsubprocess.call('ls', shell=True)\n"
PUSH = {"textDocument": {"publishDiagnostics": {"versionSupport": True}}}


def codes(findings: Any) -> set[str]:
    return {f.code if hasattr(f, "code") else str(f.get("code")) for f in findings}


def fake_ruff(tmp_path: Path, body: str) -> str:
    path = tmp_path / "ruff"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def _raise(exc: BaseException) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return fail


RUFF_FAULTS = {
    "garbage": ("echo 'this is not json'; exit 1", "ruff printed output that is not JSON"),
    "wrong-json": ("echo '{\"rows\": 1}'", "ruff printed unexpected JSON"),
    "killed": ("kill -SEGV $$", "ruff exited with -11"),
    "no-binary": (None, "ruff could not start"),
}


@pytest.mark.parametrize("fault", list(RUFF_FAULTS))
def test_a_broken_ruff_is_one_message_and_the_others_run(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, message = RUFF_FAULTS[fault]
    binary = fake_ruff(tmp_path, script) if script else str(tmp_path / "missing" / "ruff")
    monkeypatch.setattr(ruff, "binary", lambda: binary)
    result = engine.analyze(SOURCE, merge({})[0], filename="app.py")
    assert list(result.analyzer_errors) == ["ruff"]
    assert result.analyzer_errors["ruff"].startswith(message), result.analyzer_errors
    assert "B602" in codes(result.findings) and result.metrics.mi is not None
    # The batch path (scans) falls back to one run per file and says the same per file.
    batch = engine.analyze_batch([("a.py", SOURCE), ("b.py", SOURCE)], merge({})[0])
    for one in batch:
        assert list(one.analyzer_errors) == ["ruff"] and "B602" in codes(one.findings)


# The metrics walk also feeds the performance heuristics (one walk of the tree): when it
# crashes, both say so, once each.
WALK = ("metrics", "performance")


@pytest.mark.parametrize(
    ("target", "exc", "tools"),
    [
        (bandit_security, ModuleNotFoundError("No module named 'bandit'"), ("bandit",)),
        (fastmetrics, MemoryError(), WALK),
        (fastmetrics, RecursionError("maximum recursion depth exceeded"), WALK),
    ],
)
def test_a_crashing_in_process_analyzer_is_one_message_and_the_others_run(
    monkeypatch: pytest.MonkeyPatch, target: Any, exc: BaseException, tools: tuple[str, ...]
) -> None:
    name = "scan" if target is bandit_security else "compute"
    monkeypatch.setattr(target, name, _raise(exc))
    result = engine.analyze(SOURCE, merge({"securityEngine": "bandit"})[0], filename="app.py")
    assert tuple(result.analyzer_errors) == tools
    for tool in tools:
        assert result.analyzer_errors[tool].startswith(f"{tool} crashed: {type(exc).__name__}")
    assert "F401" in codes(result.findings)
    if tools != ("bandit",):
        assert "B602" in codes(result.findings)


# ---- end to end -------------------------------------------------------------------------


async def test_a_real_tool_timeout_is_one_message_naming_tool_and_file(
    tmp_path: Path, workspace: Path
) -> None:
    """toolTimeout 0.1 s against 400 KB of string concatenation: real ruff needs longer."""
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], PUSH, {"toolTimeout": 0.1})
        uri = (workspace / "concat.py").as_uri()
        loops = "def grid(rows):\n    for r in rows:\n        for c in r:\n            print(c)\n"
        await raw.open(uri, loops + "x = " + " ".join(['"a"'] * 100_000) + "\n")
        diagnostics = await raw.diagnostics_of(uri)
        # The other analyzers ran: the (fast) performance analyzer's finding is there.
        assert "TAPPS-PERF-LOOP" in codes(diagnostics)
        said = [m for m in raw.logs() if "concat.py" in m and "ruff" in m]
        assert len(said) == 1 and "ruff timed out after 0.1 s" in said[0], raw.logs()
        # A result with a tool missing is not cached: a timeout under load must not stick
        # to this content. The save of the same text analyses it again.
        raw.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        await raw.wait_for(
            lambda: len([m for m in raw.logs() if "concat.py" in m and "ruff" in m]) == 2
        )
        # Killed with its process group: no ruff left under the server.
        assert not [p for p in descendants(raw.pid) if _comm(p) == "ruff"]
        assert await raw.stop() == 0
    finally:
        await raw.kill()


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def slow_module(lines: int) -> str:
    body = "".join(f"    total = total + item * {i} - (item // {i + 1})\n" for i in range(lines))
    return f"import os\n\n\ndef enormous(item):\n    total = 0\n{body}    return total\n"


def _workers(raw: Raw) -> list[int]:
    """The worker processes: the server's children (ruff runs as a worker's child)."""
    return _children(raw.pid)


def _children(pid: int) -> list[int]:
    return [p for p in descendants(pid) if _parent(p) == pid]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


async def _kill_the_busy_worker(raw: Raw, before: dict[int, int]) -> int:
    """SIGKILL the worker that is analysing (its CPU time grows), mid-file."""

    def busy() -> int | None:
        for pid in _workers(raw):
            try:
                if cpu_ticks(pid) > before.get(pid, 0) + 5:
                    return pid
            except OSError:
                continue
        return None

    pid = await poll(busy, 60, "a worker to be analysing")
    os.kill(pid, signal.SIGKILL)
    return int(pid)


def _ticks(raw: Raw) -> dict[int, int]:
    out = {}
    for pid in _workers(raw):
        try:
            out[pid] = cpu_ticks(pid)
        except OSError:
            continue
    return out


async def test_a_worker_that_dies_is_replaced_and_the_file_retried_once(
    tmp_path: Path, workspace: Path
) -> None:
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], PUSH)
        await poll(lambda: descendants(raw.pid), 30, "the review worker")
        uri = (workspace / "slow.py").as_uri()
        before = _ticks(raw)
        await raw.open(uri, slow_module(6000))
        killed = await _kill_the_busy_worker(raw, before)
        diagnostics = await raw.diagnostics_of(uri)
        assert "F401" in codes(diagnostics)
        assert any("stopped while reviewing" in m and "slow.py" in m for m in raw.logs())
        assert killed not in descendants(raw.pid)

        # Killed again during its retry: the file is reported, not retried for ever.
        second = (workspace / "again.py").as_uri()
        for attempt in range(2):
            before = _ticks(raw)
            if attempt == 0:
                await raw.open(second, slow_module(6001))
            await _kill_the_busy_worker(raw, before)
        diagnostics = await raw.diagnostics_of(second)
        assert [d["code"] for d in diagnostics] == ["TAPPS-SKIP"], diagnostics
        assert "stopped the worker" in diagnostics[0]["message"]
        # And the next file is reviewed by a fresh worker.
        third = (workspace / "fine.py").as_uri()
        await raw.open(third, "import os\n")
        assert "F401" in codes(await raw.diagnostics_of(third))
        assert await raw.stop() == 0
    finally:
        await raw.kill()


async def test_a_cache_disk_that_fills_up_mid_run_is_survived(
    tmp_path: Path, workspace: Path
) -> None:
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], PUSH)
        first = (workspace / "first.py").as_uri()
        await raw.open(first, "import os\n")
        assert "F401" in codes(await raw.diagnostics_of(first))
        # From now on no file of the server may grow: as a full disk, writes fail.
        cache = tmp_path / "cache"
        limit = max(f.stat().st_size for f in cache.rglob("*") if f.is_file())
        resource.prlimit(raw.pid, resource.RLIMIT_FSIZE, (limit, limit))
        for i in range(30):
            uri = (workspace / f"m{i}.py").as_uri()
            payload = "".join(f"value_{i}_{j} = '{'x' * 200}'\n" for j in range(200))
            await raw.open(uri, f"import os\n{payload}")
            assert "F401" in codes(await raw.diagnostics_of(uri))
        warned = [m for m in raw.logs() if "cache" in m and "memory only" in m]
        assert len(warned) == 1, raw.logs()
        # What is cached in memory still serves: the first text again is a hit.
        stats = await raw.request(
            "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
        )
        assert stats["entries"] >= 1
        assert await raw.stop() == 0
    finally:
        await raw.kill()
