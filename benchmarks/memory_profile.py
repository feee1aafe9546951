"""Where the server process's memory goes: tracemalloc snapshots of the real server.

    python -m benchmarks.memory_profile                 # 20,000 generated files
    python -m benchmarks.memory_profile --files 5000 --top 30

The server (a snapshot of HEAD) is started through a launcher that turns tracemalloc on
and dumps a snapshot on SIGUSR1. A plain stdio client opens one file and waits 10 s (at
rest), then runs a cold Review all of a generated workspace and waits 5 s (after the
scan). Printed: the largest allocation sites at rest, after the scan, and what the scan
added, by file and line. tracemalloc's own bookkeeping inflates RSS: read the sizes, not
the RSS, of this run. Only the server is traced (its workers are started afresh).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import cast

from benchmarks.lsp_client import LspClient, file_uri
from benchmarks.memory import generate
from benchmarks.memory_tree import measure_tree
from benchmarks.tapps_bench import run_scan

_LAUNCHER = """
import os, runpy, signal, sys, tracemalloc
tracemalloc.start()
_count = [0]
def _dump(signum, frame):
    _count[0] += 1
    prefix = os.environ["TAPPS_SNAPSHOT_PREFIX"] + str(_count[0])
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    with open(prefix + ".peak", "w") as out:
        out.write(f"{current} {peak}")
    tracemalloc.take_snapshot().dump(prefix + ".snapshot")
    os.rename(prefix + ".snapshot", prefix + ".done")
signal.signal(signal.SIGUSR1, _dump)
sys.argv = ["tapps_lsp"]
runpy.run_module("tapps_lsp", run_name="__main__", alter_sys=True)
"""


async def _dump(
    client: LspClient, prefix: Path, number: int
) -> tuple[tracemalloc.Snapshot, tuple[int, ...]]:
    """Asks the server for a snapshot and waits (polled, with a deadline) until it is written."""
    done = Path(f"{prefix}{number}.done")
    os.kill(client.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while not done.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the server wrote no snapshot")
        await asyncio.sleep(0.2)
    peak = tuple(int(n) for n in Path(f"{prefix}{number}.peak").read_text().split())
    return tracemalloc.Snapshot.load(str(done)), peak


async def profile(source: Path, work: Path, files: int) -> dict[str, object]:
    """Runs the scenario; returns the two snapshots and the tree's memory at each."""
    workspace = work / "workspace"
    generate(workspace, files)
    launcher = work / "traced_server.py"
    launcher.write_text(_LAUNCHER)
    prefix = work / "snap"
    env = {
        "PYTHONPATH": str(source),
        "TAPPS_LSP_CACHE_DIR": str(work / "cache"),
        "TAPPS_SNAPSHOT_PREFIX": str(prefix),
    }
    client = LspClient(
        [sys.executable, str(launcher)], env=env, cwd=work, stderr_path=work / "server.log"
    )
    await client.start()
    try:
        await client.initialize(workspace)
        opened = workspace / "pkg_0000" / "mod_1.py"
        arrived = client.expect_diagnostics(file_uri(opened))
        await client.did_open(file_uri(opened), opened.read_text())
        await asyncio.wait_for(arrived, 120)
        await asyncio.sleep(10)  # at rest is defined 10 s after the last review
        tree_rest = measure_tree(client.pid).to_dict()
        rest, rest_peak = await _dump(client, prefix, 1)
        scan = await run_scan(client)
        await asyncio.sleep(5)
        tree_after = measure_tree(client.pid).to_dict()
        after, after_peak = await _dump(client, prefix, 2)
    finally:
        await client.stop()
    return {
        "rest": rest,
        "after": after,
        "tree_rest": tree_rest,
        "tree_after": tree_after,
        "scan_seconds": scan["seconds"],
        # (current, peak) bytes traced: the peak of the second is the scan's.
        "traced_rest": rest_peak,
        "traced_after": after_peak,
    }


def _print_top(title: str, stats: list[tracemalloc.Statistic], top: int) -> None:
    total = sum(stat.size for stat in stats)
    print(f"\n{title}: {total / 2**20:.1f} MiB traced")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        print(
            f"{stat.size / 2**20:8.2f} MiB {stat.count:9d} blocks  {frame.filename}:{frame.lineno}"
        )


def _print_diff(title: str, stats: list[tracemalloc.StatisticDiff], top: int) -> None:
    print(f"\n{title}: {sum(stat.size_diff for stat in stats) / 2**20:+.1f} MiB")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        print(
            f"{stat.size_diff / 2**20:+8.2f} MiB {stat.count_diff:+9d} blocks  "
            f"{frame.filename}:{frame.lineno}"
        )


def report(result: dict[str, object], files: int, top: int) -> None:
    """Prints the largest sites by file and by line, and the scan's growth."""
    rest: tracemalloc.Snapshot = result["rest"]  # type: ignore[assignment]
    after: tracemalloc.Snapshot = result["after"]  # type: ignore[assignment]
    print(f"tree at rest: {result['tree_rest']}")
    seconds = result["scan_seconds"]
    print(f"tree 5 s after a {files}-file scan ({seconds:.1f} s): {result['tree_after']}")
    for key in ("traced_rest", "traced_after"):
        current, peak = cast(tuple[int, int], result[key])
        print(f"{key}: current {current / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB")
    _print_top("at rest, by file", rest.statistics("filename"), top)
    _print_top("at rest, by line", rest.statistics("lineno"), top)
    _print_top(f"after {files} files, by file", after.statistics("filename"), top)
    _print_diff(f"what {files} files added, by line", after.compare_to(rest, "lineno"), top)
    _print_diff(f"what {files} files added, by file", after.compare_to(rest, "filename"), top)


def main(argv: list[str] | None = None) -> int:
    """Profiles a snapshot of HEAD (or the work tree) and prints the tables."""
    from benchmarks.run import snapshot

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory_profile", description=__doc__
    )
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--work-tree", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tapps-memprof-"))
    try:
        root = Path(__file__).resolve().parent.parent
        source = root if args.work_tree else snapshot(work / "server")
        result = asyncio.run(profile(source, work, args.files))
        report(result, args.files, args.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
