"""A raw JSON-RPC client over the real server's stdio, and what the tests observe with it.

The client writes whatever bytes a test asks for, keeps reading in the
background, counts the responses per request id (exactly one is the rule),
answers the server's own requests, and lets a test wait for a message with
a timeout. Nothing waits on a sleep: every wait is on a message, a process
exit, or a /proc state polled under a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import itertools
import json
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 60.0
SERVER_COMMAND = [sys.executable, "-m", "tapps_lsp"]


def server_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TAPPS_LSP_CACHE_DIR"] = str(cache_dir)
    env["TAPPS_LSP_LOG_LEVEL"] = "info"
    env.update(extra)
    return env


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def frame_body(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Raw:
    """One server process and the client end of its pipes."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr
        self.responses: dict[Any, list[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self.configuration: dict[str, Any] = {}
        self.closed = False
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(
        cls,
        tmp_path: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> Raw:
        stderr = tmp_path / f"server-{next(_serial)}.stderr"
        with open(stderr, "wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *(command or SERVER_COMMAND),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=cwd or tmp_path,
                env=env or server_env(tmp_path / "cache"),
                limit=2**28,
                preexec_fn=preexec_fn,
            )
        return cls(proc, stderr)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    # ---- sending -------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(frame(message))

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def request_id(self) -> int:
        return next(self._ids)

    def send_request(self, method: str, params: Any = None, msg_id: Any = None) -> Any:
        msg_id = self.request_id() if msg_id is None else msg_id
        message: dict[str, Any] = {"id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return msg_id

    async def request(self, method: str, params: Any = None, timeout: float = TIMEOUT) -> Any:
        """The result of a request; an error response fails with RequestFailed."""
        response = await self.response(self.send_request(method, params), timeout)
        if "error" in response:
            raise RequestFailed(response["error"])
        return response.get("result")

    # ---- receiving -----------------------------------------------------------------------

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while True:
                length = None
                while (line := await stdout.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if not line or length is None:
                    return
                message = json.loads(await stdout.readexactly(length))
                await self._dispatch(message)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self.closed = True
            async with self._changed:
                self._changed.notify_all()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:
            self.server_requests.append(message)
            self.send({"id": message["id"], "result": self._answer(message)})
        elif "method" in message:
            self.notifications.append(message)
        else:
            self.responses.setdefault(_key(message.get("id")), []).append(message)
        async with self._changed:
            self._changed.notify_all()

    def _answer(self, request: dict[str, Any]) -> Any:
        if request["method"] == "workspace/configuration":
            items = request["params"]["items"]
            return [self.configuration.get(i.get("scopeUri") or "", {}) for i in items]
        return None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
        """Wait until `predicate()` is truthy (checked on every message); returns its value."""

        async def wait() -> Any:
            async with self._changed:
                while not (value := predicate()):
                    if self.closed:
                        raise ServerGone(f"the server closed its output (status {self.returncode})")
                    await self._changed.wait()
                return value

        return await asyncio.wait_for(wait(), timeout)

    async def response(self, msg_id: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
        responses = await self.wait_for(lambda: self.responses.get(_key(msg_id)), timeout)
        return dict(responses[0])

    async def notification(
        self, method: str, where: Callable[[Any], object] = lambda m: True, **kw: Any
    ) -> dict[str, Any]:
        """The first notification `method` (already received or not) satisfying `where`."""

        def find() -> dict[str, Any] | None:
            for message in self.notifications:
                if message["method"] == method and where(message.get("params")):
                    return message
            return None

        return dict(await self.wait_for(find, **kw))

    def logs(self) -> list[str]:
        return [
            m["params"]["message"] for m in self.notifications if m["method"] == "window/logMessage"
        ]

    def published(self, uri: str) -> list[dict[str, Any]]:
        return [
            m["params"]
            for m in self.notifications
            if m["method"] == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        ]

    # ---- a session -----------------------------------------------------------------------

    async def initialize(
        self,
        folders: list[Path] | None = None,
        capabilities: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"capabilities": capabilities or {}, "processId": os.getpid()}
        if folders:
            params["workspaceFolders"] = [{"uri": f.as_uri(), "name": f.name} for f in folders]
        if options is not None:
            params["initializationOptions"] = options
        result = await self.request("initialize", params)
        self.notify("initialized", {})
        return dict(result)

    async def open(self, uri: str, text: str, version: int = 1) -> None:
        item = {"uri": uri, "languageId": "python", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})

    async def diagnostics_of(
        self, uri: str, version: int | None = None, timeout: float = TIMEOUT
    ) -> list[dict[str, Any]]:
        """The diagnostics of the first publish for `uri` (of `version`, when given)."""
        message = await self.notification(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version),
            timeout=timeout,
        )
        return list(message["params"]["diagnostics"])

    async def stop(self) -> int:
        """shutdown + exit when the server still listens; the exit status."""
        if self.returncode is None and not self.closed:
            with contextlib.suppress(RequestFailed, ServerGone, asyncio.TimeoutError):
                await self.request("shutdown", timeout=20)
                self.notify("exit")
        try:
            return await asyncio.wait_for(self.proc.wait(), 20)
        finally:
            await self.kill()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def exit_status(self, timeout: float = TIMEOUT) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode


_serial = itertools.count(1)


def _key(msg_id: Any) -> Any:
    """Responses are filed by id; an id that is no valid JSON-RPC id is filed by its JSON."""
    return json.dumps(msg_id) if isinstance(msg_id, (dict, list, bool, float)) else msg_id


class RequestFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.message = str(error.get("message"))


class ServerGone(Exception):
    pass


# ---- processes (Linux /proc) ----------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, grandchildren, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out += children
        todo += children
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory (VmRSS) or its peak (VmHWM) of a process, in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process in clock ticks; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


async def poll(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Wait for a condition of the system (/proc), checked every 20 ms until `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)
    return value


# ---- file access (inotify) ------------------------------------------------------------------

_IN_ACCESS, _IN_OPEN = 0x1, 0x20
_IN_NONBLOCK = 0o4000


class AccessWatch:
    """Records every open or read of the watched files and directories (inotify).

    The proof that a server never read a file: the kernel reports each open,
    whoever does it, including a directory's listing.
    """

    def __init__(self, *paths: Path) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init1(_IN_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self._names: dict[int, Path] = {}
        for path in paths:
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), _IN_ACCESS | _IN_OPEN)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
            self._names[wd] = path

    def events(self) -> list[str]:
        """What happened since the watch began: "open path[/name]" or "read ..."."""
        out: list[str] = []
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return out
            offset = 0
            while offset < len(data):
                wd, mask, _, size = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16 : offset + 16 + size].rstrip(b"\0").decode()
                offset += 16 + size
                kind = "open" if mask & _IN_OPEN else "read"
                out.append(f"{kind} {self._names.get(wd)}{'/' + name if name else ''}")

    def close(self) -> None:
        os.close(self._fd)
