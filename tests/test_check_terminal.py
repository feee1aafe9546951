"""`tapps-lsp check` on a terminal: what it accepts, what reaches the terminal, what it logs.

Each test runs the real CLI in a subprocess; the progress bar test gives it a
pseudo-terminal, as a user's shell would.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = [sys.executable, "-m", "tapps_lsp", "check"]
TIMEOUT = 120


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TAPPS_LSP_CACHE_DIR"] = str(tmp_path / "cache")
    env.pop("TAPPS_LSP_LOG_LEVEL", None)
    env.update(extra)
    return env


def _check(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CHECK, *args],
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )


def _project(tmp_path: Path, count: int = 3) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    for i in range(count):
        (project / f"mod{i}.py").write_text(f"import os\n\n\ndef f{i}(x):\n    return x\n")
    return project


# ---- a named file that is not Python ------------------------------------------------------


def test_a_named_text_file_is_refused_unless_forced(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Remember the milk.\nimport this\n", encoding="utf-8")
    refused = _check(tmp_path, "notes.txt")
    assert refused.returncode == 2
    assert refused.stdout == b""
    assert b"notes.txt: not a Python file (expected a .py file or a folder; " in refused.stderr
    assert b"--force" in refused.stderr
    forced = _check(tmp_path, "notes.txt", "--force")
    assert forced.returncode in (0, 1), forced.stderr
    assert b"notes.txt: score " in forced.stdout


def test_a_python_script_without_suffix_is_python(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env python3\nprint('hi')\n", encoding="utf-8")
    done = _check(tmp_path, "tool")
    assert done.returncode in (0, 1), done.stderr
    assert b"tool: score " in done.stdout


# ---- terminal control sequences in file names ----------------------------------------------

HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J.py"


def test_control_sequences_in_a_file_name_are_shown_escaped(tmp_path: Path) -> None:
    project = _project(tmp_path, 1)
    (project / HOSTILE).write_text("import os\n", encoding="utf-8")
    # A FIFO cannot be read: its name reaches the log and the usage error too.
    os.mkfifo(project / ("pipe" + HOSTILE))
    done = _check(tmp_path, "project")
    assert done.returncode == 2, done.stderr
    assert b"cannot read project/pipeevil\\x1b]0;pwned\\x07\\x1b[2J.py" in done.stderr
    assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout
    assert b"evil\\x1b]0;pwned\\x07\\x1b[2J.py:1:8: F401 " in done.stdout
    assert b"\x1b" not in done.stderr and b"\x07" not in done.stderr


def _run_on_a_terminal(tmp_path: Path, *args: str, **env: str) -> tuple[int, bytes]:
    """`check ARGS` with stderr on a pseudo-terminal (the progress bar is drawn)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [*CHECK, *args],
            cwd=tmp_path,
            env=_env(tmp_path, **env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
    finally:
        os.close(slave)
    out = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    return proc.wait(timeout=TIMEOUT), bytes(out)


def test_log_lines_never_run_on_from_the_progress_bar(tmp_path: Path) -> None:
    project = _project(tmp_path, 6)
    (project / HOSTILE).write_text("x = 1\n", encoding="utf-8")
    status, out = _run_on_a_terminal(
        tmp_path, "project", "--no-cache", "--jobs", "1", TAPPS_LSP_LOG_LEVEL="info"
    )
    assert status in (0, 1), out
    text = out.decode("utf-8", "replace")
    assert "] 7/7 " in text, text  # the bar was drawn
    logged = [m.start() for m in re.finditer(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO", text)]
    assert logged, text  # "reviewed 7 of 7 files" is logged while the bar is up
    for at in logged:
        # Each log line starts on a line of its own: after a newline or a cleared line.
        assert text[:at].endswith(("\n", "\r\x1b[K")), repr(text[max(0, at - 80) : at + 40])
    # The bar's own name is escaped too: no OSC sequence reaches the terminal.
    assert "\x1b]0;" not in text and "\x07" not in text


# ---- debug logging of the engine, from the worker processes ---------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_debug_logs_each_tool_run_with_its_time(tmp_path: Path, jobs: str) -> None:
    _project(tmp_path, 3)
    done = _check(tmp_path, "project", "--no-cache", "--jobs", jobs, TAPPS_LSP_LOG_LEVEL="debug")
    assert done.returncode in (0, 1), done.stderr
    err = done.stderr.decode("utf-8", "replace")
    # ruff's command line, and how long it took ...
    assert re.search(r"DEBUG tapps_lsp\.review: running \S*ruff check ", err), err
    assert re.search(r"DEBUG tapps_lsp\.review: ruff exited \d+ after \d+\.\d{3} s", err), err
    # ... and each file's analysis, tool by tool.
    for i in range(3):
        assert re.search(rf"analysed \S*mod{i}\.py: \d+ findings \(ruff [\d.]+ s", err), err
    # Not at the default level.
    quiet = _check(tmp_path, "project", "--no-cache", "--jobs", jobs)
    assert b"DEBUG" not in quiet.stderr and b"running" not in quiet.stderr
