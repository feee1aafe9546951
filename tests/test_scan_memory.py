"""What a scan leaves in the server's memory (issue 17): no review is kept unless asked
for, results go to the disk tier rather than the memory tier, and the scored-review memo
holds the editor's documents, not a scan's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from review_helpers import small_modules

from tapps_lsp.cache import ResultCache, fingerprint, make_key
from tapps_lsp.config import Settings
from tapps_lsp.reviewer import Reviewer

SETTINGS = Settings()


@pytest.fixture
def reviewer(tmp_path: Path) -> Iterator[Reviewer]:
    r = Reviewer(ResultCache(tmp_path / "cache"), jobs=2)
    yield r
    r.shutdown()


def _files(root: Path, count: int) -> list[str]:
    return [str(path) for path in small_modules(root, count)]


async def test_a_scan_streams_its_reviews_and_keeps_none(
    tmp_path: Path, reviewer: Reviewer
) -> None:
    names = _files(tmp_path / "ws", 12)
    seen: list[str] = []
    reviews = await reviewer.review_files(
        names, SETTINGS, tmp_path, on_result=lambda r: seen.append(r.path), keep=False
    )
    assert reviews == [] and sorted(seen) == sorted(names)
    # In the disk tier, not the memory tier (the editor's files only).
    memory = reviewer.cache.stats()["memory"]
    assert memory["entries"] == 0, memory
    assert reviewer.cache.stats()["disk"]["entries"] == len(names)
    kept = await reviewer.review_files(names, SETTINGS, tmp_path)
    assert [r.path for r in kept] == names and all(r.from_cache for r in kept)


async def test_a_scan_leaves_no_review_in_memory_and_a_document_does(
    tmp_path: Path, reviewer: Reviewer
) -> None:
    names = _files(tmp_path / "ws", 6)
    first = await reviewer.review_files(names, SETTINGS, tmp_path)
    fp = fingerprint(SETTINGS)
    assert not any(reviewer.remembers(r.path, r.content_hash, fp) for r in first)
    # The editor's document: remembered, and then a scan serves it from the memo.
    text = Path(names[0]).read_text(encoding="utf-8")
    document = await reviewer.review_text(text, names[0], SETTINGS, tmp_path)
    assert document.from_cache and reviewer.remembers(names[0], first[0].content_hash, fp)
    again = await reviewer.review_files(names, SETTINGS, tmp_path)
    assert [(r.path, r.overall, r.from_cache) for r in again] == [
        (r.path, r.overall, True) for r in first
    ]
    assert reviewer.cache.get(make_key(first[1].content_hash, fp, names[1])) is not None


async def test_an_idle_interactive_worker_makes_room_for_a_scan(
    tmp_path: Path, reviewer: Reviewer
) -> None:
    names = _files(tmp_path / "ws", 70)  # a scan (>= 64 files), not a re-review of a few
    await reviewer.review_text("import sys\n", str(tmp_path / "open.py"), SETTINGS, tmp_path)
    interactive = reviewer.pools()[0]
    (before,) = interactive.pids()
    process = psutil.Process(before)
    await reviewer.review_files(names, SETTINGS, tmp_path, keep=False)
    assert interactive.pids() == []
    process.wait(timeout=30)  # it exits (a deadline, not a sleep)
    # The next save starts it again.
    again = await reviewer.review_text("import json\n", str(tmp_path / "o.py"), SETTINGS, tmp_path)
    assert "F401" in {f.code for f in again.findings}
    assert interactive.pids() and interactive.pids() != [before]


async def test_a_cleared_cache_is_not_answered_from_the_memo(
    tmp_path: Path, reviewer: Reviewer
) -> None:
    text, path = "import sys\n", str(tmp_path / "open.py")
    first = await reviewer.review_text(text, path, SETTINGS, tmp_path)
    assert not first.from_cache
    assert (await reviewer.review_text(text, path, SETTINGS, tmp_path)).from_cache
    reviewer.cache.clear()
    again = await reviewer.review_text(text, path, SETTINGS, tmp_path)
    assert not again.from_cache and [f.code for f in again.findings] == ["F401"]
