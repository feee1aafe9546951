"""The team cache on a real Redis and a real Redis Cluster (issue 16)."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from redis_support import (
    PASSWORD,
    TEAM_KEY,
    Cluster,
    Node,
    cli,
    findings_by_file,
    report,
    tapps,
    wait_until,
)
from redis_support import pytestmark as support_mark

from tapps_lsp.cache.breaker import Breaker
from tapps_lsp.cache.remote import RedisTier
from tapps_lsp.cache.remote_config import RemoteConfig, config_from
from tapps_lsp.cache.signing import sign
from tapps_lsp.cache.tiers import Stored, encode

pytestmark = [pytest.mark.slow, support_mark]


def _ci_then_fresh(url: str, tree: Path, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    written = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", url, "--remote-cache-write",
        cache_dir=tmp_path / "ci", TAPPS_LSP_CACHE_KEY=TEAM_KEY,
    )  # fmt: skip
    fresh = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", url,
        cache_dir=tmp_path / "laptop", TAPPS_LSP_CACHE_KEY=TEAM_KEY,
    )  # fmt: skip
    return report(written), report(fresh)


def test_ci_writes_and_a_fresh_machine_reviews_from_the_remote(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    ci, fresh = _ci_then_fresh(redis_node.url, tree, tmp_path)
    files = ci["summary"]["files"]
    assert files == 16 and ci["summary"]["fromCache"] == 0
    assert redis_node.keys() == files
    # Every file of the fresh machine came from Redis, with the same findings and scores.
    assert fresh["summary"]["fromCache"] == files
    assert findings_by_file(fresh) == findings_by_file(ci)


def test_the_same_on_a_redis_cluster(redis_cluster: Cluster, tree: Path, tmp_path: Path) -> None:
    ci, fresh = _ci_then_fresh(redis_cluster.url, tree, tmp_path)
    files = ci["summary"]["files"]
    assert redis_cluster.keys() == files
    assert all(node.keys() > 0 for node in redis_cluster.nodes)  # spread over the slots
    assert fresh["summary"]["fromCache"] == files
    assert findings_by_file(fresh) == findings_by_file(ci)


def test_read_only_by_default(redis_node: Node, tree: Path, tmp_path: Path) -> None:
    done = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", redis_node.url,
        cache_dir=tmp_path / "c", TAPPS_LSP_CACHE_KEY=TEAM_KEY,
    )  # fmt: skip
    assert report(done)["summary"]["files"] == 16
    assert redis_node.keys() == 0


def test_without_a_key_the_remote_tier_is_off_with_one_message(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    done = tapps(
        "check", str(tree), "--format", "json", "--remote-cache-write",
        cache_dir=tmp_path / "c", TAPPS_LSP_REMOTE_CACHE=redis_node.url,
    )  # fmt: skip
    assert report(done)["summary"]["files"] == 16
    assert done.stderr.count("TAPPS_LSP_CACHE_KEY") == 1
    assert redis_node.keys() == 0


def test_a_wrong_key_or_a_tampered_value_is_rejected_and_re_reviewed(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    ci, _ = _ci_then_fresh(redis_node.url, tree, tmp_path)
    other = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", redis_node.url,
        cache_dir=tmp_path / "other", TAPPS_LSP_CACHE_KEY="not-the-team-key",
    )  # fmt: skip
    data = report(other)
    assert data["summary"]["fromCache"] == 0  # every entry rejected, every file reviewed
    assert findings_by_file(data) == findings_by_file(ci)
    assert other.stderr.count("ignored a team cache entry") == 1

    # Tamper with one stored value, keeping its signature: a miss, counted, not stored.
    name = cli(redis_node.port, "--scan", "--pattern", "tapps-lsp:v1:*").splitlines()[0]
    key = name.removeprefix("tapps-lsp:v1:")
    config = RemoteConfig(redis_node.url)
    tier = RedisTier(config, TEAM_KEY.encode())
    good = tier.get_many([key])[key]
    tampered = json.loads(good.blob or b"{}")
    tampered["findings"] = []
    forged = sign(b"attacker-key", key, encode(tampered))
    import redis

    attacker = redis.Redis.from_url(redis_node.url)
    attacker.set(name, forged)  # binary: the MAC may hold any byte
    assert tier.get_many([key]) == {}
    assert tier.stats()["rejected"] == 1
    # An unsigned value (plain JSON, as an attacker without the key would write it).
    attacker.set(name, json.dumps(tampered))
    attacker.close()
    assert tier.get_many([key]) == {} and tier.stats()["rejected"] == 2
    tier.close()


def test_a_workspace_naming_a_redis_url_is_ignored(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    (tree / "pyproject.toml").write_text(
        '[project]\nname = "p"\n\n[tool.tapps-lsp]\n'
        f'remoteCache = {{ url = "{redis_node.url}", write = true }}\n'
    )
    done = tapps(
        "check", str(tree), "--format", "json", cache_dir=tmp_path / "c",
        TAPPS_LSP_CACHE_KEY=TEAM_KEY,
    )  # fmt: skip
    assert report(done)["summary"]["files"] == 16
    assert redis_node.keys() == 0
    refusals = [line for line in done.stderr.splitlines() if "remoteCache" in line]
    assert len(refusals) == 1 and "not a workspace" in refusals[0]


def test_redis_stopped_before_the_scan(redis_node: Node, tree: Path, tmp_path: Path) -> None:
    url = redis_node.url
    redis_node.stop()
    done = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", url, "--remote-cache-write",
        cache_dir=tmp_path / "c", TAPPS_LSP_CACHE_KEY=TEAM_KEY, timeout=120,
    )  # fmt: skip
    assert report(done)["summary"]["files"] == 16
    assert done.stderr.count("is unavailable") == 1


def test_redis_stopped_after_the_scan(redis_node: Node, tree: Path, tmp_path: Path) -> None:
    """What came from Redis is local now: the next run needs it not, and says nothing."""
    _, fresh = _ci_then_fresh(redis_node.url, tree, tmp_path)
    assert fresh["summary"]["fromCache"] == 16
    redis_node.stop()
    again = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", redis_node.url,
        cache_dir=tmp_path / "laptop", TAPPS_LSP_CACHE_KEY=TEAM_KEY,
    )  # fmt: skip
    assert report(again)["summary"]["fromCache"] == 16
    assert "unavailable" not in again.stderr


def test_redis_killed_mid_scan_and_restarted(redis_node: Node, tmp_path: Path) -> None:
    """The scan finishes on the local tiers; later lookups use Redis again."""
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    tree = tmp_path / "big"
    tree.mkdir()
    for source in sorted(stdlib.glob("*.py"))[:120]:
        (tree / source.name).write_bytes(source.read_bytes())
    import subprocess
    import sys

    env = {
        "TAPPS_LSP_CACHE_DIR": str(tmp_path / "c"),
        "TAPPS_LSP_CACHE_KEY": TEAM_KEY,
        "PATH": "/usr/bin:/bin",
    }
    scan = subprocess.Popen(
        [sys.executable, "-m", "tapps_lsp", "check", str(tree), "--format", "json",
         "--remote-cache", redis_node.url, "--remote-cache-write", "--jobs", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_until(lambda: redis_node.keys() > 0, timeout=120, what="the first written results")
    redis_node.stop()
    out, err = scan.communicate(timeout=300)
    assert scan.returncode in (0, 1), err
    assert json.loads(out)["summary"]["files"] == 120
    assert err.count("is unavailable") == 1
    redis_node.start()  # empty again: no persistence
    config = RemoteConfig(redis_node.url, write=True)
    tier = RedisTier(config, TEAM_KEY.encode(), breaker=Breaker(base=0.05, cap=0.2))
    tier.put_many([Stored("k", {"a": 1}, b'{"a":1}')])
    assert tier.flush()
    wait_until(lambda: "k" in tier.get_many(["k"]), what="Redis used again")


def test_breaker_opens_once_and_closes_when_redis_is_back(redis_node: Node) -> None:
    warnings: list[str] = []
    config = RemoteConfig(redis_node.url, write=True)
    tier = RedisTier(
        config, TEAM_KEY.encode(), warn=warnings.append, breaker=Breaker(base=0.05, cap=0.2)
    )
    tier.put_many([Stored("k", {"a": 1}, b'{"a":1}')])
    assert tier.flush() and "k" in tier.get_many(["k"])
    redis_node.stop()
    for _ in range(50):  # a storm of lookups: a few connection attempts, one warning
        assert tier.get_many(["k"]) == {}
    stats = tier.stats()
    assert stats["breaker"].startswith("open") and 1 <= stats["errors"] <= 3
    assert stats["skipped"] >= 47
    assert len(warnings) == 1 and "unavailable" in warnings[0]
    # Slow (stopped) then back: the next trial after the backoff closes the breaker.
    redis_node.start()
    wait_until(
        lambda: tier.get_many(["k"]) == {} and tier.stats()["breaker"] == "closed",
        what="the breaker to close",
    )
    tier.put_many([Stored("k", {"a": 1}, b'{"a":1}')])
    assert tier.flush() and "k" in tier.get_many(["k"])
    tier.close()


def test_a_slow_redis_costs_a_save_its_budget_only(redis_node: Node, tmp_path: Path) -> None:
    """`kill -STOP`: the save's lookup gives up after the budget; the late answer is stored."""
    import asyncio
    import signal

    from tapps_lsp.cache import ResultCache

    writer = RedisTier(RemoteConfig(redis_node.url, write=True), TEAM_KEY.encode())
    writer.put_many([Stored("slow", {"a": 1}, b'{"a":1}')])
    assert writer.flush()
    writer.close()
    tier = RedisTier(RemoteConfig(redis_node.url, budget_ms=20), TEAM_KEY.encode())
    cache = ResultCache(tmp_path / "c", extra=[tier])
    assert redis_node.process is not None
    redis_node.process.send_signal(signal.SIGSTOP)

    async def save() -> float:
        started = time.perf_counter()
        assert await cache.get_remote("slow") is None
        waited = time.perf_counter() - started
        assert redis_node.process is not None
        redis_node.process.send_signal(signal.SIGCONT)  # the answer comes, late
        deadline = time.monotonic() + 10
        while cache.get("slow") is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return waited

    try:
        # The event loop waited the budget (20 ms), not the 2 s socket timeout; the bound
        # sits between the two, far from both, so load does not move the verdict.
        assert asyncio.run(save()) < 1.0
    finally:
        redis_node.process.send_signal(signal.SIGCONT)
    assert cache.get("slow") == {"a": 1}, "the late answer was not stored locally"
    assert tier.stats()["late"] == 1
    cache.close()


