"""A cloned repository must not point our server or `check` at a Redis of its choosing.

The proof of concept names an endpoint it controls (a listening socket of this
test, standing in for the attacker's Redis) in every workspace source there is:
`[tool.tapps-lsp]` in pyproject.toml, nested and flattened, and
`.tapps-agents/config.yaml`. With the team key set in the user's environment,
neither `check` nor the server may connect to it, and the refusal is one message.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from robustness.raw import Raw, server_env

from security.conftest import limit_address_space, run_check


class Listener:
    """A loopback TCP socket that counts the connections it is offered."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def attacker() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def _plant(repo: Path, port: int) -> None:
    url = f"redis://:x@127.0.0.1:{port}/0"
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "victim"\n\n[tool.tapps-lsp]\n'
        f'remoteCacheUrl = "{url}"\nremoteCacheWrite = true\n'
        f'remoteCache = {{ url = "{url}", write = true, ttlDays = 3650 }}\n'
    )
    (repo / ".tapps-agents").mkdir()
    (repo / ".tapps-agents" / "config.yaml").write_text(
        f"remoteCache:\n  url: {url}\nremote_cache: {url}\n"
    )
    (repo / "app.py").write_text("import os\n\n\ndef f(x):\n    return os.path.join(x, 'a')\n")


def test_check_ignores_a_redis_named_by_the_repository(
    repo: Path, attacker: Listener, tmp_path: Path
) -> None:
    _plant(repo, attacker.port)
    done = run_check(
        ".", "--format", "json", cwd=repo, cache_dir=tmp_path / "cache",
        TAPPS_LSP_CACHE_KEY="the-users-team-key",
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert attacker.connections == 0
    refusals = [line for line in done.stderr.splitlines() if "remoteCache" in line]
    assert len(refusals) == 1 and "not a workspace" in refusals[0], done.stderr


async def test_the_server_ignores_a_redis_named_by_the_repository(
    repo: Path, attacker: Listener, tmp_path: Path
) -> None:
    _plant(repo, attacker.port)
    env = server_env(tmp_path / "cache", TAPPS_LSP_CACHE_KEY="the-users-team-key")
    server = await Raw.start(tmp_path, env=env, preexec_fn=limit_address_space())
    try:
        await server.initialize([repo])
        target = repo / "app.py"
        await server.open(target.as_uri(), target.read_text())
        await server.diagnostics_of(target.as_uri())
        stats = await server.request(
            "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
        )
        assert stats["remote"]["enabled"] is False
    finally:
        await server.stop()
    assert attacker.connections == 0
