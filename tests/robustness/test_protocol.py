"""JSON-RPC faults against the real server process, byte by byte.

tests/e2e/test_protocol.py covers one example of each gap pygls leaves
open; here each fault comes in its variants, and every case also proves
what must hold afterwards: the server answers the next request (it keeps
serving), or it is gone together with every process it started (never a
live but deaf server).
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from robustness.raw import (
    Raw,
    alive,
    cpu_ticks,
    descendants,
    frame,
    frame_body,
    poll,
    server_env,
)

POSITION = {"line": 0, "character": 0}


async def still_serving(raw: Raw) -> None:
    """A request that needs a working server after the fault: executeCommand cacheStats."""
    stats = await raw.request(
        "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
    )
    assert "hits" in stats


def exactly_one_response_each(raw: Raw) -> None:
    """No request was answered twice (id null: errors about messages without a usable id)."""
    assert {i: len(r) for i, r in raw.responses.items() if len(r) != 1 and i is not None} == {}


async def gone_with_its_processes(raw: Raw, children: list[int]) -> int:
    status = await raw.exit_status(30)
    await poll(lambda: not any(alive(p) for p in children), 10, f"workers {children} to exit")
    return status


async def warm_session(raw: Raw, workspace: Path) -> list[int]:
    """Initialize, wait until the review worker runs; the server's process tree."""
    await raw.initialize([workspace])
    tree: list[int] = await poll(lambda: descendants(raw.pid), 30, "the review worker to start")
    return tree


# ---- malformed messages ---------------------------------------------------------------------


