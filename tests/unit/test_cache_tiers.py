"""The cache's tier seam and the lifetime counters `cache stats` shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tapps_lsp.cache import ResultCache
from tapps_lsp.cache.disk import DiskTier, WarnOnce
from tapps_lsp.cache.memory import MemoryTier
from tapps_lsp.cache.tiers import DiskResults, Tier


def test_memory_and_disk_are_tiers(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c")
    assert all(isinstance(tier, Tier) for tier in cache.tiers)
    assert [tier.name for tier in cache.tiers] == ["memory", "disk"]
    cache.close()


def test_a_later_tier_hit_is_written_to_the_earlier_ones(tmp_path: Path) -> None:
    shared = ResultCache(tmp_path / "shared")
    shared.put_many([("a", {"n": 1}), ("b", {"n": 2})])
    shared.close()
    # A memory-only cache with the shared directory as an extra (third) tier.
    warn = WarnOnce(lambda message: None)
    extra = DiskResults(DiskTier(tmp_path / "shared" / "results", 2**20, warn), warn)
    cache = ResultCache(tmp_path / "own", extra=[extra])
    assert cache.get_many(["a", "b", "c"]) == {"a": {"n": 1}, "b": {"n": 2}}
    stats = cache.stats()
    assert (stats["hits"], stats["misses"]) == (2, 1)
    assert stats["memory"]["entries"] == 2 and stats["disk"]["entries"] == 2
    assert isinstance(cache.tiers[0], MemoryTier)
    assert cache.get("a") == {"n": 1} and cache.stats()["memory"]["hits"] == 1
    cache.close()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tapps_lsp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cache_stats_from_the_cli_counts_every_process(tmp_path: Path) -> None:
    """Issue 15: `cache stats` showed 0 hits and 0 misses whatever the servers had done."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "a.py").write_text("x = 1\n")
    (project / "b.py").write_text("def f():\n    return 2\n")
    env = {**os.environ, "TAPPS_LSP_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):  # two misses, then two hits
        assert _cli("check", str(project), "--format", "json", env=env).returncode in (0, 1)
    done = _cli("cache", "stats", "--json", env=env)
    lifetime = json.loads(done.stdout)["lifetime"]
    assert (lifetime["hits"], lifetime["misses"]) == (2, 2), done.stdout
    text = _cli("cache", "stats", env=env).stdout
    assert "2 hits, 2 misses (hit rate 50%)" in text