def test_a_wrong_password_is_a_fault_not_a_failure(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    url = redis_node.url.replace(PASSWORD, "wrong-password")
    done = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", url, "--remote-cache-write",
        cache_dir=tmp_path / "c", TAPPS_LSP_CACHE_KEY=TEAM_KEY,
    )  # fmt: skip
    assert report(done)["summary"]["files"] == 16
    assert done.stderr.count("is unavailable") == 1
    assert "WRONGPASS" in done.stderr or "Authentication" in done.stderr
    assert redis_node.keys() == 0
    # The password from REDISCLI_AUTH when the URL has none.
    bare = f"redis://127.0.0.1:{redis_node.port}/0"
    done = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", bare, "--remote-cache-write",
        cache_dir=tmp_path / "d", TAPPS_LSP_CACHE_KEY=TEAM_KEY, REDISCLI_AUTH=PASSWORD,
    )  # fmt: skip
    assert report(done)["summary"]["files"] == 16 and redis_node.keys() == 16


def test_maxmemory_reached_on_write(redis_node: Node) -> None:
    cli(redis_node.port, "config", "set", "maxmemory-policy", "noeviction")
    cli(redis_node.port, "config", "set", "maxmemory", "1mb")
    warnings: list[str] = []
    tier = RedisTier(
        RemoteConfig(redis_node.url, write=True), TEAM_KEY.encode(), warn=warnings.append
    )
    blob = encode({"findings": ["x" * 1000] * 50})
    for batch in range(10):
        tier.put_many([Stored(f"k{batch}-{i}", {}, blob) for i in range(20)])
    assert tier.flush()
    stats = tier.stats()
    assert stats["writeErrors"] > 0 and stats["writes"] < 200
    assert stats["breaker"] == "closed"  # reads still go on
    assert sum("refused" in w for w in warnings) == 1 and "maxmemory" in warnings[0]
    tier.close()


