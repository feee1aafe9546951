"""`python -m benchmarks.team_cache`: the team cache and sharded CI runs (issue 16).

Rows, on a redis-server started here on a free loopback port (password, no
persistence), with the standard library corpus of benchmarks/corpus.py:

1. cold `check` of the library (empty local cache), writing to Redis;
2. a fresh machine (empty local cache) reviewing it from the warm Redis
   (target <= 1.5 s), median of 3;
3. the cached save p95 through the server: local cache only, team cache on,
   and team cache on with Redis down (its port closed);
4. `check --shard 1/2` and `--shard 2/2` side by side (one worker each,
   empty caches), then `report merge`: the wall time of the lot;
5. per-entry sizes in Redis (value bytes, MEMORY USAGE), for docs/team-cache.md.

Writes benchmarks/results/team_cache.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.corpus import SINGLE_FILE, copy_corpus
from benchmarks.lsp_client import LspClient, file_uri
from benchmarks.run import percentile
from benchmarks.saves import Document, repeat

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "team_cache.json"
PASSWORD = "bench-password"
KEY = "bench-team-key"
TAPPS = [sys.executable, "-m", "tapps_lsp"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "-a", PASSWORD, "--no-auth-warning", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server on a free port; waits for PONG (polled, 10 s at most)."""
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
         "--save", "", "--appendonly", "no", "--dir", str(directory),
         "--maxmemory", "512mb", "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while _cli(port, "ping") != "PONG":
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.02)
    return process, port


