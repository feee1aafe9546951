"""A real Redis (one node) and a real 3-node Redis Cluster, on free loopback ports.

Both run with a password and no persistence; the single node also with
`maxmemory` and an eviction policy. Processes are ours: stopped by PID.
`make test` installs redis-server (scripts/install-e2e.sh); without it the
tests here are skipped, naming what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "s3cret-test-pw"
TEAM_KEY = "team-signing-key-for-tests"
REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_CLI is None,
    reason="redis-server and redis-cli are not installed (apt-get install redis-server)",
)


def free_port(*, with_bus: bool = False) -> int:
    """A free loopback port (and, for a cluster node, port + 10000 free too)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 >= 65536:
            continue
        if with_bus:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
        return int(port)
    raise RuntimeError("no free port")


def cli(port: int, *args: str, password: str = PASSWORD) -> str:
    """redis-cli against one node; its stdout."""
    assert REDIS_CLI is not None
    done = subprocess.run(
        [REDIS_CLI, "-p", str(port), "-a", password, "--no-auth-warning", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip()


def wait_until(condition: Any, timeout: float = 15.0, what: str = "") -> None:
    """Poll `condition` until true, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")


@dataclass
class Node:
    """One redis-server process we started."""

    port: int
    directory: Path
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--requirepass", PASSWORD,
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--daemonize", "no",
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: cli(self.port, "ping") == "PONG", what=f"redis on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def keys(self) -> int:
        return int(cli(self.port, "dbsize") or 0)


@pytest.fixture
def redis_node(tmp_path: Path) -> Iterator[Node]:
    """A single Redis with a password, maxmemory 64 MB and allkeys-lru eviction."""
    node = Node(
        free_port(),
        tmp_path / "redis",
        ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()


@dataclass
class Cluster:
    """Three cluster-enabled masters joined with `redis-cli --cluster create`."""

    nodes: list[Node]

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.nodes[0].port}/0?cluster=1"

    def keys(self) -> int:
        return sum(node.keys() for node in self.nodes)


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A 3-node Redis Cluster (masters only) with a password."""
    nodes = []
    for number in range(3):
        port = free_port(with_bus=True)
        directory = tmp_path / f"cluster{number}"
        extra = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(directory / "nodes.conf"),
            "--masterauth", PASSWORD,
        ]  # fmt: skip
        nodes.append(Node(port, directory, extra))
    try:
        for node in nodes:
            node.start()
        assert REDIS_CLI is not None
        subprocess.run(
            [REDIS_CLI, "-a", PASSWORD, "--no-auth-warning", "--cluster", "create",
             *(f"127.0.0.1:{n.port}" for n in nodes), "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        wait_until(
            lambda: all("cluster_state:ok" in cli(n.port, "cluster", "info") for n in nodes),
            what="cluster_state:ok on every node",
        )
        yield Cluster(nodes)
    finally:
        for node in nodes:
            node.stop()


def tapps(
    *args: str, cache_dir: Path, cwd: Path | None = None, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """`tapps-lsp ARGS` in a fresh process with its own cache directory ("machine")."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TAPPS_LSP_REMOTE_CACHE", "TAPPS_LSP_CACHE_KEY", "REDISCLI_AUTH")
    }
    environment.update({"TAPPS_LSP_CACHE_DIR": str(cache_dir), **env})
    return subprocess.run(
        [sys.executable, "-m", "tapps_lsp", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON report a `check --format json` printed."""
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def findings_by_file(data: dict[str, Any]) -> dict[str, Any]:
    """path -> (scores, findings): what must not depend on where a result came from."""
    return {
        f["path"]: (f["overall"], f["scores"], f["findings"], f["metrics"]) for f in data["files"]
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small project with findings of several kinds."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("import os\nimport sys\n\nx=1\n")
    (root / "pkg" / "b.py").write_text(
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    )
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(14))
    (root / "pkg" / "c.py").write_text(f"def branches(x):\n{body}    return -1\n")
    for i in range(12):
        (root / "pkg" / f"m{i}.py").write_text(f'"""Module {i}."""\n\nVALUE_{i} = {i} * 2\n')
    return root
