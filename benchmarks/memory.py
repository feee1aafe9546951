"""Memory and start-up of tapps-lsp, the targets of issue 17, through a plain stdio client.

Every figure sums the whole process tree (server, scan and interactive workers, fork
server, resource tracker, ruff children): RSS, and PSS from /proc/PID/smaps_rollup.

    python -m benchmarks.memory                    # stdlib, 20,000 and 50,000 files
    python -m benchmarks.memory --large            # and 200,000 files (several minutes)
    python -m benchmarks.memory --from-json benchmarks/results/memory.json

It prints figures beside the targets and the peers' (ruff server and python-lsp-server
measured in the same run: spawn, initialize, first diagnostics, RSS at rest; the rest from
PRODUCT.md section 10); it asserts nothing. `python -m benchmarks.run` (`make bench`) runs
the same scenarios as its `memory` section, 200,000 files with `--large`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmarks import corpus as corpora
from benchmarks import peers as peer_servers
from benchmarks.lsp_client import LspClient, file_uri, now_ms
from benchmarks.memory_tree import TreeSampler, measure_tree, peaks, timeline
from benchmarks.run import Peer, Row, percentile, render_table
from benchmarks.sampling import tree_cpu_seconds
from benchmarks.saves import Document
from benchmarks.slope import bytes_per_file, in_window, keyed_by_count
from benchmarks.tapps_bench import SERVER_COMMAND, Server, run_scan, saves_until

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "memory.json"
PLOT = ROOT / "docs" / "img" / "memory-over-time.png"
SIZES = (20_000, 50_000)
LARGE = 200_000
REST_S = 10.0
AFTER_S = 60.0
SPAWNS = 5
PEER_SPAWNS = 3
# A cached file saved unchanged this often during the generated scans (target 6 of
# PRODUCT.md section 10: p95 <= 50 ms while a cold scan runs).
SAVE_PAUSE_S = 0.05
# The bound of tests/perf/test_memory_slope.py: RSS per file done, fitted from 25 %.
FLAT_KB_PER_FILE = 1.0
# Peers that need no second interpreter: ruff's server and python-lsp-server (with its
# fixed 500 ms lint debounce, which it applies to didOpen too).
PEER_NAMES = ("ruff server", "pylsp")

# PRODUCT.md section 10 and issue 17: RSS of the peers' servers on this machine, for a
# run that did not measure them.
PEERS = [
    Peer("ruff server (15-21 MB)", 21.0),
    Peer("pylsp", 77.0),
    Peer("minimal pygls 2 server", 40.0),
]
# PRODUCT.md section 10: the minimal pygls 2 server is not measured here.
PYGLS = Peer("minimal pygls 2 server (PRODUCT.md)", 40.0)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _client(server: Server, workspace: Path, cache_dir: Path, log: Path) -> LspClient:
    """A client for tapps-lsp as `Server.start` builds it, not yet started."""
    env = {"TAPPS_LSP_CACHE_DIR": str(cache_dir)}
    if server.source is not None:
        env["PYTHONPATH"] = str(server.source)
    return LspClient(SERVER_COMMAND, env=env, cwd=workspace.parent, stderr_path=log)


async def _open(client: LspClient, path: Path) -> float:
    """didOpen of `path`; the time until its diagnostics arrive, in ms."""
    uri = file_uri(path)
    arrived = client.expect_diagnostics(uri)
    start = now_ms()
    await client.did_open(uri, path.read_text(encoding="utf-8"))
    received, _ = await asyncio.wait_for(arrived, 120)
    return received - start


async def stdlib_scenario(
    server: Server, corpus_dir: Path, edited: Path, cache_dir: Path, log: Path
) -> dict[str, Any]:
    """One file open and at rest; a cold Review all; the minute after it, sampled all along."""
    async with server.start(corpus_dir, cache_dir, log) as client:
        sampler = TreeSampler(client.pid, interval_s=0.1).start()
        try:
            open_ms = await _open(client, edited)
            opened = sampler.now()
            # Not a synchronisation: the target is defined 10 s after the last review.
            await asyncio.sleep(REST_S)
            rest = measure_tree(client.pid, sampler.started)
            scan_start = sampler.now()
            scan = await run_scan(client)
            scan_end = sampler.now()
            await asyncio.sleep(AFTER_S)  # the target is defined 60 s after the scan
            after = measure_tree(client.pid, sampler.started)
        finally:
            sampler.stop()
    return {
        "open_ms": open_ms,
        "at_rest": rest.to_dict(),
        "scan_seconds": scan["seconds"],
        "scan_end_message": scan["end_message"],
        "during_scan": peaks(sampler.between(scan_start, scan_end)),
        "after_scan": after.to_dict(),
        "marks": {"opened": opened, "scan_start": scan_start, "scan_end": scan_end},
        "timeline": timeline(sampler.samples, 0.0),
    }


async def cold_scan_seconds(
    server: Server, workspace: Path, cache_dir: Path, log: Path
) -> dict[str, Any]:
    """A cold Review all with nothing sampling the tree: its wall time alone."""
    async with server.start(workspace, cache_dir, log) as client:
        cpu = tree_cpu_seconds(client.pid)
        scan = await run_scan(client)
        # Less dependent on the machine's load than wall time: what the scan cost.
        cpu = tree_cpu_seconds(client.pid) - cpu
    return {
        "scan_seconds": scan["seconds"],
        "cpu_seconds": cpu,
        "scan_end_message": scan["end_message"],
    }


async def _first_diagnostics(
    client: LspClient, workspace: Path, edited: Path, capabilities: dict[str, Any] | None = None
) -> dict[str, float]:
    """Spawn -> initialize -> didOpen of `edited` -> its publishDiagnostics, in ms."""
    start = now_ms()
    await client.start()
    initialize_ms = await client.initialize(workspace, capabilities=capabilities)
    answered = now_ms() - start
    uri = file_uri(edited)
    arrived = client.expect_diagnostics(uri)
    await client.did_open(uri, edited.read_text(encoding="utf-8"))
    received, _ = await asyncio.wait_for(arrived, 120)
    return {
        "spawn_to_diagnostics_ms": received - start,
        "spawn_to_initialize_answer_ms": answered,
        "initialize_ms": initialize_ms,
    }


async def _spawn_once(
    server: Server, workspace: Path, edited: Path, cache_dir: Path, log: Path
) -> dict[str, Any]:
    client = _client(server, workspace, cache_dir, log)
    try:
        figures: dict[str, Any] = await _first_diagnostics(client, workspace, edited)
        stats = await client.execute_command("tapps.cacheStats") or {}
    finally:
        await client.stop()
    return figures | {"cache_hits": stats.get("hits")}


async def spawn_scenario(
    server: Server, workspace: Path, edited: Path, cache_dir: Path, log: Path, count: int
) -> dict[str, Any]:
    """Spawn -> initialize -> didOpen of a cached file -> its diagnostics, `count` times."""
    runs = [await _spawn_once(server, workspace, edited, cache_dir, log) for _ in range(count)]
    return {
        key: statistics.median(run[key] for run in runs)
        for key in ("spawn_to_diagnostics_ms", "spawn_to_initialize_answer_ms", "initialize_ms")
    } | {"runs": runs}


async def _peer_once(
    command: list[str], workspace: Path, edited: Path, log: Path, rest_s: float
) -> dict[str, Any]:
    client = LspClient(command, cwd=workspace, stderr_path=log)
    try:
        figures: dict[str, Any] = await _first_diagnostics(
            client, workspace, edited, peer_servers.peer_capabilities()
        )
        if rest_s:
            # Not a synchronisation: at rest is defined 10 s after the last review.
            await asyncio.sleep(rest_s)
            figures["at_rest"] = measure_tree(client.pid).to_dict()
    finally:
        await client.stop()
    return figures


async def peer_scenario(workspace: Path, edited: Path, logs: Path, count: int) -> dict[str, Any]:
    """The peers as M1 and M7 measure tapps-lsp: spawn -> first diagnostics of `edited`
    `count` times (median), and the tree's RSS 10 s after it on the last spawn."""
    out: dict[str, Any] = {}
    commands = peer_servers.server_commands()
    for name in PEER_NAMES:
        command = commands[name]
        if not (Path(command[0]).exists() and (name != "pylsp" or find_spec("pylsp"))):
            out[name] = {"error": "not installed (the bench extra: pip install -e '.[bench]')"}
            continue
        log = logs / f"memory-peer-{name.split()[0]}.log"
        runs = [
            await _peer_once(command, workspace, edited, log, REST_S if index == count - 1 else 0)
            for index in range(count)
        ]
        out[name] = {
            key: statistics.median(run[key] for run in runs)
            for key in ("spawn_to_diagnostics_ms", "initialize_ms")
        } | {"at_rest": runs[-1].get("at_rest"), "runs": runs}
    return out


