"""Worker processes of our own (issue 17): plain children over JSON pipes, gone when idle.

Real worker processes, the real engine and ruff; the pools are driven as the Reviewer
drives them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from review_helpers import small_modules, worker_pids

from tapps_lsp import supervised_pool
from tapps_lsp.cache import ResultCache, fingerprint
from tapps_lsp.config import Settings
from tapps_lsp.review import worker_process, worker_wire
from tapps_lsp.review.model import FileResult
from tapps_lsp.reviewer import Reviewer
from tapps_lsp.scan_pipeline import CRASHED
from tapps_lsp.supervised_pool import ChunkQueue, SupervisedPool

STDLIB = Path(os.__file__).parent


def wait_for(condition: object, timeout: float, what: str) -> None:
    """Poll `condition()` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def reviewer(tmp_path: Path) -> Iterator[Reviewer]:
    r = Reviewer(ResultCache(tmp_path / "cache"), jobs=2)
    yield r
    r.shutdown()
    r.cache.close()


def test_settings_cross_the_pipe_unchanged() -> None:
    settings = Settings(
        lintSelect=["E", "F", "S"],
        lintIgnore=[],
        weights={"security": 0.5, "complexity": 0.25},
        severityOverrides={"F401": "error"},
        pythonVersionPerFile={"legacy/*.py": "3.8"},
        fileBudget=0.75,
        toolTimeout=12.5,
        exclude=["build/"],
    )
    read, write = os.pipe()
    os.write(write, worker_wire.encode({"settings": worker_wire.settings_to_dict(settings)}))
    os.close(write)
    inbox = worker_wire.Inbox(read)
    back = worker_wire.settings_from_dict(inbox.next()["settings"])
    inbox.close()
    assert back == settings and back.digest() == settings.digest()
    assert fingerprint(back) == fingerprint(settings)


def test_messages_are_framed_json_and_survive_lone_surrogates() -> None:
    read, write = os.pipe()
    message = {"path": "/ws/caf\udce9.py", "text": "é = '\x00'\n" * 1_000, "n": [1, 2.5, None]}
    data = worker_wire.encode(message) * 2
    assert len(data) < 60_000  # what a pipe holds without a reader
    assert data[4:5] == b"{"  # JSON after the length: nothing that is executed to decode
    os.write(write, data[:100])  # a message may arrive in pieces
    inbox = worker_wire.Inbox(read)
    with pytest.raises(worker_wire.Timeout):
        inbox.next(0.05)
    os.write(write, data[100:])
    os.close(write)
    assert inbox.next() == message and inbox.next(1.0) == message
    with pytest.raises(EOFError):
        inbox.next()
    inbox.close()


def test_the_standard_library_is_a_few_dozen_chunks() -> None:
    misses = [(str(p), p.stat().st_size) for p in sorted(STDLIB.glob("*.py"))]
    misses += [(str(p), p.stat().st_size) for p in sorted(STDLIB.glob("*/*.py"))]
    feed = ChunkQueue(misses, workers=2)
    chunks = []
    while feed:
        chunk = feed.peek([])
        feed.take(chunk)
        chunks.append(chunk)
    sizes = dict(misses)
    # One ruff run per chunk: before, 8 files / 64 KiB a chunk, about 180 for the library.
    assert len(chunks) <= 40, len(chunks)
    assert sorted(n for chunk in chunks for n in chunk) == sorted(sizes)
    for chunk in chunks:
        assert len(chunk) <= supervised_pool._CHUNK_FILES
        assert len(chunk) == 1 or sum(sizes[n] for n in chunk) <= supervised_pool._CHUNK_BYTES
        large = {sizes[n] > supervised_pool._LARGE_BYTES for n in chunk}
        assert len(large) == 1, "large files share a chunk with small ones"