MALFORMED = [
    (b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {', -32700),  # truncated
    (b'{"jsonrpc": "2.0", "id": 1, "method": "\xff\xfe"}', -32700),  # not UTF-8
    (b"", -32700),
    (b"\x00\x01\x02", -32700),
    (b"[1, 2]", -32600),  # a batch: not supported, still answered
    (b'"initialize"', -32600),
]


async def test_a_body_that_is_no_message_gets_one_error_and_the_server_serves_on(
    raw: Raw, workspace: Path
) -> None:
    for count, (body, code) in enumerate(MALFORMED, 1):
        raw.send_bytes(frame_body(body))
        await raw.wait_for(lambda count=count: len(raw.responses.get(None, [])) == count)  # type: ignore[misc]
        assert raw.responses[None][-1]["error"]["code"] == code, body
    await raw.initialize([workspace])
    await still_serving(raw)
    assert len(raw.responses[None]) == len(MALFORMED)
    exactly_one_response_each(raw)


INVALID_PARAMS = [
    ("textDocument/hover", {"textDocument": 42, "position": POSITION}),
    ("textDocument/hover", {"textDocument": {"uri": "file:///x.py"}}),
    ("textDocument/codeAction", {"textDocument": {"uri": "file:///x.py"}, "context": {}}),
    ("textDocument/codeLens", ["file:///x.py"]),
    ("textDocument/diagnostic", {"textDocument": "file:///x.py"}),
    ("workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": 5}),
    ("workspace/executeCommand", {"command": 17}),
    ("workspace/executeCommand", {"command": "tapps.reviewFile", "arguments": []}),
    ("workspace/executeCommand", {"command": "tapps.exportReport", "arguments": [1, 2]}),
    ("workspace/diagnostic", {"previousResultIds": "none"}),
]


async def test_invalid_params_get_32602_and_the_server_serves_on(raw: Raw, workspace: Path) -> None:
    await raw.initialize([workspace])
    for method, params in INVALID_PARAMS:
        response = await raw.response(raw.send_request(method, params))
        assert response["error"]["code"] == -32602, (method, params, response)
        assert "Traceback" not in response["error"]["message"]
    await still_serving(raw)
    exactly_one_response_each(raw)


async def test_notifications_with_invalid_params_are_dropped_without_a_response(
    raw: Raw, workspace: Path
) -> None:
    await raw.initialize([workspace])
    raw.notify("textDocument/didOpen", {"textDocument": 42})
    raw.notify("textDocument/didChange", {"textDocument": {"uri": "file:///x.py"}})
    raw.notify("textDocument/didSave", [])
    raw.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": 1, "type": 9}]})
    raw.send({"method": "$/cancelRequest", "params": {"id": {"not": "an id"}}})
    raw.notify("$/cancelRequest", {"id": 1})  # initialize, answered already
    raw.notify("$/cancelRequest", {"id": "never-sent"})
    await still_serving(raw)
    # Only the initialize and the cacheStats requests were answered.
    assert sorted(raw.responses) == [1, 2]


async def test_a_request_without_jsonrpc_version_gets_32600(raw: Raw, workspace: Path) -> None:
    await raw.initialize([workspace])
    raw.send_bytes(frame_body(b'{"id": 99, "method": "shutdown"}'))
    assert (await raw.response(99))["error"]["code"] == -32600
    await still_serving(raw)


async def test_a_request_whose_id_is_no_id_gets_32600_and_no_traceback(
    raw: Raw, workspace: Path
) -> None:
    """pygls files requests by id: an unhashable one failed inside its dispatch."""
    await raw.initialize([workspace])
    for count, msg_id in enumerate([{"x": 1}, [1], True], 1):
        raw.send({"id": msg_id, "method": "shutdown"})
        await raw.wait_for(lambda count=count: len(raw.responses.get(None, [])) == count)  # type: ignore[misc]
        error = raw.responses[None][-1]["error"]
        assert error["code"] == -32600 and "data" not in error
        raw.send({"method": "$/cancelRequest", "params": {"id": msg_id}})
    await still_serving(raw)
    exactly_one_response_each(raw)


# ---- shutdown and exit ----------------------------------------------------------------------


async def test_every_request_after_shutdown_gets_32600_and_exit_then_ends_everything(
    raw: Raw, workspace: Path
) -> None:
    children = await warm_session(raw, workspace)
    assert await raw.request("shutdown") is None
    after = {
        raw.send_request("shutdown"): "shutdown",
        raw.send_request("initialize", {"capabilities": {}}): "initialize",
        raw.send_request(
            "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
        ): "command",
        raw.send_request("textDocument/hover", {"textDocument": 1}): "invalid hover",
    }
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///a.py"}})
    for msg_id, what in after.items():
        assert (await raw.response(msg_id))["error"]["code"] == -32600, what
    raw.notify("exit")
    assert await gone_with_its_processes(raw, children) == 0
    exactly_one_response_each(raw)


async def test_exit_without_shutdown_exits_1_and_ends_the_workers(
    raw: Raw, workspace: Path
) -> None:
    children = await warm_session(raw, workspace)
    raw.notify("exit")
    assert await gone_with_its_processes(raw, children) == 1


@pytest.mark.parametrize(("shutdown", "status"), [(False, 1), (True, 0)])
async def test_the_client_going_away_ends_the_server(
    raw: Raw, workspace: Path, shutdown: bool, status: int
) -> None:
    """Input closed (the editor died): exit, 0 only if shutdown came first."""
    children = await warm_session(raw, workspace)
    if shutdown:
        await raw.request("shutdown")
    assert raw.proc.stdin is not None
    raw.proc.stdin.close()
    assert await gone_with_its_processes(raw, children) == status


def nice_of(pid: int) -> int | None:
    """A process's nice value (/proc/PID/stat field 19); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return int(f.read().rsplit(")", 1)[1].split()[16])
    except (OSError, IndexError, ValueError):
        return None


async def test_a_killed_server_leaves_no_process_behind(raw: Raw, workspace: Path) -> None:
    """SIGKILL (an editor that gives up on a server) mid-scan: the interactive and the scan
    workers all end with it, mid-file (before, each such kill left ~80 MB running). On the
    way, the scan workers are seen running below the server's priority."""
    for i in range(200):
        (workspace / f"bulk_{i:03}.py").write_text(f"import os\n\nVALUE = {i}\n" * 40)
    await raw.initialize([workspace], {"window": {"workDoneProgress": True}})
    uri = (workspace / "bulk_000.py").as_uri()
    await raw.open(uri, (workspace / "bulk_000.py").read_text())
    await raw.diagnostics_of(uri)  # the interactive worker has run
    await raw.request(
        "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
    )
    await raw.notification("$/progress", lambda p: p["value"].get("kind") == "begin")
    own = nice_of(raw.pid)
    assert own is not None
    lower = min(own + 10, 19)  # the kernel's floor of priority, when tests run under nice

    def scan_workers_running() -> list[int] | None:
        # The first report may come before the workers have started (the cached files are
        # counted first): wait for the workers themselves, below the server's priority.
        tree = descendants(raw.pid)
        return tree if lower in {nice_of(p) for p in tree} else None

    await poll(scan_workers_running, 60, "the scan workers to start")
    # The idle interactive worker made room for the scan's; a file opened now starts it
    # again, at the server's priority (the scan's workers stay, in the reserve once idle).
    fresh = (workspace / "fresh.py").as_uri()
    await raw.open(fresh, "import json\n\nVALUE = 1\n")
    await raw.diagnostics_of(fresh)
    tree = descendants(raw.pid)
    assert len(tree) >= 3, tree  # the interactive worker and two scan workers
    # The scan runs below the server's priority; the interactive worker does not.
    priorities = {nice_of(pid) for pid in tree} - {None}
    assert {own, lower} <= priorities, (own, priorities)
    await raw.kill()
    await poll(lambda: not any(alive(p) for p in tree), 10, f"processes {tree} to end")


async def test_the_log_level_set_where_the_server_starts_is_kept(
    tmp_path: Path, workspace: Path
) -> None:
    """TAPPS_LSP_LOG_LEVEL=debug outlives the settings, whose default level is info."""
    raw = await Raw.start(tmp_path, env=server_env(tmp_path / "cache", TAPPS_LSP_LOG_LEVEL="debug"))
    try:
        await raw.initialize([workspace])
        uri = (workspace / "module.py").as_uri()
        await raw.open(uri, "import os\n")
        await raw.diagnostics_of(uri)  # the folder's settings are in
        raw.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        await raw.notification(
            "window/logMessage", lambda p: "answered from the cache" in p["message"]
        )
        assert await raw.stop() == 0
    finally:
        await raw.kill()


# ---- framing ----------------------------------------------------------------------------


def _next_message() -> bytes:
    return frame({"id": 1000, "method": "shutdown"})


@pytest.mark.parametrize(
    "data",
    [
        # Longer than the body: it swallows the next header, then the stream is garbage.
        b"Content-Length: 80\r\n\r\n" + b'{"jsonrpc": "2.0", "method": "initialized"}',
        # Shorter than the body: the rest of the body is read as a header.
        b"Content-Length: 10\r\n\r\n" + b'{"jsonrpc": "2.0", "method": "initialized"}',
        b"Content-Length: twelve\r\n\r\n{}",
        b"Content-Length: 99999999999999999999\r\n\r\n{}",
        b'{"jsonrpc": "2.0", "id": 1, "method": "shutdown"}\r\n\r\n',
    ],
    ids=["long", "short", "text", "huge", "no-header"],
)
async def test_lost_framing_ends_the_server_non_zero_with_its_workers(
    raw: Raw, workspace: Path, data: bytes
) -> None:
    children = await warm_session(raw, workspace)
    # A too-long length is only known to be wrong once later bytes break the framing.
    raw.send_bytes(data + _next_message() + _next_message())
    status = await gone_with_its_processes(raw, children)
    assert status not in (0, None)
    # Nothing after the break was taken for a message.
    assert 1000 not in raw.responses


# ---- handler failures ---------------------------------------------------------------------

# A server with one more command whose handler fails the way a bug would.
FAILING_SERVER = textwrap.dedent(
    """
    from tapps_lsp import cli, setup

    build = setup.create_server

    def create_server():
        server = build()

        @server.command("robust.fail")
        def fail(ls):
            secret = {"token": "s3cr3t-value"}
            raise KeyError(f"no such entry in {len(secret)} items")

        @server.command("robust.unsendable")
        def unsendable(ls):
            return object()

        return server

    setup.create_server = create_server
    raise SystemExit(cli.main(["serve"]))
    """
)


async def test_a_failing_handler_gets_32603_without_traceback_and_is_logged(
    tmp_path: Path, workspace: Path
) -> None:
    raw = await Raw.start(tmp_path, command=[sys.executable, "-c", FAILING_SERVER])
    try:
        await raw.initialize([workspace])
        response = await raw.response(
            raw.send_request("workspace/executeCommand", {"command": "robust.fail"})
        )
        error = response["error"]
        assert error["code"] == -32603
        assert "KeyError" in error["message"] and "no such entry" in error["message"]
        # No traceback, no source lines, no locals: not in the message nor in data.
        sent = repr(error)
        for leak in ("Traceback", 'File "', "line ", "s3cr3t", "raise KeyError"):
            assert leak not in sent
        # A result that cannot be sent fails in pygls itself, which would attach a traceback.
        response = await raw.response(
            raw.send_request("workspace/executeCommand", {"command": "robust.unsendable"})
        )
        assert response["error"]["code"] == -32603 and "data" not in response["error"]
        await still_serving(raw)
        exactly_one_response_each(raw)
        assert await raw.stop() == 0
        # The whole traceback is in the server's log (window/logMessage once a client is
        # connected, stderr before), down to the failing line.
        log = "\n".join(raw.logs()) + raw.stderr
        assert "Traceback (most recent call last)" in log
        assert "line 12, in fail\nKeyError: " in log
    finally:
        await raw.kill()


# ---- $/cancelRequest --------------------------------------------------------------------


def slow_module(lines: int = 20_000) -> str:
    """A module whose review takes seconds: one enormous function."""
    body = "".join(f"    total = total + item * {i} - (item // {i + 1})\n" for i in range(lines))
    return f"def enormous(item):\n    total = 0\n{body}    return total\n"


async def test_cancel_ends_a_review_request_at_once(raw: Raw, workspace: Path) -> None:
    children = await warm_session(raw, workspace)
    slow = workspace / "slow.py"
    slow.write_text(slow_module())
    busy = {pid: cpu_ticks(pid) for pid in children}

    def working() -> bool:
        # A worker started after the baseline counts from zero.
        return any(cpu_ticks(p) > busy.get(p, 0) + 10 for p in descendants(raw.pid))

    msg_id = raw.send_request(
        "workspace/executeCommand", {"command": "tapps.reviewFile", "arguments": [slow.as_uri()]}
    )
    # Cancel once a worker is busy with the file, not before it started.
    await poll(working, 30, "the review to start")
    cancelled = time.monotonic()
    raw.notify("$/cancelRequest", {"id": msg_id})
    response = await raw.response(msg_id)
    assert response["error"]["code"] == -32800
    # The analysis alone takes several seconds; the answer does not wait for it.
    assert time.monotonic() - cancelled < 1.5
    await still_serving(raw)
    exactly_one_response_each(raw)


async def test_cancel_ends_a_held_open_workspace_diagnostic_and_its_stream(
    raw: Raw, workspace: Path
) -> None:
    for i in range(160):
        (workspace / f"m{i}.py").write_text(f"import os\nvalue_{i} = undefined_{i}\n")
    capabilities = {
        "textDocument": {"diagnostic": {}},
        "workspace": {"diagnostics": {"refreshSupport": True}},
        "window": {"workDoneProgress": True},
    }
    await raw.initialize([workspace], capabilities)
    token = "partial-1"
    msg_id = raw.send_request(
        "workspace/diagnostic", {"previousResultIds": [], "partialResultToken": token}
    )
    await raw.request(
        "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
    )

    def partials() -> list[dict[str, Any]]:
        return [
            m
            for m in raw.notifications
            if m["method"] == "$/progress" and m["params"]["token"] == token
        ]

    await raw.wait_for(partials)
    raw.notify("$/cancelRequest", {"id": msg_id})
    assert (await raw.response(msg_id))["error"]["code"] == -32800
    streamed = len(partials())
    # The scan goes on to its end (its progress token ends), but not the cancelled stream.
    await raw.notification("$/progress", lambda p: p["value"].get("kind") == "end")
    await still_serving(raw)
    assert len(partials()) == streamed
    exactly_one_response_each(raw)


async def test_a_flood_of_requests_each_gets_exactly_one_response(
    raw: Raw, workspace: Path
) -> None:
    await raw.initialize([workspace])
    ids = []
    for i in range(150):
        if i % 3 == 0:
            ids.append(raw.send_request("textDocument/hover", {"textDocument": i}))
        elif i % 3 == 1:
            ids.append(raw.send_request("no/such", {}))
        else:
            ids.append(
                raw.send_request(
                    "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
                )
            )
    await asyncio.gather(*(raw.response(i) for i in ids))
    exactly_one_response_each(raw)