_MODULE = '''"""Generated module {i}."""
import os
{extra}

def compute_{i}(left, right):
    """Difference, or a path."""
    if left > right:
        return left - right
    return os.path.join(str(left), str(right))


class Holder{i}:
    """Holds a value."""

    def scaled(self, factor):
        return [factor * step for step in range({steps})]
'''


def generate(root: Path, count: int) -> None:
    """`count` small modules, 200 to a package; every tenth has an unused import."""
    for index in range(count):
        folder = root / f"pkg_{index // 200:04d}"
        if index % 200 == 0:
            folder.mkdir(parents=True)
        extra = "import sys" if index % 10 == 0 else ""
        (folder / f"mod_{index}.py").write_text(
            _MODULE.format(i=index, extra=extra, steps=index % 7 + 1)
        )


async def generated_scenario(
    server: Server, workspace: Path, cache_dir: Path, log: Path
) -> dict[str, Any]:
    """A cold Review all of a generated workspace while an open file whose result is cached
    is saved every 50 ms: peaks, seconds, progress gaps, the saves' round trips, memory
    over time and against the files done (the slope from 25 % of the files)."""
    edited = workspace / "pkg_0000" / "mod_0.py"
    async with server.start(workspace, cache_dir, log) as client:
        document = Document(client, file_uri(edited), edited.read_text(encoding="utf-8"))
        await document.open()
        await document.edit_then_save()  # now cached
        sampler = TreeSampler(client.pid, interval_s=0.25).start()
        done = asyncio.Event()
        saver = asyncio.create_task(saves_until(document, done, SAVE_PAUSE_S))
        try:
            rest = measure_tree(client.pid, sampler.started)
            scan_start = sampler.now()
            scan = await run_scan(client)
            scan_end = sampler.now()
        finally:
            done.set()
            saves = await saver
            sampler.stop()
    return {
        "before_scan": rest.to_dict(),
        "scan_seconds": scan["seconds"],
        "scan_end_message": scan["end_message"],
        "during_scan": peaks(sampler.between(scan_start, scan_end)),
        "progress_gaps_ms": [round(gap, 1) for gap in scan["progress_gaps_ms"]],
        "saves_during_scan_ms": [round(save, 2) for save in saves],
        "in_scan_slope": _in_scan_slope(sampler, scan["progress_counts"]),
        "timeline": timeline(sampler.samples, scan_start),
    }


