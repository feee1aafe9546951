"""`tapps-lsp check`: errors fail the gate, and the project's Python decides the syntax.

Issue 15 items 3 and 5 through the command line, on small projects in tmp_path.
The server side is tests/e2e/test_gate_and_target.py.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.cli import main

SERVER = f"{sys.version_info[0]}.{sys.version_info[1]}"
CLEAN = "def add(a, b):\n    return a + b\n"
UNDEFINED = "def add(a, b):\n    return a + c\n"
MATCH = "def kind(x):\n    match x:\n        case 1:\n            return 'one'\n    return 'many'\n"
NEWER = "type Vec = list[float]\n\n\ndef first[T](xs: list[T]) -> T:\n    return xs[0]\n"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("TAPPS_LSP_CACHE_DIR", str(directory))
    monkeypatch.setenv("TAPPS_LSP_LOG_LEVEL", "warning")
    return directory


def make_project(root: Path, pyproject: str, files: dict[str, str]) -> Path:
    """A project whose structure and devex score well, with `files` in `src/pkg/`."""
    for folder in ("src/pkg", "tests", "docs", ".vscode", ".git"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("# demo\n")
    (root / "AGENTS.md").write_text("# agents\n")
    (root / "requirements.txt").write_text("\n")
    (root / ".pre-commit-config.yaml").write_text("repos: []\n")
    (root / "pyproject.toml").write_text(textwrap.dedent(pyproject) + "\n[tool.ruff]\n")
    for name, text in files.items():
        (root / "src" / "pkg" / name).write_text(text)
    return root


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    code = main(["check", "--format", "json", *args])
    report = json.loads(capsys.readouterr().out)
    return code, {Path(f["path"]).name: f for f in report["files"]}


def codes(entry: dict[str, Any]) -> list[str]:
    return [f["code"] for f in entry["findings"]]


def gate_message(entry: dict[str, Any]) -> str:
    message: str = next(f["message"] for f in entry["findings"] if f["code"] == "TAPPS-GATE")
    return message


def test_an_undefined_name_fails_the_gate_and_is_named_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(
        tmp_path / "p", '[project]\nname = "p"\n', {"ok.py": CLEAN, "bad.py": UNDEFINED}
    )
    code, files = check(capsys, str(root))
    assert code == 1
    assert files["ok.py"]["passed"]
    bad = files["bad.py"]
    assert not bad["passed"] and bad["overall"] >= 70
    assert gate_message(bad).startswith("Quality gate failed: F821 on line 2: Undefined name `c`;")


def test_gate_on_errors_off_lets_the_scores_decide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(
        tmp_path / "p",
        '[project]\nname = "p"\n[tool.tapps-lsp]\ngateOnErrors = false\n',
        {"bad.py": UNDEFINED},
    )
    code, files = check(capsys, str(root))
    assert code == 0 and files["bad.py"]["passed"]
    assert "F821" in codes(files["bad.py"]) and "TAPPS-GATE" not in codes(files["bad.py"])


def test_requires_python_makes_newer_syntax_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(
        tmp_path / "p", '[project]\nname = "p"\nrequires-python = ">=3.9"\n', {"m.py": MATCH}
    )
    code, files = check(capsys, str(root / "src"))  # the project root is found above
    assert code == 1
    entry = files["m.py"]
    assert "invalid-syntax" in codes(entry)
    assert "on Python 3.9" in gate_message(entry)
    # ruff's own target-version wins over requires-python, as in ruff.
    (root / "ruff.toml").write_text('target-version = "py310"\n')
    code, files = check(capsys, str(root))
    assert code == 0 and files["m.py"]["passed"]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs a server Python older than 3.12")
def test_syntax_newer_than_the_server_is_not_measured_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(
        tmp_path / "p", '[project]\nname = "p"\nrequires-python = ">=3.12"\n', {"v.py": NEWER}
    )
    code, files = check(capsys, str(root))
    assert code == 0
    entry = files["v.py"]
    assert entry["passed"]
    assert "TAPPS-SYNTAX" not in codes(entry) and codes(entry).count("TAPPS-PYTHON") == 1
    why = f"needs Python 3.12; the server runs {SERVER}"
    for category in ("complexity", "maintainability", "security", "performance"):
        assert category not in entry["scores"]
        assert entry["notMeasured"][category] == why
    assert entry["metrics"]["needs_python"] == "3.12"


def test_ruffs_per_file_target_version_is_honoured_as_in_attrs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # attrs 26.1.0 requires 3.9 and gives its pattern-matching tests 3.10 this way.
    root = make_project(
        tmp_path / "p",
        '[project]\nname = "p"\nrequires-python = ">=3.9"\n'
        '[tool.ruff.per-file-target-version]\n"tests/test_pattern_matching.py" = "py310"\n',
        {"m.py": MATCH},
    )
    (root / "tests" / "test_pattern_matching.py").write_text(MATCH)
    code, files = check(capsys, str(root))
    assert code == 1
    assert files["test_pattern_matching.py"]["passed"]
    assert "invalid-syntax" not in codes(files["test_pattern_matching.py"])
    assert not files["m.py"]["passed"] and "invalid-syntax" in codes(files["m.py"])