async def test_an_idle_worker_exits_and_the_next_review_starts_another() -> None:
    pool = SupervisedPool(1, idle_seconds=0.5)
    request = worker_wire.analyze_request("import os\n", "/ws/mod.py", Settings())
    try:
        first = FileResult.from_dict(await pool.call(request, retry_note="retry"))
        assert "F401" in {f.code for f in first.findings}
        [pid] = pool.pids()
        wait_for(lambda: pool.pids() == [], 20, "the idle worker to exit")
        wait_for(lambda: not psutil.pid_exists(pid) or _zombie(pid), 5, "its process to end")
        again = FileResult.from_dict(await pool.call(request, retry_note="retry"))
        assert again == first
        assert pool.pids() and pool.pids() != [pid]
    finally:
        pool.close()


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_no_fork_server_or_resource_tracker_only_our_workers(
    tmp_path: Path, reviewer: Reviewer
) -> None:
    root = tmp_path / "ws"
    paths = small_modules(root, 30)
    seen: set[int] = set()
    # Children of this test process that earlier tests left (ending servers): not ours.
    before = {p.pid for p in psutil.Process().children()}

    def children() -> None:
        seen.update(p.pid for p in psutil.Process().children() if p.pid not in before)

    await reviewer.review_text("import os\n", str(root / "open.py"), Settings(), root)
    children()
    await reviewer.review_files(paths, Settings(), root, on_result=lambda _: children())
    children()
    commands = {pid: _cmdline(pid) for pid in seen}
    commands = {pid: line for pid, line in commands.items() if line}
    assert commands, "no worker process was seen"
    for line in commands.values():
        assert "multiprocessing" not in line, line
        assert line[1:3] == ["-I", "-c"], line
    # After the scan, its workers wait in the reserve; a graceful shutdown ends them all.
    assert set(worker_pids(reviewer)) <= set(commands)
    reviewer.shutdown(graceful=True)
    assert worker_pids(reviewer) == []
    assert [p for p in psutil.Process().children() if p.pid in commands] == []


def _cmdline(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


async def test_a_scan_chunk_runs_ruff_once_and_its_log_comes_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "ws"
    paths = small_modules(root, 40)
    reviewer = Reviewer(ResultCache(tmp_path / "cache"), jobs=1)
    caplog.set_level(logging.DEBUG, logger="tapps_lsp")
    try:
        reviews = await reviewer.review_files(paths, Settings(), root)
    finally:
        reviewer.shutdown(graceful=True)
        reviewer.cache.close()
    assert all("F401" in {f.code for f in r.findings} for r in reviews) and len(reviews) == 40
    runs = [
        r
        for r in caplog.records
        if r.getMessage().startswith("running ") and "ruff" in r.getMessage().split()[1]
    ]
    # The worker's debug record, in our logger of its name and level: one run for 40 files
    # (before: one per 8 files).
    assert len(runs) == 1, [r.getMessage()[:80] for r in runs]
    assert runs[0].name.startswith("tapps_lsp.review") and runs[0].levelno == logging.DEBUG
    assert runs[0].process != os.getpid()


async def test_each_file_of_a_chunk_comes_back_on_its_own(tmp_path: Path) -> None:
    # One worker, chunks of several files: the first result comes while its chunk is
    # still in the worker (before, a chunk's results came back together).
    root = tmp_path / "ws"
    root.mkdir()
    body = "".join(f"def f{i}(x):\n    return x * {i}\n\n\n" for i in range(100))
    paths = []
    for i in range(20):
        path = root / f"m{i:02}.py"
        path.write_text(f'"""Module {i}."""\n\nimport os\n\n\n{body}')
        paths.append(path)
    reviewer = Reviewer(ResultCache(tmp_path / "cache"), jobs=1)
    left_at_first: list[int] = []

    def on_result(_: object) -> None:
        if not left_at_first:
            [pool] = reviewer._scans
            left_at_first.extend(len(f.left) for f in pool._pending.values())

    try:
        reviews = await reviewer.review_files(paths, Settings(), root, on_result=on_result)
    finally:
        reviewer.shutdown()
        reviewer.cache.close()
    assert len(reviews) == len(paths)
    assert left_at_first and left_at_first[0] > 0, left_at_first


async def test_workers_that_cannot_start_lose_the_files_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every worker exits at once: the scan gives up after a few deaths instead of retrying
    # file by file, and a save is reported after its one retry.
    monkeypatch.setattr(worker_process, "BOOT", "raise SystemExit(3)\n")
    root = tmp_path / "ws"
    paths = small_modules(root, 5)
    reviewer = Reviewer(ResultCache(tmp_path / "cache"), jobs=2)
    try:
        reviews = await asyncio.wait_for(reviewer.review_files(paths, Settings(), root), 60)
        saved = await asyncio.wait_for(
            reviewer.review_text("x = 1\n", str(root / "open.py"), Settings(), root), 60
        )
    finally:
        reviewer.shutdown()
        reviewer.cache.close()
    assert [r.path for r in reviews] == [str(p) for p in paths]
    for review in [*reviews, saved]:
        assert review.result.skipped is not None
        assert review.result.skipped.startswith(CRASHED), review.result.skipped
    # The first files are retried alone (each death counted), the rest given up together.
    assert "keep stopping" in (reviews[-1].result.skipped or "")
