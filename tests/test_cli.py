"""`tapps-lsp` on the command line, on a copy of the bundled sample project."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import jsonschema
import pytest

from tapps_lsp import __version__
from tapps_lsp.cli import main

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "sample-project"
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("TAPPS_LSP_CACHE_DIR", str(directory))
    monkeypatch.setenv("TAPPS_LSP_LOG_LEVEL", "warning")
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "sample-project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".*_cache"))
    return root


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_sample_project_fails_the_gate_with_the_planted_problems(
    project: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = check_json(capsys, str(project))
    assert code == 1
    assert set(report) == {"schemaVersion", "tool", "summary", "files"}
    assert report["tool"]["name"] == "tapps-lsp" and report["tool"]["version"] == __version__
    summary = report["summary"]
    rel = {Path(f["path"]).relative_to(project).as_posix(): f for f in report["files"]}
    assert sorted(rel) == [
        "inventory/__init__.py",
        "inventory/cli.py",
        "inventory/models.py",
        "inventory/pricing.py",
        "inventory/reports.py",
        "inventory/storage.py",
        "tests/test_pricing.py",
        "tests/test_reports.py",
    ]
    assert summary["files"] == 8 and summary["fromCache"] == 0
    assert summary["failingGate"] == sum(not f["passed"] for f in rel.values()) >= 2

    def found(name: str) -> set[str]:
        return {x["code"] for x in rel[name]["findings"]}

    assert {"F401", "F821"} <= found("inventory/cli.py")  # unused imports, undefined name
    assert {"B602", "B105"} <= found("inventory/storage.py")  # shell=True, password
    assert {"TAPPS-CC", "TAPPS-PERF-NEST"} <= found("inventory/reports.py")
    assert not rel["inventory/storage.py"]["passed"]
    # The clean module passes the gate with nothing to say.
    clean = rel["inventory/pricing.py"]
    assert clean["passed"] and clean["findings"] == []
    first = rel["inventory/cli.py"]
    assert set(first) >= {"path", "overall", "passed", "scores", "findings", "metrics"}


def test_second_run_is_served_from_the_cache(
    project: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, cold = check_json(capsys, str(project))
    code, warm = check_json(capsys, str(project))
    assert code == 1
    assert warm["summary"]["fromCache"] == warm["summary"]["files"] == 8
    assert [f["fromCache"] for f in warm["files"]] == [True] * 8
    strip = [{**f, "fromCache": None} for f in cold["files"]]
    assert [{**f, "fromCache": None} for f in warm["files"]] == strip
    assert (cache_dir / "results").is_dir()


def test_no_cache_neither_reads_nor_writes(
    project: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check_json(capsys, "--no-cache", str(project))
    _, again = check_json(capsys, "--no-cache", str(project))
    assert again["summary"]["fromCache"] == 0
    assert not cache_dir.exists()


def test_text_output(project: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--jobs", "1", str(project / "inventory")])
    out, err = capsys.readouterr()
    assert code == 1
    cli = project / "inventory" / "cli.py"
    assert f"{cli}:24:9: F821 Undefined name `logger`" in out.splitlines()
    assert f"{cli}: score " in out
    assert "6 files (0 from cache, 0 skipped)" in out and "failing the gate" in out
    assert "findings:" in out
    assert "\r" not in err  # no progress bar when stderr is not a terminal
    main(["check", "--jobs", "1", str(project / "inventory" / "pricing.py")])
    assert re.search(r"^1 file \(\d+ from cache, 0 skipped\)", capsys.readouterr().out, re.M)


def test_clean_module_exits_zero(
    project: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(project / "inventory" / "pricing.py")]) == 0
    assert "passes the gate" in capsys.readouterr().out


def test_report_to_a_file(
    project: Path, cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.sarif"
    assert main(["check", "--format", "sarif", "--output", str(target), str(project)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "8 files" in err
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(target.read_text()))


def test_exclude_flag(project: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = check_json(capsys, "--exclude", "tests/", "--exclude", "cli.py", str(project))
    names = {Path(f["path"]).name for f in report["files"]}
    assert names == {"__init__.py", "models.py", "pricing.py", "reports.py", "storage.py"}


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "--format", "pdf", "x.py"],
        ["check", "--jobs", "many", "x.py"],
        ["serve", "--tcp", "nowhere"],
        ["cache"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_missing_path_exits_2(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nope.py")]) == 2
    assert "nope.py: no such file or folder" in capsys.readouterr().err


def test_unreadable_file_exits_2(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "fine.py").write_text("VALUE = 1\n")
    os.mkfifo(root / "pipe.py")
    assert main(["check", str(root)]) == 2
    out, err = capsys.readouterr()
    assert "pipe.py: skipped: cannot be read" in out
    assert "cannot read" in err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert all(word in text for word in ("serve", "check", "cache", "TAPPS_LSP_CACHE_DIR"))
    assert main(["check", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--format", "--output", "--no-cache", "--jobs", "--exclude"):
        assert option in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith(f"tapps-lsp {__version__} (ruff ")


def test_cache_commands(project: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--format", "json", str(project / "inventory" / "models.py")])
    capsys.readouterr()
    assert main(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(cache_dir)
    assert main(["cache", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["disk"]["entries"] == 1
    assert main(["cache", "clear"]) == 0
    assert "Removed 1 cached result" in capsys.readouterr().out


def test_console_entry_point(project: Path, cache_dir: Path) -> None:
    """The real process: stdout carries only the report, logs go to stderr."""
    env = {**os.environ, "TAPPS_LSP_LOG_LEVEL": "debug"}
    done = subprocess.run(
        [sys.executable, "-m", "tapps_lsp", "check", "--format", "json", str(project)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["summary"]["files"] == 8
    assert "DEBUG" in done.stderr or "INFO" in done.stderr


class _Rpc:
    """Just enough JSON-RPC framing to say hello and goodbye to the server."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes]) -> None:
        self.reader, self.writer = reader, writer

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.writer.flush()

    def answer(self, request_id: int) -> dict[str, Any]:
        while True:
            headers = {}
            while line := self.reader.readline().strip():
                key, _, value = line.partition(b":")
                headers[key.lower()] = value.strip()
            message = json.loads(self.reader.read(int(headers[b"content-length"])))
            if message.get("id") == request_id and "method" not in message:
                answer: dict[str, Any] = message
                return answer

    def handshake(self) -> dict[str, Any]:
        params: dict[str, Any] = {"processId": None, "rootUri": None, "capabilities": {}}
        self.send({"id": 1, "method": "initialize", "params": params})
        info: dict[str, Any] = self.answer(1)["result"]["serverInfo"]
        self.send({"method": "initialized", "params": {}})
        self.send({"id": 2, "method": "shutdown"})
        self.answer(2)
        self.send({"method": "exit"})
        return info


