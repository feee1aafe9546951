"""The benchmark harness's pure helpers, so that `make bench` does not rot between runs.

No benchmark runs here: only the arithmetic and the table on small inputs.
"""

import math
from pathlib import Path

import pytest

from benchmarks.run import Peer, Row, meets, percentile, ratio, render_table, targets


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert percentile([7], 95) == 7
    assert math.isnan(percentile([], 50))


def test_ratio_is_ours_over_peer_and_none_without_a_peer() -> None:
    assert ratio(1.5, 3.0) == 0.5
    assert ratio(2.0, None) is None
    assert ratio(2.0, 0) is None
    assert ratio(None, 1.0) is None


def test_meets_checks_both_bounds() -> None:
    assert meets(100, 50, 150)
    assert not meets(160, 50, 150)
    assert not meets(40, 50, None)
    assert meets(0.2, None, 0.3)
    assert meets(None, None, 1) is None


def test_table_shows_figure_verdict_and_ratio_to_each_peer() -> None:
    rows = [
        Row("1", "cached save p50", 1.0, "ms", "<= 2 ms", high=2, peers=[Peer("ruff", 2.0)]),
        Row("3", "cold review", 30.0, "s", "faster", high=20.0, peers=[Peer("chain", 20.0, True)]),
    ]
    text = render_table(rows)
    assert "pass" in text and "MISS" in text
    assert "ruff 2.00 ms (x0.5)" in text
    assert "chain >= 20.0 s (x1.5)" in text
    markdown = render_table(rows, markdown=True)
    assert markdown.splitlines()[1].startswith("|---|")
    assert len(markdown.splitlines()) == 4


def test_targets_from_a_small_result() -> None:
    result = {
        "corpus": {"files": 2, "single_file_lines": 10},
        "peers": {
            "servers": {
                "ruff server": {
                    "trigger": "didChange",
                    "same_content_ms": [1.0, 1.2],
                    "new_content_ms": [1.5],
                    "rss_mb": {"server": 20.0, "total": 20.0},
                    "initialize_ms": 1.0,
                }
            }
        },
        "tapps": {
            "saves": {"cached_save_ms": [1.0, 3.0], "uncached_save_ms": [100.0]},
            "cold": [
                {
                    "seconds": 4.0,
                    "command_ms": 5.0,
                    "progress_gaps_ms": [60.0, 140.0],
                    "saves_during_scan_ms": [],
                    "memory": {"with_workers_peak_mb": 120.0, "server_peak_mb": 60.0},
                    "cache_stats": {"memory": {"bytes": 1024**2}},
                }
            ],
            "edit_loop": {"hits": 9, "misses": 1, "cycles": 1, "hit_rate": 0.9},
        },
    }
    rows = {(row.number, row.name): row for row in targets(result)}
    cached = rows[("1", "cached save -> diagnostics p50")]
    assert cached.figure == 2.0 and cached.passed
    assert cached.peers[0].figure == pytest.approx(1.1)
    assert rows[("8", "cache hit rate, edit loop")].figure == pytest.approx(90.0)
    assert rows[("5", "progress gap, max")].passed
    assert rows[("7", "memory tier after a scan")].figure == pytest.approx(1.0)


def test_report_block_names_each_miss_and_replaces_only_its_markers(tmp_path: Path) -> None:
    from benchmarks import report

    rows = [Row("2", "uncached save p50", 300.0, "ms", "<= 120 ms", high=120)]
    text = report.block({"machine": {"nproc": 2}, "corpus": {"files": 1}}, rows)
    assert "uncached save p50: 300 ms against <= 120 ms: 2.5x the bound, 180 ms over" in text
    doc = tmp_path / "performance.md"
    doc.write_text(f"intro\n{report.START}\nstale block\n{report.END}\nanalysis\n")
    assert report.update_doc(doc, text)
    updated = doc.read_text()
    assert updated.startswith("intro\n") and updated.endswith("\nanalysis\n")
    assert "stale block" not in updated and "| 2 | uncached save p50 | 300 ms |" in updated


def test_ratios_far_from_one_read_as_whole_factors() -> None:
    from benchmarks.run import format_ratio

    assert format_ratio(0.48) == "x0.48"
    assert format_ratio(0.00094) == "1/1064"
    assert format_ratio(250.4) == "x250"
