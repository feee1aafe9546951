"""Memory and start-up of tapps-lsp, the targets of issue 17, through a plain stdio client.

Every figure sums the whole process tree (server, scan and interactive workers, fork
server, resource tracker, ruff children): RSS, and PSS from /proc/PID/smaps_rollup.

    python -m benchmarks.memory                    # stdlib, 20,000 and 50,000 files
    python -m benchmarks.memory --large            # and 200,000 files (several minutes)
    python -m benchmarks.memory --from-json benchmarks/results/memory.json

It prints figures beside the peers' (PRODUCT.md section 10); it asserts nothing.
`python -m benchmarks.run` runs the same scenarios as its `memory` section.
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
from pathlib import Path
from typing import Any

from benchmarks import corpus as corpora
from benchmarks.lsp_client import LspClient, file_uri, now_ms
from benchmarks.memory_tree import TreeSampler, measure_tree, peaks, timeline
from benchmarks.run import Peer, Row, render_table
from benchmarks.sampling import tree_cpu_seconds
from benchmarks.tapps_bench import SERVER_COMMAND, Server, run_scan

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "memory.json"
PLOT = ROOT / "docs" / "img" / "memory-over-time.png"
SIZES = (20_000, 50_000)
LARGE = 200_000
REST_S = 10.0
AFTER_S = 60.0
SPAWNS = 5

# PRODUCT.md section 10 and issue 17: RSS of the peers' servers on this machine.
PEERS = [
    Peer("ruff server (15-21 MB)", 21.0),
    Peer("pylsp", 77.0),
    Peer("minimal pygls 2 server", 40.0),
]


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


async def _spawn_once(
    server: Server, workspace: Path, edited: Path, cache_dir: Path, log: Path
) -> dict[str, Any]:
    client = _client(server, workspace, cache_dir, log)
    start = now_ms()
    await client.start()
    try:
        initialize_ms = await client.initialize(workspace)
        answered = now_ms() - start
        uri = file_uri(edited)
        arrived = client.expect_diagnostics(uri)
        await client.did_open(uri, edited.read_text(encoding="utf-8"))
        received, _ = await asyncio.wait_for(arrived, 120)
        stats = await client.execute_command("tapps.cacheStats") or {}
    finally:
        await client.stop()
    return {
        "spawn_to_diagnostics_ms": received - start,
        "spawn_to_initialize_answer_ms": answered,
        "initialize_ms": initialize_ms,
        "cache_hits": stats.get("hits"),
    }


async def spawn_scenario(
    server: Server, workspace: Path, edited: Path, cache_dir: Path, log: Path, count: int
) -> dict[str, Any]:
    """Spawn -> initialize -> didOpen of a cached file -> its diagnostics, `count` times."""
    runs = [await _spawn_once(server, workspace, edited, cache_dir, log) for _ in range(count)]
    return {
        key: statistics.median(run[key] for run in runs)
        for key in ("spawn_to_diagnostics_ms", "spawn_to_initialize_answer_ms", "initialize_ms")
    } | {"runs": runs}


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
    """A cold Review all of a generated workspace: peaks, seconds, memory over time."""
    async with server.start(workspace, cache_dir, log) as client:
        sampler = TreeSampler(client.pid, interval_s=0.25).start()
        try:
            rest = measure_tree(client.pid, sampler.started)
            scan_start = sampler.now()
            scan = await run_scan(client)
            scan_end = sampler.now()
        finally:
            sampler.stop()
    return {
        "before_scan": rest.to_dict(),
        "scan_seconds": scan["seconds"],
        "scan_end_message": scan["end_message"],
        "during_scan": peaks(sampler.between(scan_start, scan_end)),
        "timeline": timeline(sampler.samples, scan_start),
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


def _stdlib_rows(data: dict[str, Any]) -> list[Row]:
    stdlib = data.get("stdlib") or {}
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
            peers=PEERS,
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
            peers=PEERS,
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
            peers=PEERS,
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
            note=f"nothing sampling; {_at(data, 'cold_scan', 'cpu_seconds') or 0:.1f} s of CPU "
            f"(every process); {stdlib.get('scan_seconds', 0):.1f} s in the sampled run",
        ),
    ]


def _generated_rows(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    generated = data.get("generated") or {}
    sizes = sorted(int(size) for size in generated if "error" not in generated[size])
    for size in sizes:
        run = generated[str(size)]
        large = size >= LARGE
        label = f"{size:,} files"
        rows += [
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
            _row(
                "M5", f"{label}: peak tree PSS", _at(run, "during_scan", "tree_pss_mb"), "MB", "-"
            ),
            _row(
                "M5",
                f"{label}: cold Review all",
                run.get("scan_seconds"),
                "s",
                "<= 120 s" if large else "-",
                high=120 if large else None,
            ),
        ]
    for small, big in zip(sizes, sizes[1:], strict=False):
        for key, name in (("server_rss_mb", "server"), ("tree_rss_mb", "tree")):
            low = _at(generated[str(small)], "during_scan", key)
            high = _at(generated[str(big)], "during_scan", key)
            slope = (high - low) * 1024 / (big - small) if low and high else None
            rows.append(
                _row("M6", f"slope {small:,}->{big:,} files, {name} peak", slope, "KB/file", "flat")
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
            note=f"median of {SPAWNS} spawns",
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
            peers=[Peer("ruff server", 4.75), Peer("pylsp", 561.0)],
        ),
    ]


def rows(data: dict[str, Any] | None) -> list[Row]:
    """The issue-17 rows of a memory run's results."""
    if not data:
        return []
    return _stdlib_rows(data) + _generated_rows(data) + _spawn_rows(data)


# -- plot ------------------------------------------------------------------------


def draw(data: dict[str, Any] | None, path: Path) -> None:
    """Memory over time: the library scan and the minute after; the generated scans."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not data:
        return
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 8.5))
    _draw_stdlib(top, data.get("stdlib") or {})
    _draw_generated(bottom, data.get("generated") or {})
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