def _check(corpus: Path, cache: Path, *args: str) -> float:
    env = {**os.environ, "TAPPS_LSP_CACHE_DIR": str(cache), "TAPPS_LSP_CACHE_KEY": KEY}
    started = time.perf_counter()
    done = subprocess.run(
        [*TAPPS, "check", str(corpus), "--format", "json", "--output", os.devnull, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr[-2000:])
    return elapsed


def _report_of(corpus: Path, cache: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "TAPPS_LSP_CACHE_DIR": str(cache), "TAPPS_LSP_CACHE_KEY": KEY}
    done = subprocess.run(
        [*TAPPS, "check", str(corpus), "--format", "json", *args],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def entry_sizes(port: int, sample: int = 300) -> dict[str, float]:
    """Mean stored value bytes and Redis MEMORY USAGE per key, over a sample of keys."""
    names = _cli(port, "--scan", "--pattern", "tapps-lsp:v1:*").splitlines()[:sample]
    lengths = [int(_cli(port, "strlen", name)) for name in names]
    usage = [int(_cli(port, "memory", "usage", name, "samples", "0")) for name in names]
    return {
        "keys": int(_cli(port, "dbsize")),
        "keyBytes": statistics.mean(len(n) for n in names),
        "valueBytesMean": statistics.mean(lengths),
        "valueBytesMedian": statistics.median(lengths),
        "valueBytesMax": max(lengths),
        "memoryUsageMean": statistics.mean(usage),
        "usedMemory": int(
            next(
                line.split(":")[1]
                for line in _cli(port, "info", "memory").splitlines()
                if line.startswith("used_memory:")
            )
        ),
    }


async def cached_saves(work: Path, options: dict[str, Any] | None, count: int) -> list[float]:
    """Saves of an already reviewed file through the real server (alternating two texts)."""
    folder = work / f"saves-{len(os.listdir(work))}"
    folder.mkdir()
    target = folder / SINGLE_FILE.name
    shutil.copyfile(SINGLE_FILE, target)
    env = {"TAPPS_LSP_CACHE_DIR": str(folder / "cache"), "TAPPS_LSP_CACHE_KEY": KEY}
    client = LspClient(TAPPS, env=env, cwd=folder)
    await client.start()
    try:
        await client.initialize(folder, initialization_options=options)
        document = Document(client, file_uri(target), target.read_text())
        await document.open()
        texts = [document.text, document.text + "\n"]
        await document.edit_then_save(texts[1])  # both texts reviewed once

        async def save(index: int) -> float:
            return await document.edit_then_save(texts[index % 2])

        return await repeat(save, count, warmup=10)
    finally:
        await client.stop()


def shard_and_merge(corpus: Path, work: Path) -> dict[str, float]:
    """Two shards side by side (one worker each, empty caches), then the merge."""
    env = {**os.environ, "TAPPS_LSP_CACHE_KEY": KEY}
    started = time.perf_counter()
    shards = []
    for k in (1, 2):
        shard_env = {**env, "TAPPS_LSP_CACHE_DIR": str(work / f"shard{k}-cache")}
        shards.append(
            subprocess.Popen(
                [
                    *TAPPS,
                    "check",
                    str(corpus),
                    "--shard",
                    f"{k}/2",
                    "--jobs",
                    "1",
                    "--format",
                    "json",
                    "--output",
                    str(work / f"shard{k}.json"),
                ],
                env=shard_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
    for process in shards:
        process.wait(timeout=1800)
    reviewed = time.perf_counter()
    subprocess.run(
        [*TAPPS, "report", "merge", str(work / "shard1.json"), str(work / "shard2.json"),
         "--format", "sarif", "--output", str(work / "merged.sarif")],
        env=env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    merged = time.perf_counter()
    return {"shards": reviewed - started, "merge": merged - reviewed, "total": merged - started}


def run(limit: int | None, saves: int) -> dict[str, Any]:
    """Every row; the figures as a dict."""
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="tapps-team-bench-") as temporary:
        work = Path(temporary)
        corpus = work / "stdlib"
        files = copy_corpus(corpus, limit=limit)
        result["files"] = len(files)
        redis_dir = work / "redis"
        redis_dir.mkdir()
        process, port = start_redis(redis_dir)
        url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
        try:
            result["coldWrite"] = _check(
                corpus, work / "ci", "--remote-cache", url, "--remote-cache-write"
            )
            result["coldLocal"] = _check(corpus, work / "local-cold")
            fresh = [_check(corpus, work / f"fresh{i}", "--remote-cache", url) for i in range(3)]
            result["freshFromRedis"] = statistics.median(fresh)
            result["freshFromRedisRuns"] = fresh
            probe = _report_of(corpus, work / "probe", "--remote-cache", url)
            result["freshFromCache"] = probe["summary"]["fromCache"]
            result["entries"] = entry_sizes(port)
            local = asyncio.run(cached_saves(work, {}, saves))
            remote = asyncio.run(cached_saves(work, {"remoteCache": {"url": url}}, saves))
        finally:
            process.kill()
            process.wait()
        down = asyncio.run(cached_saves(work, {"remoteCache": {"url": url}}, saves))
        result["savesP95"] = {
            "local": percentile(local, 95),
            "remoteUp": percentile(remote, 95),
            "remoteDown": percentile(down, 95),
        }
        result["savesP50"] = {
            "local": percentile(local, 50),
            "remoteUp": percentile(remote, 50),
            "remoteDown": percentile(down, 50),
        }
        result["shardOver2"] = shard_and_merge(corpus, work)
    return result


def table(result: dict[str, Any]) -> str:
    """The figures as the Markdown table of docs/performance.md."""
    p95, p50, shard = result["savesP95"], result["savesP50"], result["shardOver2"]
    sizes = result["entries"]
    rows = [
        ("cold check, empty caches, writing to Redis", f"{result['coldWrite']:.2f} s", "-"),
        ("cold check, empty cache, no team cache", f"{result['coldLocal']:.2f} s", "-"),
        (
            "fresh machine (empty local cache), warm Redis, median of 3",
            f"{result['freshFromRedis']:.2f} s ({result['freshFromCache']} of "
            f"{result['files']} from the cache)",
            "<= 1.5 s",
        ),
        (
            "cached save p95: local only / team cache on / Redis down",
            f"{p95['local']:.2f} / {p95['remoteUp']:.2f} / {p95['remoteDown']:.2f} ms "
            f"(p50 {p50['local']:.2f} / {p50['remoteUp']:.2f} / {p50['remoteDown']:.2f})",
            "unchanged",
        ),
        (
            "2 shards side by side (1 worker each) + merge to SARIF",
            f"{shard['total']:.2f} s ({shard['shards']:.2f} + {shard['merge']:.2f})",
            "-",
        ),
        (
            "per entry in Redis: value bytes mean / median / max; MEMORY USAGE mean",
            f"{sizes['valueBytesMean']:.0f} / {sizes['valueBytesMedian']:.0f} / "
            f"{sizes['valueBytesMax']} B; {sizes['memoryUsageMean']:.0f} B "
            f"({sizes['keys']} keys, used_memory {sizes['usedMemory'] / 2**20:.1f} MiB)",
            "-",
        ),
    ]
    lines = ["| row | figure | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the rows, print the table, write benchmarks/results/team_cache.json."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.team_cache")
    parser.add_argument("--limit", type=int, default=None, help="every n-th file, this many")
    parser.add_argument("--saves", type=int, default=200, help="saves per configuration")
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (apt-get install redis-server)", file=sys.stderr)
        return 2
    result = run(args.limit, args.saves)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
