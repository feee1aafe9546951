"""Several processes share one cache directory: four write and read at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from tapps_lsp.cache import ResultCache

WORKERS = 4
OWN = 60
SHARED = 20


def _value(owner: int, i: int) -> dict[str, Any]:
    return {"owner": owner, "i": i, "pad": "x" * (100 * i)}


def _worker(directory: str, index: int, start: Any, done: Any, results: Any) -> None:
    warnings: list[str] = []
    problems: list[str] = []
    cache = ResultCache(Path(directory), warn=warnings.append)
    start.wait()
    for i in range(OWN):
        cache.put(f"p{index}-{i}", _value(index, i))
        # Every process stores the same shared results: same key, same value.
        cache.put(f"shared-{i % SHARED}", _value(-1, i % SHARED))
        other = (index + 1 + i) % WORKERS
        for j in range(i):
            got = cache.get(f"p{other}-{j}")
            if got is not None and got != _value(other, j):
                problems.append(f"p{other}-{j} read back as {got!r}")
    cache.close()
    done.wait()
    # A fresh cache (empty memory tier) sees what every process stored.
    fresh = ResultCache(Path(directory), warn=warnings.append)
    missing = [
        f"p{owner}-{i}"
        for owner in range(WORKERS)
        for i in range(OWN)
        if fresh.get(f"p{owner}-{i}") != _value(owner, i)
    ]
    missing += [f"shared-{i}" for i in range(SHARED) if fresh.get(f"shared-{i}") != _value(-1, i)]
    entries = fresh.stats()["disk"]["entries"]
    fresh.close()
    cross_hits = cache.stats()["disk"]["hits"]
    results.put((index, problems, missing, warnings, entries, cross_hits))


def test_four_processes_write_and_read_at_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(WORKERS), context.Barrier(WORKERS)
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(str(tmp_path / "cache"), index, start, done, results))
        for index in range(WORKERS)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=240) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    # Processes read each other's results while all were writing.
    assert sum(report[-1] for report in reports) > 0
    for index, problems, missing, warnings, entries, _ in sorted(reports):
        assert problems == [], index
        assert missing == [], index
        assert warnings == [], index
        assert entries == WORKERS * OWN + SHARED