def test_configuration_comes_from_the_user_only() -> None:
    env = {"TAPPS_LSP_REMOTE_CACHE": "redis://h:1/0?cluster=1"}
    config, problems = config_from(env, {"remoteCache": {"write": True, "ttlDays": 2}})
    assert config is not None and config.cluster and config.write and config.ttl_days == 2
    assert config.redis_url() == "redis://h:1/0" and not problems
    for bad in ("http://x", "redis://h:port/0", "redis:///0", "redis://[::1/0"):
        config, problems = config_from({"TAPPS_LSP_REMOTE_CACHE": bad})
        assert config is None and len(problems) == 1 and "team cache is off" in problems[0]
    config, problems = config_from({}, url="redis://h:1/0", ttl_days=-1)
    assert config is not None and config.ttl_days == 30 and "TTL" in problems[0]
    assert RemoteConfig("redis://:pw@h:1/0").shown() == "redis://h:1/0"


def test_writes_never_hold_up_the_caller(redis_node: Node) -> None:
    tier = RedisTier(RemoteConfig(redis_node.url, write=True), TEAM_KEY.encode())
    items = [Stored(f"w{i}", {"i": i}, encode({"i": i})) for i in range(500)]
    # With Redis stopped, a write that waited for it would never return; the caller's
    # put_many returns anyway, and the background writer delivers once Redis runs again.
    assert redis_node.process is not None
    redis_node.process.send_signal(signal.SIGSTOP)
    try:
        caller = threading.Thread(target=tier.put_many, args=(items,))
        caller.start()
        caller.join(timeout=30)
        assert not caller.is_alive(), "put_many waited for a stopped Redis"
    finally:
        redis_node.process.send_signal(signal.SIGCONT)
    assert tier.flush() and redis_node.keys() == 500
    ttl = int(cli(redis_node.port, "ttl", "tapps-lsp:v1:w1"))
    assert 29 * 86400 < ttl <= 30 * 86400
    tier.close()


