"""A lean LSP client over stdio, for timing servers as an editor sees them.

Our own rather than pygls's client: converting every message to lsprotocol
objects costs the client tens of microseconds per message, which would blur
a 2 ms target. Frames are timestamped the moment they are fully read.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Big enough for a workspace/diagnostic or a publish of a large file.
_STREAM_LIMIT = 64 * 1024 * 1024


def now_ms() -> float:
    return time.perf_counter_ns() / 1e6


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


@dataclass
class Progress:
    """Every `$/progress` value seen for one token, with receive times."""

    token: str | int
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def title(self) -> str:
        for _, value in self.events:
            if value.get("kind") == "begin":
                return str(value.get("title", ""))
        return ""

    def report_times(self) -> list[float]:
        return [t for t, v in self.events if v.get("kind") == "report"]


class LspClient:
    """Starts a server process and speaks JSON-RPC to it over its stdio."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stderr_path: Path | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.command = list(command)
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.stderr_path = stderr_path
        # Answer to each workspace/configuration item.
        self.settings = settings or {}
        self.process: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        self._stderr_file: Any = None
        self.diagnostics: dict[str, tuple[float, dict[str, Any]]] = {}
        self._diag_waiters: dict[str, list[tuple[Callable[[dict[str, Any]], bool], Any]]] = (
            defaultdict(list)
        )
        self.progress: dict[str | int, Progress] = {}
        self.progress_created = asyncio.Queue[Progress]()
        # Receive times of workspace/diagnostic/refresh requests (pull clients re-pull then).
        self.refreshes = asyncio.Queue[float]()
        self.notification_counts: dict[str, int] = defaultdict(int)
        self.log_messages: list[str] = []
        self.server_info: dict[str, Any] = {}
        self.capabilities: dict[str, Any] = {}

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        stderr: Any = asyncio.subprocess.DEVNULL
        if self.stderr_path is not None:
            self._stderr_file = open(self.stderr_path, "ab")  # noqa: SIM115 - closed in stop()
            stderr = self._stderr_file
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=self.env,
            cwd=self.cwd,
            limit=_STREAM_LIMIT,
        )
        self._reader_task = asyncio.create_task(self._read_loop())

    async def initialize(
        self,
        root: Path,
        *,
        capabilities: dict[str, Any] | None = None,
        initialization_options: dict[str, Any] | None = None,
    ) -> float:
        """Runs initialize + initialized; returns the initialize round trip in ms."""
        params = {
            "processId": os.getpid(),
            "clientInfo": {"name": "tapps-bench", "version": "1"},
            "rootUri": file_uri(root),
            "rootPath": str(root),
            "workspaceFolders": [{"uri": file_uri(root), "name": root.name}],
            "capabilities": capabilities or default_capabilities(),
            "initializationOptions": initialization_options or {},
        }
        start = now_ms()
        result = await self.request("initialize", params, timeout=120)
        elapsed = now_ms() - start
        self.capabilities = result.get("capabilities", {})
        self.server_info = result.get("serverInfo", {}) or {}
        await self.notify("initialized", {})
        return elapsed

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.request("shutdown", None, timeout=10)
                await self.notify("exit", None)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        if self._stderr_file is not None:
            self._stderr_file.close()

    # -- sending ------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        body = json.dumps(message, separators=(",", ":")).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.process.stdin.drain()

    async def notify(self, method: str, params: Any) -> None:
        await self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any, *, timeout: float = 60) -> Any:
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(msg_id, None)

    async def execute_command(self, command: str, *args: Any, timeout: float = 60) -> Any:
        return await self.request(
            "workspace/executeCommand",
            {"command": command, "arguments": list(args)},
            timeout=timeout,
        )

    # -- documents ----------------------------------------------------------

    async def did_open(self, uri: str, text: str, version: int = 1) -> None:
        await self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": version,
                    "text": text,
                }
            },
        )

    async def did_change(self, uri: str, text: str, version: int) -> None:
        await self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    async def did_save(self, uri: str, text: str | None = None) -> None:
        params: dict[str, Any] = {"textDocument": {"uri": uri}}
        if text is not None:
            params["text"] = text
        await self.notify("textDocument/didSave", params)

    async def did_close(self, uri: str) -> None:
        await self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def expect_diagnostics(
        self, uri: str, accept: Callable[[dict[str, Any]], bool] = lambda _p: True
    ) -> asyncio.Future[tuple[float, dict[str, Any]]]:
        """A future resolved by the next publishDiagnostics for `uri` that `accept`s.

        Register it before sending the message that triggers the publish, so
        a fast server cannot answer before the client listens.
        """
        future: asyncio.Future[tuple[float, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._diag_waiters[uri].append((accept, future))
        return future

    # -- receiving ----------------------------------------------------------

    async def _read_loop(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        try:
            while True:
                header = await stdout.readuntil(b"\r\n\r\n")
                length = 0
                for line in header.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await stdout.readexactly(length)
                received = now_ms()
                self._dispatch(json.loads(body), received)
        except (asyncio.IncompleteReadError, ConnectionError):
            error = ConnectionError(f"server exited ({self.command[0]})")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(error)

    def _dispatch(self, message: dict[str, Any], received: float) -> None:
        method = message.get("method")
        if method is None:
            future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RuntimeError(json.dumps(message["error"])))
                else:
                    future.set_result(message.get("result"))
            return
        if "id" in message:
            asyncio.create_task(self._answer(message))
            return
        self.notification_counts[method] += 1
        params = message.get("params") or {}
        if method == "textDocument/publishDiagnostics":
            uri = params.get("uri", "")
            self.diagnostics[uri] = (received, params)
            waiters = self._diag_waiters.get(uri)
            if waiters:
                for index, (accept, future) in enumerate(waiters):
                    if not future.done() and accept(params):
                        future.set_result((received, params))
                        del waiters[index]
                        break
        elif method == "$/progress":
            token: str | int = params["token"]
            progress = self.progress.get(token)
            if progress is None:
                progress = self.progress[token] = Progress(token)
            value = params.get("value") or {}
            progress.events.append((received, value))
            if value.get("kind") == "end":
                progress.ended.set()
        elif method == "window/logMessage":
            self.log_messages.append(str(params.get("message", "")))

    async def _answer(self, message: dict[str, Any]) -> None:
        method = message["method"]
        params = message.get("params") or {}
        result: Any = None
        if method == "workspace/configuration":
            result = [self.settings for _ in params.get("items", [])]
        elif method == "workspace/diagnostic/refresh":
            self.refreshes.put_nowait(now_ms())
        elif method == "window/workDoneProgress/create":
            token = params["token"]
            progress = self.progress.setdefault(token, Progress(token))
            self.progress_created.put_nowait(progress)
        await self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})


def default_capabilities(*, pull: bool = False) -> dict[str, Any]:
    """What a typical editor advertises: push diagnostics unless `pull`."""
    text_document: dict[str, Any] = {
        "synchronization": {"didSave": True, "dynamicRegistration": False},
        "publishDiagnostics": {"versionSupport": True, "relatedInformation": True},
    }
    workspace: dict[str, Any] = {
        "configuration": True,
        "workspaceFolders": True,
        "didChangeConfiguration": {"dynamicRegistration": False},
    }
    if pull:
        text_document["diagnostic"] = {"dynamicRegistration": False}
        workspace["diagnostics"] = {"refreshSupport": True}
    return {
        "general": {"positionEncodings": ["utf-16"]},
        "window": {"workDoneProgress": True},
        "workspace": workspace,
        "textDocument": text_document,
    }