def _in_scan_slope(sampler: TreeSampler, counts: list[list[float]]) -> dict[str, Any]:
    """RSS per file done from 25 % of the files: each sample keyed by the last report's count
    (the test's measure, tests/perf/test_memory_slope.py, with time-based samples)."""
    keyed = keyed_by_count(
        [
            ((sampler.started + s.t) * 1000, s.server_rss_mb, s.rss_mb, len(s.processes))
            for s in sampler.samples
        ],
        [(t, int(done), int(total)) for t, done, total in counts],
    )
    step = max(1, len(keyed) // 400)
    return {
        "server_bytes_per_file": bytes_per_file(keyed, "server_rss_mb"),
        "tree_bytes_per_file": bytes_per_file(keyed, "tree_rss_mb"),
        "samples": len(in_window(keyed)),
        # [files done, server RSS, tree RSS] for the plot against files done.
        "points": [
            [s.done, round(s.server_rss_mb, 1), round(s.tree_rss_mb, 1)] for s in keyed[::step]
        ],
    }


def _guarded(name: str, coroutine: Any) -> dict[str, Any]:
    """Runs one scenario; a failure is recorded, not raised."""
    try:
        result: dict[str, Any] = asyncio.run(coroutine)
    except Exception as error:  # noqa: BLE001 - recorded in the results and printed
        _log(f"{name} failed: {type(error).__name__}: {error}")
        result = {"error": f"{type(error).__name__}: {error}"}
    result["load_average"] = os.getloadavg()
    return result


def measure(
    server: Server, work: Path, logs: Path, corpus_dir: Path, sizes: tuple[int, ...]
) -> dict[str, Any]:
    """Every scenario; `corpus_dir` holds a copy of the library (it gets reviewed)."""
    edited = corpus_dir / "pprint.py"
    if not edited.exists():  # a --quick corpus keeps every n-th file only
        shutil.copyfile(corpora.SINGLE_FILE, edited)
    cache = work / "memory-cache-stdlib"
    out: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    _log("memory: one file open at rest, cold Review all of the library, the minute after")
    out["stdlib"] = _guarded(
        "stdlib", stdlib_scenario(server, corpus_dir, edited, cache, logs / "memory-stdlib.log")
    )
    _log("memory: cold Review all of the library, unsampled")
    out["cold_scan"] = _guarded(
        "cold scan",
        cold_scan_seconds(server, corpus_dir, work / "memory-cache-cold", logs / "memory-cold.log"),
    )
    _log(f"memory: spawn to first diagnostics of a cached file, {SPAWNS} times")
    out["spawn"] = _guarded(
        "spawn",
        spawn_scenario(server, corpus_dir, edited, cache, logs / "memory-spawn.log", SPAWNS),
    )
    _log(f"memory: the peers' spawn to first diagnostics, {PEER_SPAWNS} times, and at rest")
    out["peers"] = _guarded("peers", peer_scenario(corpus_dir, edited, logs, PEER_SPAWNS))
    out["generated"] = {}
    for size in sizes:
        folder = work / f"generated-{size}" / "workspace"
        _log(f"memory: generating {size} files")
        generate(folder, size)
        _log(f"memory: cold Review all of {size} files")
        out["generated"][str(size)] = _guarded(
            f"generated {size}",
            generated_scenario(
                server, folder, work / f"memory-cache-{size}", logs / f"memory-{size}.log"
            ),
        )
        shutil.rmtree(folder.parent, ignore_errors=True)
    out["load_average_at_end"] = os.getloadavg()
    return out


# -- rows ------------------------------------------------------------------------


def _at(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _row(number: str, name: str, figure: Any, unit: str, target: str, **kw: Any) -> Row:
    return Row(
        number, name, figure if isinstance(figure, int | float) else None, unit, target, **kw
    )


def _measured_peers(data: dict[str, Any], *keys: str, suffix: str = "") -> list[Peer]:
    """The peers measured in this run (`peer_scenario`), at `keys` of their results."""
    found = []
    for name in PEER_NAMES:
        value = _at(data, "peers", name, *keys)
        if isinstance(value, int | float):
            found.append(Peer(f"{name}{suffix}", value))
    return found


def _memory_peers(data: dict[str, Any]) -> list[Peer]:
    """RSS of the peers' trees with one file open at rest, measured, else PRODUCT.md's."""
    measured = _measured_peers(data, "at_rest", "tree_rss_mb")
    return [*measured, PYGLS] if measured else PEERS


def _stdlib_rows(data: dict[str, Any], chain: dict[str, Any] | None) -> list[Row]:
    stdlib = data.get("stdlib") or {}
    memory_peers = _memory_peers(data)
    roles = "; ".join(
        f"{name} x{int(entry['count'])} {entry['rss_mb']:.0f} MB"
        for name, entry in (_at(stdlib, "during_scan", "by_role_peak") or {}).items()
    )
    return [
        _row(
            "M1",
            "at rest, one file open, tree RSS",
            _at(stdlib, "at_rest", "tree_rss_mb"),
            "MB",
            "<= 80 MB",
            high=80,
            peers=memory_peers,
            note=f"{_at(stdlib, 'at_rest', 'processes')} processes: "
            + json.dumps(_at(stdlib, "at_rest", "by_role")),
        ),
        _row(
            "M1",
            "at rest, one file open, tree PSS",
            _at(stdlib, "at_rest", "tree_pss_mb"),
            "MB",
            "-",
        ),
        _row(
            "M2",
            "cold stdlib scan, peak tree RSS",
            _at(stdlib, "during_scan", "tree_rss_mb"),
            "MB",
            "<= 150 MB",
            high=150,
            peers=memory_peers,
            note=f"peak per kind (count, summed RSS): {roles}",
        ),
        _row(
            "M2",
            "cold stdlib scan, peak tree PSS",
            _at(stdlib, "during_scan", "tree_pss_mb"),
            "MB",
            "-",
        ),
        _row(
            "M2",
            "cold stdlib scan, peak server RSS",
            _at(stdlib, "during_scan", "server_rss_mb"),
            "MB",
            "<= 150 MB",
            high=150,
        ),
        _row(
            "M3",
            "60 s after the scan, tree RSS",
            _at(stdlib, "after_scan", "tree_rss_mb"),
            "MB",
            "<= 80 MB",
            high=80,
            peers=memory_peers,
            note=f"{_at(stdlib, 'after_scan', 'processes')} processes: "
            + json.dumps(_at(stdlib, "after_scan", "by_role")),
        ),
        _row(
            "M3",
            "60 s after the scan, tree PSS",
            _at(stdlib, "after_scan", "tree_pss_mb"),
            "MB",
            "-",
        ),
        _row(
            "M4",
            "cold Review all of the stdlib",
            _at(data, "cold_scan", "scan_seconds"),
            "s",
            "<= 4 s",
            high=4,
            peers=_chain_peers(chain),
            note=f"nothing sampling; {_at(data, 'cold_scan', 'cpu_seconds') or 0:.1f} s of CPU "
            f"(every process); {stdlib.get('scan_seconds', 0):.1f} s in the sampled run",
        ),
    ]


def _chain_peers(chain: dict[str, Any] | None) -> list[Peer]:
    """`ruff check` and the whole chain on the library, as measured, else PRODUCT.md's."""
    ruff = _at(chain, "tools", "ruff", "seconds")
    if not isinstance(ruff, int | float):
        return [Peer("ruff check (PRODUCT.md)", 0.33), Peer("radon cc (PRODUCT.md)", 3.9)]
    return [
        Peer("ruff check", ruff),
        Peer(
            "ruff+radon cc+radon mi+bandit",
            _at(chain, "total_seconds"),
            bool(_at(chain, "at_least")),
        ),
    ]


def _save_peers(servers: dict[str, Any] | None) -> list[Peer]:
    """The peers' same-content lint round trip at p95, measured, else PRODUCT.md's medians."""
    found = []
    for name, run in (servers or {}).items():
        samples = run.get("same_content_ms") if isinstance(run, dict) else None
        if samples:
            found.append(Peer(f"{name} {run.get('trigger', '')} p95", percentile(samples, 95)))
    return found or [
        Peer("ruff server didChange p50 (PRODUCT.md)", 2.8),
        Peer("pylsp save p50 (PRODUCT.md)", 570.0),
    ]


def _gap_rows(label: str, gaps: list[float]) -> list[Row]:
    if not gaps:
        return [_row("M5", f"{label}: progress gap p50", None, "ms", "50-150 ms", low=50, high=150)]
    outside = sum(1 for gap in gaps if not 50 <= gap <= 150)
    share = 100 * outside / len(gaps)
    return [
        _row(
            "M5",
            f"{label}: progress gap p50",
            percentile(gaps, 50),
            "ms",
            "50-150 ms",
            low=50,
            high=150,
            note=f"{len(gaps)} gaps: min {min(gaps):.0f}, p95 {percentile(gaps, 95):.0f}, "
            f"max {max(gaps):.0f} ms",
        ),
        _row(
            "M5",
            f"{label}: progress gaps outside 50-150 ms",
            share,
            "%",
            "0 %",
            high=0,
            note=f"{outside} of {len(gaps)}",
        ),
    ]


def _size_rows(size: int, run: dict[str, Any], save_peers: list[Peer]) -> list[Row]:
    """M5 and the in-scan slope (M6) of one generated workspace's cold scan."""
    large = size >= LARGE
    label = f"{size:,} files"
    saves = run.get("saves_during_scan_ms") or []
    slope = run.get("in_scan_slope") or {}
    rows = [
        _row(
            "M5",
            f"{label}: peak server RSS",
            _at(run, "during_scan", "server_rss_mb"),
            "MB",
            "<= 200 MB",
            high=200,
        ),
        _row(
            "M5",
            f"{label}: peak tree RSS",
            _at(run, "during_scan", "tree_rss_mb"),
            "MB",
            "<= 300 MB",
            high=300,
        ),
        _row("M5", f"{label}: peak tree PSS", _at(run, "during_scan", "tree_pss_mb"), "MB", "-"),
        _row(
            "M5",
            f"{label}: cold Review all",
            run.get("scan_seconds"),
            "s",
            "<= 120 s" if large else "-",
            high=120 if large else None,
            note=f"{run.get('scan_end_message', '')}; with a cached save every "
            f"{SAVE_PAUSE_S * 1000:.0f} ms meanwhile",
        ),
        *_gap_rows(label, run.get("progress_gaps_ms") or []),
        _row(
            "M5",
            f"{label}: cached save during the scan, p95",
            percentile(saves, 95) if saves else None,
            "ms",
            "<= 50 ms",
            high=50,
            peers=save_peers,
            note=f"{len(saves)} saves"
            + (f", p50 {percentile(saves, 50):.1f}, max {max(saves):.0f} ms" if saves else ""),
        ),
    ]
    for key, name in (("server_bytes_per_file", "server"), ("tree_bytes_per_file", "tree")):
        value = slope.get(key)
        rows.append(
            _row(
                "M6",
                f"{label}: {name} RSS per file done, from 25 %",
                value / 1024 if isinstance(value, int | float) else None,
                "KB/file",
                f"flat: <= {FLAT_KB_PER_FILE:g} KB/file",
                high=FLAT_KB_PER_FILE,
                note=f"least squares over {slope.get('samples')} samples keyed by the "
                "progress count (tests/perf/test_memory_slope.py)",
            )
        )
    return rows


def _generated_rows(data: dict[str, Any], servers: dict[str, Any] | None) -> list[Row]:
    rows: list[Row] = []
    generated = data.get("generated") or {}
    sizes = sorted(int(size) for size in generated if "error" not in generated[size])
    save_peers = _save_peers(servers)
    for size in sizes:
        rows += _size_rows(size, generated[str(size)], save_peers)
    for small, big in zip(sizes, sizes[1:], strict=False):
        for key, name in (("server_rss_mb", "server"), ("tree_rss_mb", "tree")):
            low = _at(generated[str(small)], "during_scan", key)
            high = _at(generated[str(big)], "during_scan", key)
            slope = (high - low) * 1024 / (big - small) if low and high else None
            rows.append(
                _row(
                    "M6",
                    f"slope {small:,}->{big:,} files, {name} peak",
                    slope,
                    "KB/file",
                    f"flat: <= {FLAT_KB_PER_FILE:g} KB/file",
                    high=FLAT_KB_PER_FILE,
                )
            )
    return rows


def _spawn_rows(data: dict[str, Any]) -> list[Row]:
    spawn = data.get("spawn") or {}
    return [
        _row(
            "M7",
            "spawn -> first diagnostics, cached file",
            spawn.get("spawn_to_diagnostics_ms"),
            "ms",
            "<= 400 ms",
            high=400,
            peers=_measured_peers(data, "spawn_to_diagnostics_ms"),
            note=f"median of {SPAWNS} spawns; the peers' of {PEER_SPAWNS}, on the same file "
            "(pylsp lints on didOpen after its fixed 500 ms debounce)",
        ),
        _row(
            "M7",
            "spawn -> initialize answer",
            spawn.get("spawn_to_initialize_answer_ms"),
            "ms",
            "-",
        ),
        _row(
            "M7",
            "initialize round trip",
            spawn.get("initialize_ms"),
            "ms",
            "-",
            peers=_measured_peers(data, "initialize_ms")
            or [Peer("ruff server", 4.75), Peer("pylsp", 561.0)],
        ),
    ]


def rows(
    data: dict[str, Any] | None,
    *,
    servers: dict[str, Any] | None = None,
    chain: dict[str, Any] | None = None,
) -> list[Row]:
    """The issue-17 rows of a memory run's results; `servers` and `chain` are the peers
    `benchmarks.run` measured (save round trips, the command-line chain), when it did."""
    if not data:
        return []
    return _stdlib_rows(data, chain) + _generated_rows(data, servers) + _spawn_rows(data)


# -- plot ------------------------------------------------------------------------


def draw(data: dict[str, Any] | None, path: Path) -> None:
    """Memory over time: the library scan and the minute after; the generated scans."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not data:
        return
    figure, (top, middle, bottom) = plt.subplots(3, 1, figsize=(10, 12.5))
    _draw_stdlib(top, data.get("stdlib") or {})
    _draw_generated(middle, data.get("generated") or {})
    _draw_by_count(bottom, data.get("generated") or {})
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _draw_stdlib(axes: Any, stdlib: dict[str, Any]) -> None:
    points = stdlib.get("timeline") or []
    if not points:
        return
    t = [p[0] for p in points]
    axes.plot(t, [p[2] for p in points], label="tree RSS", color="tab:red")
    axes.plot(t, [p[3] for p in points], label="tree PSS", color="tab:orange")
    axes.plot(t, [p[1] for p in points], label="server RSS", color="tab:blue")
    marks = stdlib.get("marks") or {}
    for key, text in (("opened", "file opened"), ("scan_start", "scan"), ("scan_end", "scan end")):
        if key in marks:
            axes.axvline(marks[key], color="grey", linestyle=":")
            axes.text(marks[key], 5, f" {text}", rotation=90, va="bottom", fontsize=8)
    for bound, text in ((80, "target at rest 80 MB"), (150, "target in a scan 150 MB")):
        axes.axhline(bound, color="green", linestyle="--", linewidth=0.8)
        axes.text(t[-1], bound, text, ha="right", va="bottom", fontsize=8, color="green")
    for peer in PEERS[:2]:
        axes.axhline(peer.figure, color="black", linestyle=":", linewidth=0.6)
        axes.text(0, peer.figure, f" {peer.name}", va="bottom", fontsize=7)
    axes.set_title("tapps-lsp: one file open, a cold Review all of the stdlib, the minute after")
    axes.set_xlabel("seconds since the server started")
    axes.set_ylabel("MB")
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left")


def _draw_generated(axes: Any, generated: dict[str, Any]) -> None:
    ordered = sorted(generated.items(), key=lambda item: int(item[0]))
    for number, (size, run) in enumerate(ordered):
        points = run.get("timeline") or []
        if points:
            t = [p[0] for p in points]
            color = f"C{number}"
            axes.plot(t, [p[2] for p in points], color=color, label=f"{int(size):,} files, tree")
            axes.plot(t, [p[1] for p in points], color=color, linestyle="--", label="  server")
    axes.axhline(300, color="green", linestyle="--", linewidth=0.8)
    axes.axhline(200, color="green", linestyle=":", linewidth=0.8)
    axes.set_title("cold Review all of generated workspaces (targets: tree 300, server 200 MB)")
    axes.set_xlabel("seconds since the scan started")
    axes.set_ylabel("MB")
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left", fontsize=8)


def _draw_by_count(axes: Any, generated: dict[str, Any]) -> None:
    """RSS against files done (the slope test's view), with the bound of a flat design."""
    ordered = sorted(generated.items(), key=lambda item: int(item[0]))
    for number, (size, run) in enumerate(ordered):
        points = _at(run, "in_scan_slope", "points") or []
        if not points:
            continue
        done = [p[0] for p in points]
        color = f"C{number}"
        axes.plot(done, [p[2] for p in points], color=color, label=f"{int(size):,} files, tree")
        axes.plot(done, [p[1] for p in points], color=color, linestyle="--", label="  server")
        start = next((p for p in points if p[0] >= 0.25 * int(size)), None)
        if start is not None:
            # From 25 % of the files, the steepest line a flat design may follow.
            rise = (int(size) - start[0]) * FLAT_KB_PER_FILE / 1024
            axes.plot(
                [start[0], int(size)], [start[2], start[2] + rise], color="green", linewidth=0.8
            )
    axes.set_title(
        f"RSS against files done (green: {FLAT_KB_PER_FILE:g} KB per file from 25 %, "
        "the bound of tests/perf/test_memory_slope.py)"
    )
    axes.set_xlabel("files done (from the progress reports)")
    axes.set_ylabel("MB")
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left", fontsize=8)


# -- entry point -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Measures (or reads a results file), prints the rows, writes the plot."""
    from benchmarks.run import _git_head, machine, snapshot

    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--large", action="store_true", help=f"also {LARGE:,} files")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--work-tree", action="store_true", help="run the work tree, not HEAD")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument("--from-json", type=Path, help="measure nothing: print and plot a file")
    args = parser.parse_args(argv)
    if args.from_json:
        data = json.loads(args.from_json.read_text())
    else:
        sizes = tuple(args.sizes) + ((LARGE,) if args.large else ())
        work = Path(tempfile.mkdtemp(prefix="tapps-memory-"))
        logs = Path(tempfile.gettempdir()) / "tapps-bench-logs"
        logs.mkdir(exist_ok=True)
        try:
            server = Server(None if args.work_tree else snapshot(work / "server"))
            corpus_dir = work / "stdlib"
            corpora.copy_corpus(corpus_dir)
            data = {
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "server_code": "work tree" if args.work_tree else f"HEAD at {_git_head()}",
                "machine": machine(),
                **measure(server, work, logs, corpus_dir, sizes),
            }
        finally:
            shutil.rmtree(work, ignore_errors=True)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(data, indent=1) + "\n")
        _log(f"wrote {args.output}")
    print(render_table(rows(data)))
    for row in rows(data):
        if row.note:
            print(f"- {row.number} {row.name}: {row.note}")
    draw(data, args.plot)
    _log(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