def test_cache_stats_from_the_cli_shows_the_team_cache(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    _ci_then_fresh(redis_node.url, tree, tmp_path)
    env: dict[str, Any] = {
        "TAPPS_LSP_CACHE_KEY": TEAM_KEY,
        "TAPPS_LSP_REMOTE_CACHE": redis_node.url,
    }
    text = tapps("cache", "stats", cache_dir=tmp_path / "laptop", **env).stdout
    line = next(row for row in text.splitlines() if row.startswith("Remote:"))
    assert line == f"Remote: redis://127.0.0.1:{redis_node.port}/0 (read-only): reachable, 16 keys"
    stats = json.loads(tapps("cache", "stats", "--json", cache_dir=tmp_path / "x", **env).stdout)
    assert stats["remote"]["enabled"] and stats["remote"]["breaker"] == "closed"
    redis_node.stop()
    text = tapps("cache", "stats", cache_dir=tmp_path / "laptop", **env).stdout
    assert "(read-only): unreachable (ConnectionError" in text
    off = tapps("cache", "stats", cache_dir=tmp_path / "laptop").stdout
    assert "Remote: off (not configured)" in off


def test_a_cluster_node_down_is_a_fault_not_a_failure(
    redis_cluster: Cluster, tree: Path, tmp_path: Path
) -> None:
    warnings: list[str] = []
    config = RemoteConfig(redis_cluster.url, write=True)
    tier = RedisTier(config, TEAM_KEY.encode(), warn=warnings.append, timeout=0.5)
    items = [Stored(f"c{i}", {"i": i}, encode({"i": i})) for i in range(50)]
    tier.put_many(items)
    assert tier.flush() and len(tier.get_many([i.key for i in items])) == 50
    redis_cluster.nodes[1].stop()
    assert tier.get_many([i.key for i in items]) == {}
    assert tier.stats()["breaker"].startswith("open") and len(warnings) == 1
    tier.close()
    done = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", redis_cluster.url,
        cache_dir=tmp_path / "c", TAPPS_LSP_CACHE_KEY=TEAM_KEY, timeout=120,
    )  # fmt: skip
    assert report(done)["summary"]["files"] == 16
    assert done.stderr.count("is unavailable") == 1
