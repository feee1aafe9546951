"""A file opened while the reviewer's worker is still starting is answered from the cache
as soon as the cache is open, not once the worker has started (issue 17).

The server runs in this process and is spoken to through its protocol object, so that
the worker's start can be held up: `Reviewer.warm_up` waits on an event here. Its real
start is tested end to end with every server test; the cache is filled by a real
`tapps-lsp check` of the same file.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.reviewer import Reviewer
from tapps_lsp.setup import create_server


class Writer:
    """The client end: every message the server sends, decoded."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.messages.append(json.loads(data.split(b"\r\n\r\n", 1)[1]))

    def close(self) -> None:
        """pygls's interface."""


async def _until(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while (found := predicate()) is None:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)
    return found


def test_a_cached_file_does_not_wait_for_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    source = project / "module.py"
    source.write_text("import os\n\n\ndef double(value):\n    return 2 * value\n")
    monkeypatch.setenv("TAPPS_LSP_CACHE_DIR", str(tmp_path / "cache"))
    subprocess.run(
        [sys.executable, "-I", "-m", "tapps_lsp", "check", str(source)],
        env=dict(os.environ),
        capture_output=True,
        timeout=120,
    )
    started = threading.Event()
    release = threading.Event()

    def held_warm_up(self: Reviewer) -> None:
        started.set()
        release.wait(60)

    monkeypatch.setattr(Reviewer, "warm_up", held_warm_up)
    server = create_server()
    writer = Writer()
    server.protocol.set_writer(writer)
    uri = source.as_uri()

    def send(message: dict[str, Any]) -> None:
        server.protocol.parse_and_handle(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def published() -> dict[str, Any] | None:
        return next(
            (
                m["params"]
                for m in writer.messages
                if m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
            ),
            None,
        )

    async def session() -> None:
        server.bind_loop()
        folders = [{"uri": project.as_uri(), "name": "project"}]
        send(
            {
                "id": 1,
                "method": "initialize",
                "params": {"capabilities": {}, "workspaceFolders": folders},
            }
        )
        send({"method": "initialized", "params": {}})
        item = {"uri": uri, "languageId": "python", "version": 1, "text": source.read_text()}
        send({"method": "textDocument/didOpen", "params": {"textDocument": item}})
        params = await _until(published, "the diagnostics")
        try:
            assert started.is_set() and not server.reviewer_host.warm  # still starting
            assert [d["code"] for d in params["diagnostics"]] == ["F401"]
            assert server.cache.stats()["hits"] == 1
        finally:
            release.set()
            await server.reviewer_host.warmed()
            server.end_session()

    asyncio.run(session())
