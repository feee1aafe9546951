"""The slope helpers of benchmarks/slope.py: progress counts, the fit, the window."""

from __future__ import annotations

import os

import pytest

from benchmarks.slope import (
    CountSample,
    bytes_per_file,
    files_done,
    keyed_by_count,
    least_squares_slope,
    sample_tree,
)


def _samples(per_file_bytes: float, *, spike_at: int | None = None) -> list[CountSample]:
    samples = []
    for done in range(0, 20_001, 100):
        server = 60 + done * per_file_bytes / 2**20
        tree = server + 90 + (20 if done == spike_at else 0)
        samples.append(CountSample(done, 20_000, server, tree, 5))
    return samples


def test_progress_messages_give_files_done_and_total() -> None:
    assert files_done("1234/20000 pkg_0001/mod_1234.py") == (1234, 20000)
    assert files_done("7/9") == (7, 9)
    assert files_done("Reviewing") is None
    assert files_done(None) is None


def test_the_slope_is_the_growth_per_file_after_the_first_quarter() -> None:
    assert least_squares_slope([(0, 1), (2, 5)]) == pytest.approx(2)
    assert least_squares_slope([(1, 1)]) is None
    assert least_squares_slope([(1, 1), (1, 3)]) is None
    growing = _samples(6_000)
    assert bytes_per_file(growing, "server_rss_mb") == pytest.approx(6_000)
    assert bytes_per_file(growing, "tree_rss_mb") == pytest.approx(6_000)
    # Flat, with one 20 MB child for a moment: far below a bound of 1 KB per file.
    flat = _samples(0, spike_at=15_000)
    assert abs(bytes_per_file(flat, "tree_rss_mb") or 0) < 100
    # Growth only during start-up (before 25 %) is not growth with the file count.
    warm_up = [
        CountSample(s.done, s.total, s.server_rss_mb + min(s.done, 4_000) / 100, 0, 1) for s in flat
    ]
    assert bytes_per_file(warm_up, "server_rss_mb") == pytest.approx(0, abs=1e-6)
    assert bytes_per_file(warm_up[:10], "server_rss_mb") is None


def test_time_samples_take_the_count_of_the_last_report_before_them() -> None:
    reports = [(1.0, 10, 100), (2.0, 50, 100)]
    keyed = keyed_by_count([(0.5, 1, 2, 1), (1.0, 3, 4, 2), (2.5, 5, 6, 3)], reports)
    assert [(s.done, s.server_rss_mb, s.tree_rss_mb) for s in keyed] == [(10, 3, 4), (50, 5, 6)]


def test_a_sample_sums_the_tree_and_reads_the_peak() -> None:
    sample = sample_tree(os.getpid(), 3, 4)
    assert (sample.done, sample.total) == (3, 4)
    assert sample.tree_rss_mb >= sample.server_rss_mb > 0
    assert sample.server_hwm_mb >= sample.server_rss_mb
    assert sample_tree(2**22 + 12345, 1, 1).processes == 0
