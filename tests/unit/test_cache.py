"""ResultCache and StatIndex on a real diskcache in a temporary directory."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.cache import (
    ResultCache,
    StatIndex,
    content_hash,
    default_directory,
    fingerprint,
    make_key,
)
from tapps_lsp.cache.cli import cmd_clear, cmd_path, cmd_stats
from tapps_lsp.cache.store import stamp_of
from tapps_lsp.config import Settings
from tapps_lsp.review.model import FileResult, Finding, Metrics


def _result(n: int = 3) -> dict[str, Any]:
    findings = [
        Finding("ruff", "F401", f"`os{i}` imported but unused", "warning", "linting", i, 0, i, 9)
        for i in range(n)
    ]
    return FileResult(findings=findings, metrics=Metrics(loc=n, sloc=n)).to_dict()


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def cache(tmp_path: Path, warnings: list[str]) -> Iterator[ResultCache]:
    c = ResultCache(tmp_path / "cache", warn=warnings.append)
    yield c
    c.close()


def _key(text: str, settings: Settings | None = None, path: str = "m.py") -> str:
    return make_key(content_hash(text), fingerprint(settings or Settings()), path)


def test_miss_then_hit(cache: ResultCache, warnings: list[str]) -> None:
    key = _key("import os\n")
    assert cache.get(key) is None
    cache.put(key, _result())
    assert cache.get(key) == _result()
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["hitRate"]) == (1, 1, 0.5)
    assert stats["entries"] == 1 and stats["disk"]["entries"] == 1
    assert stats["memory"]["hits"] == 1 and stats["disk"]["enabled"]
    assert stats["bytes"] == stats["memory"]["bytes"] + stats["disk"]["bytes"] > 0
    assert warnings == []


def test_result_round_trips_through_from_dict(cache: ResultCache) -> None:
    key = _key("x = 1\n")
    cache.put(key, _result(5))
    stored = cache.get(key)
    assert stored is not None
    assert FileResult.from_dict(stored) == FileResult.from_dict(_result(5))


def test_stored_value_is_a_copy(cache: ResultCache) -> None:
    key, value = _key("y = 2\n"), _result()
    cache.put(key, value)
    value["findings"].clear()
    stored = cache.get(key)
    assert stored is not None and len(stored["findings"]) == 3


def test_content_change_is_a_miss(cache: ResultCache) -> None:
    cache.put(_key("a = 1\n"), _result())
    assert cache.get(_key("a = 2\n")) is None


def test_tool_version_change_is_a_miss(cache: ResultCache, monkeypatch: pytest.MonkeyPatch) -> None:
    from tapps_lsp.cache import keys

    text = "import sys\n"
    cache.put(_key(text), _result())
    monkeypatch.setattr(keys, "tool_versions", lambda: {"tapps-lsp": "0", "ruff": "99.0.0"})
    assert cache.get(_key(text)) is None


def test_result_setting_change_is_a_miss_and_scoring_change_a_hit(cache: ResultCache) -> None:
    text = "z = 3\n"
    cache.put(_key(text), _result())
    assert cache.get(_key(text, Settings(lintSelect=["E"]))) is None
    assert cache.get(_key(text, Settings(qualityThreshold=95.0))) == _result()


def test_path_and_mtime_do_not_change_the_key(cache: ResultCache, tmp_path: Path) -> None:
    first, second = tmp_path / "a.py", tmp_path / "sub" / "b.py"
    second.parent.mkdir()
    first.write_text("def f():\n    return 1\n")
    second.write_text(first.read_text())
    os.utime(second, ns=(10**18, 10**18))
    cache.put(_key(first.read_text(), path=str(first)), _result())
    assert cache.get(_key(second.read_text(), path=str(second))) == _result()


def test_persists_across_processes(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    key = _key("persist = True\n")
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from tapps_lsp.cache import ResultCache
        cache = ResultCache(Path(sys.argv[1]), warn=print)
        if sys.argv[2] == "put":
            cache.put(sys.argv[3], {"written": "child"})
        else:
            print(json.dumps(cache.get(sys.argv[3])))
        cache.close()
        """
    )
    child = [sys.executable, "-c", script, str(directory)]
    subprocess.run([*child, "put", key], check=True, timeout=60)
    parent = ResultCache(directory)
    assert parent.get(key) == {"written": "child"}
    assert parent.stats()["disk"]["hits"] == 1
    parent.put(key + "x", {"written": "parent"})
    parent.close()
    out = subprocess.run(
        [*child, "get", key + "x"], check=True, timeout=60, capture_output=True, text=True
    )
    assert json.loads(out.stdout) == {"written": "parent"}


def test_disk_size_bound_evicts_the_oldest(tmp_path: Path, warnings: list[str]) -> None:
    limit = 256 * 1024
    cache = ResultCache(tmp_path / "c", disk_bytes=limit, memory_bytes=0, warn=warnings.append)
    value = {"pad": "x" * 4000}
    for i in range(200):
        cache.put(f"k{i}", value)
    stats = cache.stats()["disk"]
    assert stats["entries"] < 200
    # Eviction runs after each store, 10 entries at a time: one step of slack.
    assert stats["bytes"] <= limit + 10 * 4096 * 2
    assert cache.get("k0") is None
    assert cache.get("k199") == value
    cache.close()
    assert warnings == []


