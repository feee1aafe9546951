"""`tapps-lsp check` judges each file by its own project root, reads measured coverage,
and reviews test files as tests (issue 15 items 1, 2 and 4).

Run in-process through `tapps_lsp.cli.main`, with the real engine and worker
processes, on projects built in tmp_path and on examples/src-layout-project.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "src-layout-project"

PYPROJECT = """\
[project]
name = "pkg"

[tool.tapps-lsp]
qualityThreshold = 95
lintSelect = ["E", "F", "W", "B"]
"""
MODULE = '''\
"""A module with a mutable default (B006, selected by the project's settings)."""


def collect(item, into=[]):
    into.append(item)
    return into
'''
COBERTURA = """\
<coverage><sources><source>src</source></sources><packages><package><classes>
<class filename="pkg/mod.py"><lines><line number="4" hits="1"/><line number="5" hits="0"/>
</lines></class></classes></package></packages></coverage>
"""
TEST_FILE = "def test_it():\n    value = 1\n    assert value == 1\n"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("TAPPS_LSP_CACHE_DIR", str(directory))
    monkeypatch.setenv("TAPPS_LSP_LOG_LEVEL", "warning")
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "mod.py").write_text(MODULE)
    (root / "coverage.xml").write_text(COBERTURA)
    (root / "tests" / "test_mod.py").write_text(TEST_FILE)
    return root


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--format", "json", "--no-cache", *args])
    return code, json.loads(capsys.readouterr().out)


def entry(report: dict[str, Any], path: str) -> dict[str, Any]:
    found = [f for f in report["files"] if f["path"] == path]
    assert len(found) == 1, [f["path"] for f in report["files"]]
    first: dict[str, Any] = found[0]
    return first


def test_the_same_file_gets_the_same_result_whatever_the_folder_named(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    mod = "src/pkg/mod.py"
    results = {}
    for args in (["."], ["src"], ["src/"], ["src/pkg"], [mod]):
        code, report = check(capsys, *args)
        assert code == 1, args  # the project's threshold of 95
        results[" ".join(args)] = json.dumps(entry(report, mod), sort_keys=True)
    assert len(set(results.values())) == 1, results
    mine = json.loads(results["."])
    assert mine["threshold"] == 95  # the project's settings, not the defaults
    assert "B006" in {f["code"] for f in mine["findings"]}  # the project's lint selection
    assert mine["scores"]["test_coverage"] == 5.0  # coverage.xml at the project root
    assert mine["notMeasured"] == {}


def test_from_outside_the_project_too(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.parent)
    _, whole = check(capsys, "proj")
    _, src = check(capsys, "proj/src")
    first, second = entry(whole, "proj/src/pkg/mod.py"), entry(src, "proj/src/pkg/mod.py")
    assert first == second and first["threshold"] == 95


def test_a_folder_and_a_file_in_it_review_the_file_once(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    _, report = check(capsys, "src", "src/pkg/mod.py", "./src/pkg/mod.py")
    assert [f["path"] for f in report["files"]] == ["src/pkg/__init__.py", "src/pkg/mod.py"]
    assert report["summary"]["files"] == 2


def test_a_nested_project_has_its_own_settings_and_coverage(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = project / "tools" / "helper"
    inner.mkdir(parents=True)
    (inner / "setup.cfg").write_text("[metadata]\nname = helper\n")
    (inner / "helper.py").write_text(MODULE)
    monkeypatch.chdir(project)
    _, report = check(capsys, ".")
    nested = entry(report, "tools/helper/helper.py")
    assert nested["threshold"] == 70  # defaults: its own root has no [tool.tapps-lsp]
    assert "B006" not in {f["code"] for f in nested["findings"]}
    assert "test_coverage" in nested["notMeasured"]  # no coverage data at its root
    assert entry(report, "src/pkg/mod.py")["threshold"] == 95


def test_test_files_are_reviewed_as_tests(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same content in a test file and in a module: one cached result, two reviews.
    (project / "src" / "pkg" / "checks.py").write_text(TEST_FILE)
    (project / "conftest.py").write_text(TEST_FILE)
    monkeypatch.chdir(project)
    for _ in range(2):  # the second run from the cache: nothing leaks through it
        code = main(["check", "--format", "json", "."])
        report = json.loads(capsys.readouterr().out)
        assert code == 1
        for path in ("tests/test_mod.py", "conftest.py"):
            test = entry(report, path)
            assert "S101" not in {f["code"] for f in test["findings"]}
            assert "test_coverage" not in test["scores"]
            assert test["notMeasured"]["test_coverage"].startswith("a test file")
        module = entry(report, "src/pkg/checks.py")
        assert "S101" in {f["code"] for f in module["findings"]}
        assert module["scores"]["test_coverage"] == 0.0  # coverage.xml does not list it


def test_test_patterns_setting(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "src" / "pkg" / "mod_spec.py").write_text(TEST_FILE)
    (project / "pyproject.toml").write_text(PYPROJECT + 'testPatterns = ["*_spec.py"]\n')
    monkeypatch.chdir(project)
    _, report = check(capsys, ".")
    spec = entry(report, "src/pkg/mod_spec.py")
    assert "S101" not in {f["code"] for f in spec["findings"]}
    assert "test_coverage" not in spec["scores"]


def test_without_data_coverage_is_not_measured_and_said_once(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "coverage.xml").unlink()
    (project / "src" / "pkg" / "other.py").write_text('"""Other."""\n')
    monkeypatch.chdir(project)
    main(["check", "--no-cache", "."])
    out = capsys.readouterr().out
    about = [line for line in out.splitlines() if "not measured" in line]
    assert about == [
        "test_coverage not measured in 3 files: no coverage data (coverage.xml, .coverage or "
        "lcov.info); run `pytest --cov --cov-report=xml` in the project to measure it",
        "test_coverage not measured in 1 file: a test file is not scored on its own coverage",
    ]
    _, report = check(capsys, ".")
    mod = entry(report, "src/pkg/mod.py")
    assert "test_coverage" not in mod["scores"]
    # The heuristic, when asked for: no test_mod.py beside... a tests/test_mod.py exists.
    (project / "pyproject.toml").write_text(PYPROJECT + "coverageHeuristic = true\n")
    _, guessed = check(capsys, ".")
    assert entry(guessed, "src/pkg/mod.py")["scores"]["test_coverage"] == 5.0
    assert entry(guessed, "src/pkg/other.py")["scores"]["test_coverage"] == 0.0


def test_new_coverage_data_is_read_by_the_next_run_from_the_cache(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    main(["check", "--format", "json", "src"])
    first = entry(json.loads(capsys.readouterr().out), "src/pkg/mod.py")
    assert first["scores"]["test_coverage"] == 5.0
    (project / "coverage.xml").write_text(COBERTURA.replace('hits="0"', 'hits="2"'))
    later = time.time_ns() + 10**9
    os.utime(project / "coverage.xml", ns=(later, later))
    main(["check", "--format", "json", "src"])
    second = entry(json.loads(capsys.readouterr().out), "src/pkg/mod.py")
    assert second["fromCache"] and second["scores"]["test_coverage"] == 10.0


@pytest.mark.parametrize("named", ["", "src", "src/vectors/stats.py"])
def test_the_example_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", ".*_cache"))
    monkeypatch.chdir(copy)
    _, report = check(capsys, named or ".")
    stats = entry(report, "src/vectors/stats.py")
    # 14 of its 22 statements ran under its tests (coverage.xml, made by `pytest --cov`).
    assert stats["scores"]["test_coverage"] == pytest.approx(6.36, abs=0.01)
    assert "B006" in {f["code"] for f in stats["findings"]}  # its own lintSelect
    if not named:
        for test in ("tests/test_ops.py", "tests/test_stats.py", "tests/conftest.py"):
            assert "S101" not in {f["code"] for f in entry(report, test)["findings"]}
            assert "test_coverage" not in entry(report, test)["scores"]


def test_the_examples_dot_coverage_agrees_with_its_coverage_xml(tmp_path: Path) -> None:
    from tapps_lsp.review import coverage as cov

    xml = cov.read_report(EXAMPLE, EXAMPLE, EXAMPLE / "coverage.xml")
    data = cov.read_report(EXAMPLE, EXAMPLE, EXAMPLE / ".coverage")
    for module in ("src/vectors/__init__.py", "src/vectors/stats.py"):
        assert data.rate_for(module) == pytest.approx(xml.rate_for(module))
    # ops.py uses Python 3.12 syntax: on an older Python its statements cannot be counted.
    assert xml.rate_for("src/vectors/ops.py") == 1.0
