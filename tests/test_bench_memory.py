"""The issue-17 memory benchmark's pure parts: tree sums, PSS, and the rows it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil", reason="psutil (the bench extra) is not installed")

from benchmarks.memory import generate, rows  # noqa: E402
from benchmarks.memory_tree import measure_tree, peaks, pss_mb  # noqa: E402


def test_tree_sums_every_descendant_with_rss_and_pss() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        tree = measure_tree(psutil.Process().pid)
        pids = {process.pid for process in tree.processes}
        assert child.pid in pids
        assert tree.rss_mb > tree.server_rss_mb > 0
        assert 0 < pss_mb(child.pid) <= tree.rss_mb
        assert tree.by_role()["server"]["count"] == 1
    finally:
        child.communicate(b"")
    assert peaks([tree])["processes"] == len(tree.processes)


def test_rows_give_the_slope_per_file_between_sizes() -> None:
    data = {
        "stdlib": {"at_rest": {"tree_rss_mb": 120.0}, "during_scan": {"tree_rss_mb": 140.0}},
        "generated": {
            "1000": {"during_scan": {"server_rss_mb": 60.0, "tree_rss_mb": 160.0}},
            "3000": {"during_scan": {"server_rss_mb": 80.0, "tree_rss_mb": 160.0}},
        },
    }
    found = {row.name: row for row in rows(data)}
    assert found["slope 1,000->3,000 files, server peak"].figure == pytest.approx(10.24)
    assert found["slope 1,000->3,000 files, tree peak"].figure == pytest.approx(0.0)
    assert found["at rest, one file open, tree RSS"].passed is False
    assert found["cold stdlib scan, peak tree RSS"].passed is True
    assert rows(None) == []


def test_generate_writes_small_modules_with_some_findings(tmp_path: Path) -> None:
    generate(tmp_path, 250)
    files = sorted(tmp_path.rglob("*.py"))
    assert len(files) == 250
    assert len({path.parent for path in files}) == 2
    assert sum("import sys" in path.read_text() for path in files) == 25
    compile(files[0].read_text(), str(files[0]), "exec")