def test_memory_bound_is_lru_by_bytes() -> None:
    value = {"pad": "x" * 2000}
    one = len(json.dumps(value, separators=(",", ":")))
    # Room for about four entries, charged at their resident size.
    cache = ResultCache.memory_only(memory_bytes=4 * (one * 47 // 10 + 1200) + 100)
    for i in range(4):
        cache.put(f"k{i}", value)
    assert cache.get("k0") == value  # k0 is now the most recently used
    cache.put("k4", value)
    assert cache.get("k1") is None
    assert cache.get("k0") == value and cache.get("k4") == value
    memory = cache.stats()["memory"]
    assert memory["entries"] == 4 and memory["bytes"] <= memory["limit"]
    cache.put("huge", {"pad": "x" * 100_000})
    assert cache.get("huge") is None and cache.stats()["memory"]["entries"] == 4


def test_memory_only_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPS_LSP_CACHE_DIR", str(tmp_path / "never"))
    cache = ResultCache.memory_only()
    cache.put("k", {"a": 1})
    assert cache.get("k") == {"a": 1}
    assert cache.directory is None and not (tmp_path / "never").exists()
    assert cache.stats()["disk"]["enabled"] is False and cache.stats()["entries"] == 1
    assert cache.stat_index.lookup("/p.py", (1, 2, 3, 4, 5)) is None
    cache.stat_index.record("/p.py", (1, 2, 3, 4, 5), "h")
    assert cache.stat_index.lookup("/p.py", (1, 2, 3, 4, 5)) == "h"


def test_directory_from_env_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "from-env" / "cache"
    monkeypatch.setenv("TAPPS_LSP_CACHE_DIR", str(directory))
    assert default_directory() == directory
    old = os.umask(0)
    try:
        cache = ResultCache()
    finally:
        os.umask(old)
    assert cache.directory == directory
    for path in (directory, directory / "results"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    cache.close()


def test_relative_directory_from_env_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAPPS_LSP_CACHE_DIR", "relative")
    assert default_directory() == tmp_path / "relative"


def test_existing_directory_is_used_as_it_is(tmp_path: Path) -> None:
    # Ours and writable by nobody else: used, and never chmod-ed (we did not create it).
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    cache = ResultCache(directory)
    assert cache.stats()["disk"]["enabled"]
    cache.close()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755


def test_default_directory_is_the_user_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("TAPPS_LSP_CACHE_DIR", raising=False)
    assert default_directory() == Path(platformdirs.user_cache_dir("tapps-lsp"))


def test_clear_counts_and_empties_both_tiers(cache: ResultCache) -> None:
    for i in range(5):
        cache.put(f"k{i}", {"i": i})
    cache.stat_index.record("/a.py", (1, 1, 1, 1, 1), "h")
    assert cache.clear() == 5
    assert cache.get("k0") is None
    assert cache.stats()["entries"] == 0 and cache.stats()["memory"]["entries"] == 0
    assert cache.stat_index.lookup("/a.py", (1, 1, 1, 1, 1)) is None
    assert cache.clear() == 0


def test_put_many_stores_everything(cache: ResultCache, tmp_path: Path) -> None:
    cache.put_many([(f"k{i}", {"i": i}) for i in range(50)])
    cache.close()
    fresh = ResultCache(tmp_path / "cache")
    assert [fresh.get(f"k{i}") for i in range(50)] == [{"i": i} for i in range(50)]
    fresh.close()


def test_stat_index_matches_size_times_inode_and_device(tmp_path: Path) -> None:
    index = StatIndex(tmp_path / "stat")
    stamp = (120, 1_700_000_000_123_456_789, 1_700_000_000_223_456_789, 77, 2049)
    index.record("/w/a.py", stamp, "abc")
    assert index.lookup("/w/a.py", stamp) == "abc"
    for field in range(5):  # size, mtime, ctime, inode, device: each one counts
        other = tuple(n + 1 if i == field else n for i, n in enumerate(stamp))
        assert index.lookup("/w/a.py", other) is None  # type: ignore[arg-type]
    assert index.lookup("/w/b.py", stamp) is None
    index.record("/w/a.py", (121, 5, 6, 7, 8), "def")
    index.close()
    reopened = StatIndex(tmp_path / "stat")
    assert reopened.lookup("/w/a.py", (121, 5, 6, 7, 8)) == "def"
    assert reopened.lookup("/w/a.py", stamp) is None
    reopened.close()


def test_stat_index_of_a_real_file_and_an_undecodable_name(tmp_path: Path) -> None:
    index = ResultCache(tmp_path / "cache").stat_index
    odd = os.fsdecode(b"caf\xe9.py")  # not UTF-8: a surrogate escape
    path = tmp_path / odd
    path.write_text("x = 1\n")
    st = path.stat()
    index.record(str(path), stamp_of(st), content_hash(path.read_text()))
    index.close()
    reopened = StatIndex(tmp_path / "cache" / "stat")
    assert reopened.lookup(str(path), stamp_of(st)) == content_hash("x = 1\n")
    assert reopened.lookup(str(tmp_path / "café.py"), stamp_of(st)) is None
    reopened.record("/w/\ud800.py", (1, 1, 1, 1, 1), "h")  # a lone surrogate, not an escaped byte
    reopened.close()
    third = StatIndex(tmp_path / "cache" / "stat")
    assert third.lookup("/w/\ud800.py", (1, 1, 1, 1, 1)) == "h"
    third.close()


def test_cli_texts(cache: ResultCache, tmp_path: Path) -> None:
    cache.put("k", {"a": 1})
    cache.get("k")
    assert cmd_path(cache) == str(tmp_path / "cache")
    text = cmd_stats(cache)
    assert "Disk:   1 results" in text and "1 hits, 0 misses" in text
    assert json.loads(cmd_stats(cache, as_json=True))["entries"] == 1
    assert cmd_clear(cache) == f"Removed 1 cached result from {tmp_path / 'cache'}"
    assert cmd_path(ResultCache.memory_only()) == "(memory only)"
