"""The Reviewer with the real engine, cache and worker processes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from review_helpers import review_files_sync, worker_pids

from tapps_lsp import supervised_pool
from tapps_lsp.cache import ResultCache
from tapps_lsp.config import Settings
from tapps_lsp.review import worker
from tapps_lsp.reviewer import Reviewer
from tapps_lsp.scan_pipeline import UNREADABLE

SETTINGS = Settings()
# Long enough ago that a stat entry is trusted (see scan_pipeline._RACY_NS).
PAST_NS = time.time_ns() - 3600 * 10**9


def module_text(index: int, functions: int = 40) -> str:
    """A distinct, ordinary module (unique content, so never a cache hit across tests)."""
    parts = [f'"""Generated module {index}."""\n\nimport os\n\n']
    for f in range(functions):
        parts.append(
            f"def f{index}_{f}(items, limit={f}):\n"
            f"    total = 0\n"
            f"    for item in items:\n"
            f"        if item > limit and item % {f + 2} == 0:\n"
            f"            total += item * {index}\n"
            f"        elif item < 0:\n"
            f"            total -= os.getpid() % {f + 3}\n"
            f"    return total\n\n\n"
        )
    return "".join(parts)


def write(path: Path, text: str, mtime_ns: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def reviewer(cache_dir: Path) -> Iterator[Reviewer]:
    r = Reviewer(ResultCache(cache_dir), jobs=2)
    yield r
    r.shutdown()
    r.cache.close()


def fresh(cache_dir: Path) -> Reviewer:
    """A new Reviewer on the same cache directory, as after a restart."""
    return Reviewer(ResultCache(cache_dir), jobs=2)


def codes(review: object) -> set[str]:
    return {f.code for f in review.findings}  # type: ignore[attr-defined]


def wait_gone(pids: list[int], timeout: float = 1.0) -> list[int]:
    """The pids still alive after `timeout` (a dead child may linger as a zombie)."""
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _alive(pid)]
        time.sleep(0.01)
    return alive


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_warm_scan_does_not_read_unchanged_files(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ws"
    target = write(root / "mod.py", "x = 1\n", PAST_NS)
    other = write(root / "other.py", module_text(1), PAST_NS)
    first = fresh(cache_dir)
    cold = review_files_sync(first, [target, other], SETTINGS, root)
    first.shutdown()
    first.cache.close()
    assert [r.from_cache for r in cold] == [False, False]
    assert "F821" not in codes(cold[0])

    # Files the stat index does not know are read and hashed here (the real one runs).
    hashed: list[str] = []
    real_hash_files = worker.hash_files

    def hash_files(paths: list[str], max_size: int) -> list[worker.Hashed]:
        hashed.extend(paths)
        return real_hash_files(paths, max_size)

    monkeypatch.setattr(worker, "hash_files", hash_files)
    second = fresh(cache_dir)
    warm = review_files_sync(second, [target, other], SETTINGS, root)
    assert [r.from_cache for r in warm] == [True, True]
    assert hashed == [], "the warm scan read a file the stat index knew"

    # Same size, mtime put back (`touch -r`): the new ctime makes the index miss, as in
    # git, so the file is read and the change seen (issue 13).
    write(target, "x = y\n", PAST_NS)
    third = review_files_sync(second, [target, other], SETTINGS, root)
    assert "F821" in codes(third[0]) and not third[0].from_cache
    assert hashed == [str(target)] and third[1].from_cache
    second.shutdown()
    second.cache.close()


async def test_warm_scan_serves_many_slices_in_order(tmp_path: Path, cache_dir: Path) -> None:
    # More files than one slice of stat-index lookups (done in a thread, a slice ahead).
    root = tmp_path / "ws"
    paths = [write(root / f"m{i:03}.py", f"value_{i} = {i}\n", PAST_NS) for i in range(75)]
    first = fresh(cache_dir)
    await first.review_files(paths, SETTINGS, root)
    first.shutdown()
    first.cache.close()
    paths[10].unlink()
    gone_dir = write(root / "plain.py", "x = 1\n", PAST_NS) / "inner.py"  # stat: ENOTDIR
    second = fresh(cache_dir)
    deleted: list[str] = []
    try:
        reviews = await second.review_files(
            [*paths, gone_dir], SETTINGS, root, on_deleted=deleted.append
        )
    finally:
        second.shutdown()
        second.cache.close()
    assert deleted == [str(paths[10])]
    assert [r.path for r in reviews] == [str(p) for p in paths if p != paths[10]] + [str(gone_dir)]
    assert all(r.from_cache for r in reviews[:-1])
    assert reviews[-1].result.skipped is not None
    assert reviews[-1].result.skipped.startswith(UNREADABLE)
    stats = second.cache.stats()
    assert stats["hits"] == 74 and stats["misses"] == 0


def test_recently_modified_files_are_always_read(tmp_path: Path, reviewer: Reviewer) -> None:
    target = write(tmp_path / "ws" / "mod.py", "x = 1\n")
    review_files_sync(reviewer, [target], SETTINGS, tmp_path / "ws")
    stamp = target.stat().st_mtime_ns
    write(target, "x = y\n", stamp)
    again = review_files_sync(reviewer, [target], SETTINGS, tmp_path / "ws")
    assert "F821" in codes(again[0])


def test_same_content_elsewhere_is_a_cache_hit(tmp_path: Path, reviewer: Reviewer) -> None:
    text = module_text(2)
    a = write(tmp_path / "a" / "mod.py", text)
    b = write(tmp_path / "b" / "copy.py", text)
    assert not review_files_sync(reviewer, [a], SETTINGS, tmp_path / "a")[0].from_cache
    review = review_files_sync(reviewer, [b], SETTINGS, tmp_path / "b")[0]
    assert review.from_cache and review.path == str(b)


async def test_file_deleted_during_the_scan_is_skipped(tmp_path: Path, reviewer: Reviewer) -> None:
    root = tmp_path / "ws"
    known = write(root / "known.py", module_text(3), PAST_NS)
    await reviewer.review_files([known], SETTINGS, root)
    doomed = write(root / "doomed.py", module_text(4))
    new = write(root / "new.py", module_text(5))
    deleted: list[str] = []

    def on_result(review: object) -> None:
        # Cache hits are delivered before any miss is read: delete a miss now.
        if doomed.exists():
            doomed.unlink()

    reviews = await reviewer.review_files(
        [known, doomed, new], SETTINGS, root, on_result=on_result, on_deleted=deleted.append
    )
    assert [r.path for r in reviews] == [str(known), str(new)]
    assert deleted == [str(doomed)]


async def test_unreadable_files_are_reported(tmp_path: Path, reviewer: Reviewer) -> None:
    root = tmp_path / "ws"
    ok = write(root / "ok.py", module_text(6))
    fifo = root / "pipe.py"
    os.mkfifo(fifo)  # opening it for reading would block forever
    folder = root / "folder.py"
    folder.mkdir()
    reviews = await asyncio.wait_for(
        reviewer.review_files([ok, fifo, folder], SETTINGS, root), timeout=60
    )
    assert [r.path for r in reviews] == [str(ok), str(fifo), str(folder)]
    assert reviews[0].result.skipped is None
    for review in reviews[1:]:
        assert review.result.skipped is not None
        assert review.result.skipped.startswith(UNREADABLE)
        assert [f.category for f in review.findings] == ["file"]


async def test_small_files_keep_coming_while_a_large_one_is_analysed(
    tmp_path: Path, reviewer: Reviewer
) -> None:
    root = tmp_path / "ws"
    large = [write(root / f"large{i}.py", module_text(300 + i, functions=320)) for i in range(2)]
    assert all(p.stat().st_size > supervised_pool._LARGE_BYTES for p in large)
    small = [write(root / f"small{i}.py", f"small_{i} = {i}\n") for i in range(6)]
    order: list[str] = []
    await reviewer.review_files(
        [*large, *small], SETTINGS, root, on_result=lambda r: order.append(Path(r.path).stem)
    )
    # One worker takes the large files one after the other; the other, the small ones.
    assert order[0].startswith("small"), order
    assert sorted(order) == sorted(p.stem for p in [*large, *small])


async def test_cancel_stops_workers_within_a_second(tmp_path: Path, reviewer: Reviewer) -> None:
    root = tmp_path / "ws"
    paths = [write(root / f"m{i:03}.py", module_text(100 + i)) for i in range(60)]
    cancel = asyncio.Event()
    seen: list[int] = []
    cancelled_at: list[float] = []

    def on_result(review: object) -> None:
        if not cancel.is_set():
            seen.extend(worker_pids(reviewer))
            cancelled_at.append(time.monotonic())
            cancel.set()

    reviews = await reviewer.review_files(paths, SETTINGS, root, on_result=on_result, cancel=cancel)
    assert time.monotonic() - cancelled_at[0] < 1.0
    assert 0 < len(reviews) < len(paths)
    assert seen and wait_gone(seen) == []
    assert worker_pids(reviewer) == []


async def test_dead_worker_is_replaced_and_its_files_retried(
    tmp_path: Path, cache_dir: Path
) -> None:
    messages: list[str] = []
    pool_log = logging.getLogger("tapps_lsp.supervised_pool")
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    pool_log.addHandler(handler)
    level = pool_log.level
    pool_log.setLevel(logging.DEBUG)
    reviewer = Reviewer(ResultCache(cache_dir), jobs=2)
    root = tmp_path / "ws"
    paths = [write(root / f"m{i:03}.py", module_text(200 + i)) for i in range(48)]
    killed: list[int] = []

    def on_result(review: object) -> None:
        if not killed:
            killed.extend(worker_pids(reviewer))
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    try:
        reviews = await reviewer.review_files(paths, SETTINGS, root, on_result=on_result)
    finally:
        reviewer.shutdown()
        reviewer.cache.close()
        pool_log.removeHandler(handler)
        pool_log.setLevel(level)
    assert killed
    assert any("scan worker stopped" in m for m in messages)
    assert [r.path for r in reviews] == [str(p) for p in paths]
    assert all(r.result.skipped is None for r in reviews)


async def test_review_text_then_lookup(tmp_path: Path, reviewer: Reviewer) -> None:
    text = "import os\n\nvalue = undefined_name\n"
    path = str(tmp_path / "ws" / "doc.py")
    assert reviewer.lookup(text, path, SETTINGS, tmp_path / "ws") is None
    review = await reviewer.review_text(text, path, SETTINGS, tmp_path / "ws")
    assert not review.from_cache and {"F401", "F821"} <= codes(review)
    cached = reviewer.lookup(text, path, SETTINGS, tmp_path / "ws")
    assert cached is not None and cached.from_cache
    assert cached.to_dict() | {"fromCache": False} == review.to_dict()
    # A result-affecting setting is another key.
    assert reviewer.lookup(text, path, Settings(lintIgnore=["F401"]), tmp_path / "ws") is None


def test_project_is_memoised_per_root(tmp_path: Path, reviewer: Reviewer) -> None:
    assert reviewer.project(tmp_path) is reviewer.project(tmp_path)
    first = reviewer.project(tmp_path)
    reviewer.invalidate_project(tmp_path)
    assert reviewer.project(tmp_path) is not first


def test_rescored_when_scoring_settings_or_project_change(
    tmp_path: Path, reviewer: Reviewer
) -> None:
    root = tmp_path / "ws"
    target = write(root / "mod.py", module_text(7), PAST_NS)
    lenient = Settings(qualityThreshold=1.0, minSecurity=0.0)
    first = review_files_sync(reviewer, [target], lenient, root)[0]
    # No coverage data: test_coverage is not measured (not 0).
    assert first.passed and "test_coverage" not in first.scores
    assert "test_coverage" in first.not_measured
    # Weights and thresholds do not change the cached result, only its score.
    strict = review_files_sync(reviewer, [target], Settings(qualityThreshold=99.0), root)[0]
    assert strict.from_cache and not strict.passed
    # Coverage data appearing changes the project: the next scan sees it (by its mtime)
    # and re-scores from the cache, without being told.
    write(
        root / "coverage.xml",
        "<coverage><sources><source>.</source></sources><packages><package><classes>"
        '<class filename="mod.py"><lines><line number="1" hits="1"/>'
        '<line number="2" hits="0"/></lines></class></classes></package></packages></coverage>',
    )
    again = review_files_sync(reviewer, [target], lenient, root)[0]
    assert again.from_cache and again.scores["test_coverage"] == 5.0
    assert again.not_measured == {}
    # And so does the heuristic, when asked for: a test file appearing.
    (root / "coverage.xml").unlink()
    write(root / "tests" / "test_mod.py", "def test_it():\n    pass\n")
    guessed = Settings(qualityThreshold=1.0, minSecurity=0.0, coverageHeuristic=True)
    third = review_files_sync(reviewer, [target], guessed, root)[0]
    assert third.from_cache and third.scores["test_coverage"] == 5.0


def test_results_survive_the_cache_field_for_field() -> None:
    # to_dict and from_dict are spelt out for speed: every field of the dataclasses
    # must still make the round trip (a new field that they forget fails here).
    from tapps_lsp.review import engine
    from tapps_lsp.review.model import FileResult

    text = "import os\nimport subprocess\n\n\n" + module_text(7, functions=3)
    text += "\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    result = engine.analyze(text, SETTINGS, filename="m.py")
    assert any(f.fix for f in result.findings) and any(f.data for f in result.findings)
    assert result.metrics.blocks
    data = result.to_dict()
    for finding, written in zip(result.findings, data["findings"], strict=True):
        expected = dataclasses.asdict(finding)
        expected["tags"] = list(finding.tags)
        if finding.fix is not None:
            expected["fix"]["edits"] = list(expected["fix"]["edits"])
        assert written == expected
    assert data["metrics"] == dataclasses.asdict(result.metrics)
    back = FileResult.from_dict(json.loads(json.dumps(data)))
    assert back == result
    assert {hash(b) for b in back.metrics.blocks} == {hash(b) for b in result.metrics.blocks}
    assert back.to_dict() == data
