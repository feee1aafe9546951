"""JSON-RPC edge cases, spoken byte by byte to the real server process.

pygls 2.1.1 leaves several of these unanswered or exits with the wrong
status; protocol.py closes the gaps and these tests prove it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from e2e_support import SERVER_COMMAND, server_env

pytestmark = pytest.mark.asyncio(loop_scope="function")

TIMEOUT = 30
POSITION = {"line": 0, "character": 0}


class Raw:
    """A client that writes whatever bytes it is told to."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        reader: asyncio.StreamReader | None = None,
        writer: asyncio.StreamWriter | None = None,
    ) -> None:
        self.proc = proc
        self.stdin = writer or proc.stdin
        self.stdout = reader or proc.stdout
        # Every message `first` passed over, in order.
        self.passed: list[dict[str, Any]] = []

    def send_bytes(self, data: bytes) -> None:
        assert self.stdin is not None
        self.stdin.write(data)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def receive(self) -> dict[str, Any]:
        assert self.stdout is not None
        length = 0
        while (line := await self.stdout.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert length, "the server closed its output"
        return dict(json.loads(await self.stdout.readexactly(length)))

    async def response(self, msg_id: Any) -> dict[str, Any]:
        """The response to `msg_id`, skipping notifications and server requests."""
        return await self.first(lambda m: "method" not in m and m.get("id") == msg_id)

    async def first(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The next message `predicate` accepts; the ones before it are dropped."""

        async def wait() -> dict[str, Any]:
            while True:
                message = await self.receive()
                if predicate(message):
                    return message
                self.passed.append(message)

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def initialize(self, params: dict[str, Any] | None = None) -> None:
        self.send({"id": "init", "method": "initialize", "params": params or {"capabilities": {}}})
        assert "result" in await self.response("init")
        self.send({"method": "initialized", "params": {}})

    async def responses(self, *ids: Any) -> dict[Any, dict[str, Any]]:
        """The responses to `ids`, in whatever order they come."""

        async def wait() -> dict[Any, dict[str, Any]]:
            found: dict[Any, dict[str, Any]] = {}
            while len(found) < len(ids):
                message = await self.receive()
                if "method" not in message and message.get("id") in ids:
                    assert message["id"] not in found, f"two responses to {message['id']}"
                    found[message["id"]] = message
            return found

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def exit_status(self) -> int:
        return await asyncio.wait_for(self.proc.wait(), TIMEOUT)


@pytest_asyncio.fixture
async def raw(tmp_path: Path) -> AsyncIterator[Raw]:
    proc = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=server_env(tmp_path / "cache"),
    )
    yield Raw(proc)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def test_malformed_json_gets_a_parse_error_and_the_server_keeps_serving(raw: Raw) -> None:
    body = b'{"jsonrpc": "2.0", "id": 1, "method": '
    raw.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    error = await raw.response(None)
    assert error["error"]["code"] == -32700
    await raw.initialize()


async def test_invalid_params_get_32602(raw: Raw) -> None:
    await raw.initialize()
    raw.send(
        {
            "id": 7,
            "method": "textDocument/hover",
            "params": {"textDocument": 42, "position": {"line": 0, "character": 0}},
        }
    )
    assert (await raw.response(7))["error"]["code"] == -32602
    raw.send({"id": 8, "method": "no/suchMethod", "params": {}})
    assert (await raw.response(8))["error"]["code"] == -32601


async def test_requests_after_shutdown_get_32600_then_exit_is_clean(raw: Raw) -> None:
    await raw.initialize()
    raw.send({"id": 2, "method": "shutdown"})
    assert (await raw.response(2))["result"] is None
    raw.send(
        {
            "id": 3,
            "method": "textDocument/hover",
            "params": {
                "textDocument": {"uri": "file:///x.py"},
                "position": {"line": 0, "character": 0},
            },
        }
    )
    assert (await raw.response(3))["error"]["code"] == -32600
    raw.send({"method": "exit"})
    assert await raw.exit_status() == 0


async def test_shutdown_cancels_pending_requests_and_answers(raw: Raw, tmp_path: Path) -> None:
    # pygls's shutdown failed with "dictionary changed size during iteration" (-32603)
    # while a generator-run request (executeCommand) was pending.
    workspace = tmp_path / "ws"
    workspace.mkdir()
    module = workspace / "module.py"
    module.write_text("import os\n")
    await raw.initialize(
        {
            "capabilities": {
                "textDocument": {"diagnostic": {}},
                "workspace": {"diagnostics": {"refreshSupport": True}},
            },
            "workspaceFolders": [{"uri": workspace.as_uri(), "name": "ws"}],
        }
    )
    # Held open until something changes; the review goes to the worker process: both pending.
    raw.send({"id": "held", "method": "workspace/diagnostic", "params": {"previousResultIds": []}})
    raw.send(
        {
            "id": "review",
            "method": "workspace/executeCommand",
            "params": {"command": "tapps.reviewFile", "arguments": [module.as_uri()]},
        }
    )
    raw.send({"id": "shutdown", "method": "shutdown"})
    answers = await raw.responses("held", "review", "shutdown")
    assert answers["shutdown"].get("error") is None and answers["shutdown"]["result"] is None
    assert answers["held"]["error"]["code"] == -32800
    assert answers["review"]["error"]["code"] == -32800
    raw.send({"method": "exit"})
    assert await raw.exit_status() == 0


def worker_started(pid: int) -> bool:
    """Whether the server has a child: the review worker."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    return pid in parents.values()


async def test_requests_are_answered_while_the_worker_starts(raw: Raw, tmp_path: Path) -> None:
    # Importing the engine, opening the cache and starting the worker
    # (`initialized`) used to block the event loop; now a thread does it.
    workspace = tmp_path / "ws"
    workspace.mkdir()
    module = workspace / "module.py"
    module.write_text("import os\n")
    await raw.initialize(
        {"capabilities": {}, "workspaceFolders": [{"uri": workspace.as_uri(), "name": "ws"}]}
    )
    started = time.monotonic()  # `initialized` is sent
    # A document opened before the warm-up is over is reviewed once it is.
    assert not worker_started(raw.proc.pid)
    item = {"uri": module.as_uri(), "languageId": "python", "version": 1, "text": "import os\n"}
    raw.send({"method": "textDocument/didOpen", "params": {"textDocument": item}})
    # Whether each answer came while the worker was still starting. Were the warm-up on the
    # event loop, no answer could arrive before it ended, and it ends with the worker
    # started; a clock would say the same but moves with the machine's load.
    answered_during_warm_up: list[bool] = []
    hover = {"textDocument": {"uri": (workspace / "none.py").as_uri()}, "position": POSITION}
    while not worker_started(raw.proc.pid):
        assert time.monotonic() - started < TIMEOUT, "the review worker never started"
        request_id = len(answered_during_warm_up)
        raw.send({"id": request_id, "method": "textDocument/hover", "params": hover})
        assert (await raw.response(request_id))["result"] is None
        answered_during_warm_up.append(not worker_started(raw.proc.pid))
    assert any(answered_during_warm_up), answered_during_warm_up

    def is_published(message: dict[str, Any]) -> bool:
        return message.get("method") == "textDocument/publishDiagnostics"

    early = [m for m in raw.passed if is_published(m)]
    published = early[0] if early else await raw.first(is_published)
    assert [d["code"] for d in published["params"]["diagnostics"]] == ["F401"]
    # A clean end: the worker processes stop with the server.
    raw.send({"id": "shutdown", "method": "shutdown"})
    await raw.response("shutdown")
    raw.send({"method": "exit"})
    assert await raw.exit_status() == 0


async def test_exit_without_shutdown_exits_1(raw: Raw) -> None:
    await raw.initialize()
    raw.send({"method": "exit"})
    assert await raw.exit_status() == 1


async def test_a_short_content_length_ends_the_process_non_zero(raw: Raw) -> None:
    await raw.initialize()
    body = json.dumps({"jsonrpc": "2.0", "id": 4, "method": "shutdown"}).encode()
    raw.send_bytes(b"Content-Length: %d\r\n\r\n" % (len(body) - 9) + body)
    raw.send({"id": 5, "method": "shutdown"})
    assert await raw.exit_status() not in (0, None)


async def test_a_header_without_content_length_ends_the_process_non_zero(raw: Raw) -> None:
    raw.send_bytes(b"Content-Type: application/json\r\n\r\n{}")
    assert await raw.exit_status() not in (0, None)


async def test_tcp(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND,
        "serve",
        "--tcp",
        f"127.0.0.1:{port}",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=server_env(tmp_path / "cache"),
    )
    try:
        assert proc.stderr is not None
        stderr = proc.stderr

        async def listening() -> None:
            while b"serving on" not in await stderr.readline():
                pass

        await asyncio.wait_for(listening(), TIMEOUT)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = Raw(proc, reader, writer)
        await raw.initialize()
        raw.send({"id": 2, "method": "shutdown"})
        assert (await raw.response(2))["result"] is None
        raw.send({"method": "exit"})
        assert await raw.exit_status() == 0
        writer.close()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
