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


def test_rows_of_a_generated_scan_give_gaps_saves_slope_and_peers() -> None:
    run = {
        "during_scan": {"server_rss_mb": 150.0, "tree_rss_mb": 250.0},
        "scan_seconds": 30.0,
        "progress_gaps_ms": [100.0, 110.0, 40.0, 120.0],
        "saves_during_scan_ms": [2.0] * 18 + [80.0, 80.0],
        "in_scan_slope": {"server_bytes_per_file": 6_000.0, "tree_bytes_per_file": 200.0},
    }
    data = {
        "generated": {"20000": run},
        "peers": {
            "ruff server": {"at_rest": {"tree_rss_mb": 20.0}, "spawn_to_diagnostics_ms": 30.0},
            "pylsp": {"error": "not installed"},
        },
        "stdlib": {"at_rest": {"tree_rss_mb": 60.0}},
        "spawn": {"spawn_to_diagnostics_ms": 300.0},
    }
    found = {row.name: row for row in rows(data)}
    gap = found["20,000 files: progress gap p50"]
    assert gap.figure == pytest.approx(105.0) and gap.passed is True
    assert found["20,000 files: progress gaps outside 50-150 ms"].figure == 25.0
    assert found["20,000 files: progress gaps outside 50-150 ms"].passed is False
    save = found["20,000 files: cached save during the scan, p95"]
    assert save.passed is False and save.peers  # PRODUCT.md's figures when none measured
    assert found["20,000 files: server RSS per file done, from 25 %"].passed is False
    assert found["20,000 files: tree RSS per file done, from 25 %"].passed is True
    rest = found["at rest, one file open, tree RSS"]
    assert [(peer.name, peer.figure) for peer in rest.peers][0] == ("ruff server", 20.0)
    assert rest.passed is True
    spawn = found["spawn -> first diagnostics, cached file"]
    assert [peer.figure for peer in spawn.peers] == [30.0] and spawn.passed is True
    servers = {"ruff server": {"trigger": "didChange", "same_content_ms": [1.0, 3.0]}}
    measured = {row.name: row for row in rows(data, servers=servers)}
    assert measured["20,000 files: cached save during the scan, p95"].peers[0].figure == (
        pytest.approx(2.9)
    )
