"""Memory stays flat in the number of files a scan reviews (issue 17).

The real server over stdio, a generated workspace of 20,000 small modules (every tenth
with a finding), a cold "Review all" in a fresh cache. At every `$/progress` report the
test samples the RSS of the server and of its whole process tree (workers, ruff
children), keyed by the number of files the report says are done, not by time: a busy
machine makes the scan slower, not its memory per file larger. From 25 % of the files to
the end (past the start-up of workers and ruff), a least-squares line through RSS
against files done must rise by at most BOUND bytes per file, for the server and for
the tree. A design that keeps per-file state in memory grows by that state's size per
file (5.6-6.2 KB before issue 17); one that streams results out stays near 0.

`make test` runs it (about a minute); alone: `make test-memory-slope`
(`pytest -m memory_slope tests/perf`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from robustness.raw import Raw, server_env

from benchmarks.memory import generate
from benchmarks.slope import (
    CountSample,
    bytes_per_file,
    describe,
    files_done,
    in_window,
    sample_tree,
)

FILES = 20_000
# Bytes of RSS per file done, server and tree alike: a sixth of what the server kept per
# file before issue 17, and 15 MB over the 15,000 files of the fitted window.
BOUND = 1024
# A 20,000-file cold scan took 34 s on 2 cores at load 3; the wait is bounded, not timed.
SCAN_DEADLINE_S = 280.0
MIN_SAMPLES = 10

pytestmark = [pytest.mark.memory_slope, pytest.mark.slow, pytest.mark.timeout(400)]


async def _follow_scan(raw: Raw, deadline: float) -> tuple[list[CountSample], dict[str, Any]]:
    """Samples the tree at every progress report of the workspace scan until its end."""
    samples: list[CountSample] = []
    token: Any = None
    cursor = 0
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no end of the scan within {SCAN_DEADLINE_S} s"

        def more(seen: int = cursor) -> bool:
            return len(raw.notifications) > seen

        await raw.wait_for(more, timeout=remaining)
        arrived = raw.notifications[cursor:]
        cursor += len(arrived)
        latest = None
        for message in arrived:
            if message["method"] != "$/progress":
                continue
            value = message["params"].get("value") or {}
            if value.get("kind") == "begin" and value.get("title") == "Reviewing workspace":
                token = message["params"]["token"]
            elif message["params"]["token"] != token:
                continue
            elif value.get("kind") == "report":
                latest = files_done(value.get("message")) or latest
            elif value.get("kind") == "end":
                return samples, value
        # Reports that arrived together are one moment of the tree: sampled once, at the
        # latest count.
        if latest is not None:
            samples.append(sample_tree(raw.pid, *latest))


async def test_memory_is_flat_in_the_number_of_files(
    tmp_path: Path,
    record_property: Any,
) -> None:
    workspace = tmp_path / "workspace"
    generate(workspace, FILES)
    raw = await Raw.start(tmp_path, cwd=tmp_path, env=server_env(tmp_path / "cache"))
    try:
        await raw.initialize([workspace], capabilities={"window": {"workDoneProgress": True}})
        started = time.monotonic()
        await raw.request(
            "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
        )
        samples, end = await _follow_scan(raw, started + SCAN_DEADLINE_S)
        seconds = time.monotonic() - started
    finally:
        await raw.stop()

    server = bytes_per_file(samples, "server_rss_mb")
    tree = bytes_per_file(samples, "tree_rss_mb")
    figures = f"{describe(samples)}; scan {seconds:.1f} s: {end.get('message')}"
    print(f"\nmemory slope, {FILES:,} files (bound {BOUND} B/file): {figures}")
    record_property("memory_slope", figures)
    assert str(end.get("message", "")).startswith(f"{FILES} files"), figures
    assert len(in_window(samples)) >= MIN_SAMPLES, f"too few progress reports: {figures}"
    assert server is not None and tree is not None, figures
    assert server <= BOUND, f"the server grows {server:.0f} B per file: {figures}"
    assert tree <= BOUND, f"the process tree grows {tree:.0f} B per file: {figures}"
