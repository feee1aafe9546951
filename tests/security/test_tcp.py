"""`serve --tcp` serves one client, on the loopback address unless told otherwise (issue 13).

The real server on a real socket: the editor connects first; a second
connection (another local user, or a stray tool) is closed without a reply,
and the editor's session keeps working. `--tcp PORT` listens on 127.0.0.1
only, and a host that other machines can reach is warned about.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from robustness.raw import frame, server_env

from security.conftest import TAPPS, limit_address_space

DEADLINE = 60.0
SHELL_CALL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


class Server:
    """`tapps-lsp ARGS` with its stderr read line by line in a thread."""

    def __init__(self, args: list[str], tmp_path: Path) -> None:
        self.proc = subprocess.Popen(
            [TAPPS, *args],
            cwd=tmp_path,
            env=server_env(tmp_path / "cache"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            preexec_fn=limit_address_space(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first stderr line matching `pattern` (waiting for it, up to the deadline)."""
        end = time.monotonic() + DEADLINE
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} on stderr: {self.stderr}") from None
            self.stderr.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def address(self) -> tuple[str, int]:
        match = self.wait_for(r"serving on \('([^']+)', (\d+)")
        return match.group(1), int(match.group(2))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=DEADLINE)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def run(*args: str) -> Server:
        server = Server(list(args), tmp_path)
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.stop()


class Client:
    """An LSP client on a socket: answers the server's requests, keeps its notifications."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.buffer = b""
        self.notifications: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> bool:
        """False when the server has closed the connection."""
        try:
            self.sock.sendall(frame(message))
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None once the server has closed the connection."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", header).group(1))  # type: ignore[union-attr]
        while len(rest) < length:
            if not self._fill():
                return None
            header, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        message: dict[str, Any] = json.loads(rest[:length])
        return message

    def request(self, msg_id: int, method: str, params: Any) -> dict[str, Any]:
        assert self.send({"id": msg_id, "method": method, "params": params})
        while True:
            message = self.receive()
            assert message is not None, f"the server closed the connection during {method}"
            if message.get("id") == msg_id and "method" not in message:
                return message
            if "method" in message and "id" in message:  # a request of the server's
                items = (message.get("params") or {}).get("items") or []
                result = (
                    [None] * len(items) if message["method"] == "workspace/configuration" else None
                )
                self.send({"id": message["id"], "result": result})
            elif "method" in message:
                self.notifications.append(message)

    def initialize(self, root: Path) -> None:
        params = {
            "processId": None,
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {"workspace": {"configuration": True}},
        }
        assert "result" in self.request(1, "initialize", params)
        assert self.send({"method": "initialized", "params": {}})


def test_a_second_connection_gets_no_replies_and_the_first_keeps_working(
    start: Any, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    target = workspace / "a.py"
    target.write_text(SHELL_CALL)
    server = start("serve", "--tcp", "0")
    host, port = server.address()
    assert host == "127.0.0.1"

    editor = Client(port)
    editor.initialize(workspace)

    intruder = Client(port)
    review = {"command": "tapps.reviewFile", "arguments": [target.as_uri()]}
    intruder.send({"id": 1, "method": "initialize", "params": {"processId": None}})
    intruder.send({"id": 2, "method": "workspace/executeCommand", "params": review})
    assert intruder.receive() is None  # closed, with no reply to either request

    reply = editor.request(2, "workspace/executeCommand", review)
    codes = [f["code"] for f in reply["result"]["findings"]]
    assert "S602" in codes, reply
    said = [
        n["params"]["message"] for n in editor.notifications if n["method"] == "window/logMessage"
    ]
    assert any("refused a connection from 127.0.0.1:" in m for m in said), said

    assert editor.request(3, "shutdown", None)["result"] is None
    editor.send({"method": "exit"})
    assert server.proc.wait(timeout=DEADLINE) == 0


def test_top_level_tcp_with_a_port_listens_on_loopback_only(start: Any) -> None:
    server = start("--tcp", "0")  # what the README shows: no `serve` needed
    assert server.address()[0] == "127.0.0.1"


def test_a_host_other_machines_can_reach_is_warned_about(start: Any) -> None:
    server = start("serve", "--tcp", "0.0.0.0:0")
    server.wait_for(r"listening on 0\.0\.0\.0, which other machines can reach")
    assert server.address()[0] == "0.0.0.0"
