"""Opening any repository is safe: hostile URIs, planted modules and pathological files.

Each claim is proven by observation, not by reading the code: the kernel
(inotify) reports every open of a sentinel outside the workspace; planted
modules write a marker when anything imports or runs them.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from robustness.raw import AccessWatch, Raw, rss_kib, server_env

PUSH_AND_PROGRESS = {
    "window": {"workDoneProgress": True},
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
}
SENTINEL = "import os\nSECRET_FROM_OUTSIDE = os.environ\n"


def codes(diagnostics: list[dict[str, Any]]) -> set[str]:
    return {str(d.get("code")) for d in diagnostics}


async def scan(raw: Raw) -> None:
    """A workspace review, to its end."""
    await raw.request(
        "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
    )
    await raw.notification("$/progress", lambda p: p["value"].get("kind") == "end", timeout=120)


# ---- URIs that lead outside the workspace ---------------------------------------------------


def hostile_uris(ws: Path, outside: Path) -> list[str]:
    secret = outside / "secret.py"
    base = ws.as_uri()
    return [
        f"{base}/../outside/secret.py",
        f"{base}/sub/../../outside/secret.py",
        f"{base}/%2e%2e/outside/secret.py",
        f"{base}/%2E%2E%2Foutside%2Fsecret.py",
        (ws / "link.py").as_uri(),
        (ws / "linkdir" / "secret.py").as_uri(),
        secret.as_uri(),
        f"file://localhost{secret}",
        f"file://fileserver/share{secret}",
        f"file:///{secret}",
        f"file:////fileserver/share{secret}",
        f"file://{secret}",
        f"{base}/x%00/../../outside/secret.py",
    ]


async def test_uris_outside_the_workspace_are_never_read(tmp_path: Path, workspace: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(SENTINEL)
    (workspace / "sub").mkdir()
    (workspace / "inside.py").write_text("import os\n")
    (workspace / "link.py").symlink_to(outside / "secret.py")
    (workspace / "linkdir").symlink_to(outside, target_is_directory=True)
    raw = await Raw.start(tmp_path)
    capabilities = {**PUSH_AND_PROGRESS, "textDocument": {"diagnostic": {}}}
    await raw.initialize([workspace], capabilities)
    watch = AccessWatch(outside, outside / "secret.py")
    try:
        for uri in hostile_uris(workspace, outside):
            review = await raw.response(
                raw.send_request(
                    "workspace/executeCommand", {"command": "tapps.reviewFile", "arguments": [uri]}
                )
            )
            assert review.get("error", {}).get("code") == -32602, (uri, review)
            document = {"textDocument": {"uri": uri}}
            at = {**document, "position": {"line": 0, "character": 0}}
            whole = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
            pulled = await raw.request("textDocument/diagnostic", document)
            assert pulled["items"] == [], uri
            assert await raw.request("textDocument/hover", at) is None
            assert not await raw.request("textDocument/codeLens", document)
            actions = {**document, "range": whole, "context": {"diagnostics": []}}
            assert not await raw.request("textDocument/codeAction", actions)
            folder = await raw.response(
                raw.send_request(
                    "workspace/executeCommand",
                    {"command": "tapps.reviewWorkspace", "arguments": [{"folder": uri}]},
                )
            )
            assert folder["error"]["code"] == -32602
            raw.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": uri, "type": 2}]})
        # The workspace's own review does not follow the links out either.
        await scan(raw)
        inside = (workspace / "inside.py").as_uri()
        assert "F401" in codes(await raw.diagnostics_of(inside))
        await raw.request(
            "workspace/executeCommand", {"command": "tapps.reviewFile", "arguments": [inside]}
        )
        assert await raw.stop() == 0
        assert watch.events() == []
        published = {m["params"]["uri"] for m in raw.notifications if "uri" in m.get("params", {})}
        assert not any("secret" in uri or "link" in uri for uri in published)
    finally:
        watch.close()
        await raw.kill()


# ---- a workspace that plants modules and tools named like ours -------------------------------

PLANTED_MODULES = [
    "bandit",
    "radon",
    "ruff",
    "yaml",
    "xxhash",
    "diskcache",
    "pathspec",
    "platformdirs",
    "lsprotocol",
    "pygls",
    "mypy",
    "ast",
    "json",
    "tokenize",
    # What a multiprocessing helper process would import first (`python -c 'from
    # multiprocessing...'`), in the cwd; tests/security/test_code_execution.py has more.
    "multiprocessing",
]


def plant(workspace: Path, markers: Path) -> None:
    """Modules, a package and executables that leave a marker when imported or run."""
    for i, name in enumerate(PLANTED_MODULES):
        code = f"open({str(markers / name)!r}, 'w').close()\n"
        if i % 2:
            (workspace / name).mkdir()
            (workspace / name / "__init__.py").write_text(code)
            (workspace / name / "__main__.py").write_text(code)
        else:
            (workspace / f"{name}.py").write_text(code)
    for tool in ("ruff", "python", "python3", "mypy", "bandit", "radon"):
        script = workspace / "bin" / tool
        script.parent.mkdir(exist_ok=True)
        script.write_text(f"#!/bin/sh\ntouch {markers / ('exec-' + tool)}\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (workspace / "ruff.toml").write_text('[lint]\nignore = ["F401"]\n')
    (workspace / ".bandit").write_text("[bandit]\nskips = B602\n")


async def test_a_workspace_of_planted_tools_changes_nothing_that_runs(
    tmp_path: Path, workspace: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    plant(workspace, markers)
    source = "import os\nimport subprocess\nsubprocess.call('ls', shell=True)\n"
    (workspace / "app.py").write_text(source)
    # The worst start an editor can make: `python -m tapps_lsp` from the workspace folder
    # (what Neovim does by default), with the workspace's bin/ first on PATH.
    env = server_env(tmp_path / "cache")
    env.pop("PYTHONSAFEPATH", None)
    env["PATH"] = f"{workspace / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    raw = await Raw.start(tmp_path, cwd=workspace, env=env)
    try:
        await raw.initialize([workspace], PUSH_AND_PROGRESS)
        uri = (workspace / "app.py").as_uri()
        await raw.open(uri, source)
        found = codes(await raw.diagnostics_of(uri))
        # The real ruff with our settings only (F401, and S602 of the default security engine).
        assert {"F401", "S602"} <= found, found
        await scan(raw)
        assert await raw.stop() == 0
    finally:
        await raw.kill()
    assert sorted(os.listdir(markers)) == []


# ---- pathological files -------------------------------------------------------------------


def ten_thousand_line_function() -> str:
    body = "".join(
        f"    value = value * 3 + {i} if value < {i} else value - {i}\n" for i in range(10_000)
    )
    return f"def enormous(value):\n{body}    return value\n"


PATHOLOGICAL = {
    # name: (text, a code each must produce, seconds allowed for it)
    "fifty-megabytes": ("x = 1\n" * (50 * 1024 * 1024 // 6), "TAPPS-SKIP", 60),
    "nul-bytes": ("import os\x00\x00\nprint(1)\n", "TAPPS-SKIP", 20),
    "lone-surrogate": ("name = '\ud800'\n", "TAPPS-SKIP", 20),
    # About 1 s of CPU with bandit, five times the budget the test sets: not scored.
    "ten-thousand-line-function": (ten_thousand_line_function(), "TAPPS-BUDGET", 60),
    # Deep enough that Python's parser gives up (RecursionError/MemoryError inside ast.parse).
    "parser-recursion": ("x = " + "+".join(["1"] * 100_000) + "\n", "TAPPS-SYNTAX", 30),
    "unary-recursion": ("x = " + "-" * 100_000 + "1\n", "TAPPS-SYNTAX", 30),
    # Parsed fine, but deep enough that radon's and bandit's visitors recurse too far.
    "visitor-recursion": ("import os\nx = " + "+".join(["1"] * 1000) + "\n", "F401", 30),
    "nested-brackets": ("x = " + "[" * 500 + "]" * 500 + "\n", "TAPPS-SYNTAX", 30),
    # One undefined name per operand: 10,000 findings, of which the editor gets 1,000.
    "ten-thousand-findings": ("x = " + " and ".join(["a"] * 10_000) + "\n", "TAPPS-MORE", 30),
}


async def test_pathological_documents_get_a_clear_result_in_bounded_time_and_memory(
    tmp_path: Path, workspace: Path
) -> None:
    raw = await Raw.start(tmp_path)
    try:
        # Bandit, whose visitor recurses (the ruff engine's security step does not).
        settings = {"securityEngine": "bandit", "fileBudget": 0.2}
        await raw.initialize([workspace], PUSH_AND_PROGRESS, settings)
        for name, (text, code, seconds) in PATHOLOGICAL.items():
            uri = (workspace / f"{name}.py").as_uri()
            started = time.monotonic()
            await raw.open(uri, text)
            diagnostics = await raw.diagnostics_of(uri, timeout=seconds)
            took = time.monotonic() - started
            assert code in codes(diagnostics), (name, diagnostics[:3])
            # At most 1,000 findings per file, and the quality gate.
            assert len(diagnostics) <= 1001, (name, len(diagnostics))
            assert took < seconds, (name, took)
            raw.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        skipped = {
            name: d["message"]
            for name in ("fifty-megabytes", "nul-bytes", "lone-surrogate")
            for d in await raw.diagnostics_of((workspace / f"{name}.py").as_uri())
        }
        assert "over the size limit" in skipped["fifty-megabytes"]
        assert "binary" in skipped["nul-bytes"]
        assert "not valid UTF-8" in skipped["lone-surrogate"]
        # What did not run on the deep expression is said, naming the tool and the file:
        # bandit's recursive visitor gives up; our metrics walk the tree without recursion.
        deep = [m for m in raw.logs() if "visitor-recursion.py" in m]
        assert any("bandit" in m for m in deep), deep
        assert not any("metrics" in m for m in deep), deep
        # A 50 MB message costs a few copies of itself, no more.
        assert rss_kib(raw.pid, "VmHWM") < 900 * 1024
        assert await raw.stop() == 0
    finally:
        await raw.kill()


async def test_pathological_files_on_disk_are_skipped_unread_or_flagged(
    tmp_path: Path, workspace: Path
) -> None:
    with open(workspace / "huge.py", "wb") as f:
        f.truncate(50 * 1024 * 1024)
    (workspace / "binary.py").write_bytes(bytes(range(256)) * 64)
    (workspace / "latin1.py").write_bytes(b"name = '\xe9t\xe9'\n")
    (workspace / "fifo.py").unlink(missing_ok=True)
    os.mkfifo(workspace / "fifo.py")
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], PUSH_AND_PROGRESS)
        await scan(raw)
        messages = {
            name: " ".join(d["message"] for d in await raw.diagnostics_of(uri))
            for name in ("huge", "binary", "latin1")
            for uri in [(workspace / f"{name}.py").as_uri()]
        }
        assert "over the size limit" in messages["huge"]
        assert "binary" in messages["binary"] or "UTF-8" in messages["binary"]
        assert "not valid UTF-8" in messages["latin1"]
        review = await raw.request(
            "workspace/executeCommand",
            {"command": "tapps.reviewFile", "arguments": [(workspace / "huge.py").as_uri()]},
        )
        assert "over the size limit" in str(review)
        assert rss_kib(raw.pid, "VmHWM") < 900 * 1024
        assert await raw.stop() == 0
    finally:
        await raw.kill()


@pytest.mark.skipif(sys.platform != "linux", reason="inotify and /proc")
def test_the_access_watch_sees_a_read() -> None:
    """The proof above is only as good as the watch: it must see an ordinary read."""
    target = Path(__file__)
    watch = AccessWatch(target)
    try:
        target.read_bytes()
        assert any(e.startswith("open ") for e in watch.events())
    finally:
        watch.close()
