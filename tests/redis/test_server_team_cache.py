"""The language server and the team cache: user settings only, visible in tapps.cacheStats."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from redis_support import TEAM_KEY, Node, tapps
from redis_support import pytestmark as support_mark
from robustness.raw import Raw, server_env

pytestmark = [pytest.mark.slow, support_mark]


async def _stats(raw: Raw) -> dict[str, Any]:
    result = await raw.request(
        "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
    )
    return dict(result)


async def test_an_editor_reads_the_team_cache_from_its_user_settings(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    written = tapps(
        "check", str(tree), "--format", "json", "--remote-cache", redis_node.url,
        "--remote-cache-write", cache_dir=tmp_path / "ci", TAPPS_LSP_CACHE_KEY=TEAM_KEY,
    )  # fmt: skip
    assert written.returncode in (0, 1), written.stderr
    env = server_env(tmp_path / "laptop", TAPPS_LSP_CACHE_KEY=TEAM_KEY)
    raw = await Raw.start(tmp_path, env=env)
    try:
        await raw.initialize([tree], options={"remoteCache": {"url": redis_node.url}})
        target = tree / "pkg" / "b.py"
        await raw.open(target.as_uri(), target.read_text())
        diagnostics = await raw.diagnostics_of(target.as_uri())
        assert any(d.get("code") in ("S602", "B602") for d in diagnostics), diagnostics

        # The save waited at most 20 ms; a later answer is counted when it comes.
        deadline = time.monotonic() + 30
        stats = await _stats(raw)
        while stats["remote"]["hits"] != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            stats = await _stats(raw)
        remote = stats["remote"]
        assert remote["enabled"] and not remote["write"] and remote["breaker"] == "closed"
        assert remote["rejected"] == 0 and remote["errors"] == 0
        assert "@" not in remote["url"]  # the password is not shown
    finally:
        await raw.stop()
    assert redis_node.keys() == 16  # the editor wrote nothing


async def test_a_workspace_cannot_point_the_server_at_a_redis(
    redis_node: Node, tree: Path, tmp_path: Path
) -> None:
    (tree / "pyproject.toml").write_text(
        '[project]\nname = "p"\n\n[tool.tapps-lsp]\n'
        f'remoteCache = {{ url = "{redis_node.url}", write = true }}\n'
    )
    env = server_env(tmp_path / "laptop", TAPPS_LSP_CACHE_KEY=TEAM_KEY)
    raw = await Raw.start(tmp_path, env=env)
    try:
        await raw.initialize([tree])
        target = tree / "pkg" / "b.py"
        await raw.open(target.as_uri(), target.read_text())
        await raw.diagnostics_of(target.as_uri())
        stats = await _stats(raw)
        assert stats["remote"]["enabled"] is False
        shown = [
            m["params"]["message"]
            for m in raw.notifications
            if m["method"] in ("window/showMessage", "window/logMessage")
            and "remoteCache" in m["params"]["message"]
        ]
        assert len(shown) >= 1 and all("not a workspace" in m for m in shown), shown
    finally:
        await raw.stop()
    assert redis_node.keys() == 0