@pytest.mark.parametrize("transport", ["stdio", "tcp"])
def test_serve(transport: str, cache_dir: Path) -> None:
    import socket

    command = [sys.executable, "-m", "tapps_lsp"]
    if transport == "tcp":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command += ["serve", "--tcp", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        if transport == "stdio":
            assert server.stdout is not None and server.stdin is not None
            info = _Rpc(server.stdout, server.stdin).handshake()
        else:
            deadline = time.monotonic() + 30
            while True:
                try:
                    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.05)  # the server is still importing; retry the connect
            with conn, conn.makefile("rb") as reader, conn.makefile("wb") as writer:
                info = _Rpc(reader, writer).handshake()
        assert info == {"name": "tapps-lsp", "version": __version__}
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_progress_bar_on_a_terminal(project: Path, cache_dir: Path) -> None:
    import pty

    master, slave = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tapps_lsp", "check", "--format", "json", str(project)],
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=120,
            check=False,
        )
        os.close(slave)
        slave = -1
        screen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal has no writer left
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(master)
        if slave != -1:
            os.close(slave)
    assert done.returncode == 1
    assert b"] 8/8 " in screen and b"\r" in screen
    assert json.loads(done.stdout)["summary"]["files"] == 8  # stdout has the report alone


def test_every_format_from_the_command_line(
    project: Path, cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heads = {
        "text": "",
        "json": "{",
        "sarif": "{",
        "markdown": "# tapps-lsp review",
        "html": "<!DOCTYPE html>",
    }
    for fmt, head in heads.items():
        target = tmp_path / f"report.{fmt}"
        assert main(["check", "--format", fmt, "--output", str(target), str(project)]) == 1
        text = target.read_text(encoding="utf-8")
        assert text.startswith(head) and "storage.py" in text
    assert capsys.readouterr().out == ""
