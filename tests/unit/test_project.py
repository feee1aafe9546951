"""ProjectContext: coverage data, test files, structure and devex of a project root;
project_root and is_test_file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapps_lsp.review.model import ProjectInfo
from tapps_lsp.review.project import (
    CoverageOptions,
    ProjectContext,
    is_test_file,
    project_root,
)

HEURISTIC = CoverageOptions(heuristic=True)

COBERTURA = """<?xml version="1.0" ?>
<coverage version="7.6" line-rate="0.5">
  <sources><source>{source}</source></sources>
  <packages><package name="pkg"><classes>
    <class name="mod.py" filename="pkg/mod.py" line-rate="0.75">
      <lines><line number="1" hits="1"/><line number="2" hits="3"/>
             <line number="3" hits="0"/><line number="4" hits="1"/></lines>
    </class>
    <class name="empty.py" filename="pkg/empty.py" line-rate="1"><lines/></class>
  </classes></package></packages>
</coverage>
"""


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")


def test_no_workspace() -> None:
    assert ProjectContext(None).info_for("/x/a.py") == ProjectInfo()


def test_empty_workspace(tmp_path: Path) -> None:
    info = ProjectContext(tmp_path).info_for(tmp_path / "a.py")
    assert info == ProjectInfo()


def test_structure_points(tmp_path: Path) -> None:
    # 2.5 pyproject + 2 README + 2 tests/ = 6.5 -> x2 = 13 -> capped at 10
    make(tmp_path, "pyproject.toml", "README.md", "tests/")
    assert ProjectContext(tmp_path).structure == 10.0


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["README.rst"], 4.0),
        ([".git/", "requirements-dev.txt"], 5.0),
        (["setup.py", "uv.lock"], 8.0),
        (["package.json", ".git/"], 7.0),
    ],
)
def test_structure(tmp_path: Path, names: list[str], expected: float) -> None:
    make(tmp_path, *names)
    assert ProjectContext(tmp_path).structure == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"AGENTS.md": ""}, 6.0),
        ({"docs/x.md": ""}, 4.0),
        ({".vscode/settings.json": ""}, 4.0),
        ({"pyproject.toml": "[tool.ruff]\nline-length = 100\n"}, 3.0),
        ({"pyproject.toml": "[project]\nname = 'x'\n"}, 0.0),
        ({".github/workflows/ci.yml": ""}, 3.0),
        ({".pre-commit-config.yaml": "", "mypy.ini": ""}, 6.0),
        ({"CLAUDE.md": "", "docs/a": "", ".tapps-agents/c.yaml": ""}, 10.0),  # 14 -> 10
    ],
)
def test_devex(tmp_path: Path, files: dict[str, str], expected: float) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert ProjectContext(tmp_path).devex == expected


def test_test_files_are_found_outside_tool_folders(tmp_path: Path) -> None:
    # Tapps's guess, only with the coverageHeuristic setting.
    make(tmp_path, "tests/unit/test_engine.py", ".venv/lib/test_vendored.py")
    make(tmp_path, "node_modules/test_x.py")
    ctx = ProjectContext(tmp_path, options=HEURISTIC)
    assert ctx.info_for(tmp_path / "src" / "engine.py").has_test_file
    assert not ctx.info_for(tmp_path / "vendored.py").has_test_file
    assert not ctx.info_for(tmp_path / "x.py").has_test_file


def test_symlinked_folders_are_not_walked(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make(outside, "test_secret.py")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    assert ProjectContext(root, options=HEURISTIC).test_stems == frozenset()


def test_no_walk_for_test_files_without_the_heuristic(tmp_path: Path) -> None:
    make(tmp_path, "tests/test_engine.py")
    ctx = ProjectContext(tmp_path)
    assert ctx.test_stems == frozenset()
    info = ctx.info_for(tmp_path / "engine.py")
    assert not info.has_test_file and not info.coverage_heuristic


@pytest.mark.parametrize("absolute_source", [True, False])
def test_coverage_report(tmp_path: Path, absolute_source: bool) -> None:
    source = str(tmp_path) if absolute_source else "."
    (tmp_path / "coverage.xml").write_text(COBERTURA.format(source=source))
    ctx = ProjectContext(tmp_path)
    mod = ctx.info_for(tmp_path / "pkg" / "mod.py")
    assert mod.has_coverage_report
    assert mod.coverage_line_rate == 0.75  # 3 of 4 lines hit
    assert ctx.info_for("pkg/mod.py").coverage_line_rate == 0.75  # relative paths too
    assert ctx.info_for(tmp_path / "pkg" / "empty.py").coverage_line_rate == 1.0
    absent = ctx.info_for(tmp_path / "pkg" / "other.py")
    assert absent.has_coverage_report and absent.coverage_line_rate is None


def test_paths_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "coverage.xml").write_text(COBERTURA.format(source="."))
    monkeypatch.chdir(tmp_path)
    ctx = ProjectContext(Path("proj"))
    assert ctx.info_for(Path("proj/pkg/mod.py")).coverage_line_rate == 0.75


def test_coverage_relative_to_a_source_folder(tmp_path: Path) -> None:
    (tmp_path / "coverage.xml").write_text(COBERTURA.format(source=tmp_path / "src"))
    ctx = ProjectContext(tmp_path)
    assert ctx.info_for(tmp_path / "src" / "pkg" / "mod.py").coverage_line_rate == 0.75


def test_a_broken_coverage_report_counts_as_none(tmp_path: Path) -> None:
    (tmp_path / "coverage.xml").write_text("<coverage><unclosed")
    info = ProjectContext(tmp_path).info_for(tmp_path / "a.py")
    assert not info.has_coverage_report
    assert info.coverage_problem.startswith("coverage.xml: not valid XML")


# ---- project roots ------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.cfg", "setup.py", ".git/"])
def test_the_project_root_is_the_nearest_marked_folder(tmp_path: Path, marker: str) -> None:
    make(tmp_path, "pyproject.toml", f"sub/{marker}", "sub/src/pkg/mod.py")
    mod = tmp_path / "sub" / "src" / "pkg" / "mod.py"
    assert project_root(mod) == (tmp_path / "sub").resolve()
    # The same root whatever boundary contains it.
    assert project_root(mod, tmp_path) == (tmp_path / "sub").resolve()
    assert project_root(tmp_path / "top.py") == tmp_path.resolve()


def test_a_setup_module_in_a_package_does_not_make_a_project(tmp_path: Path) -> None:
    make(tmp_path, "pyproject.toml", "pkg/__init__.py", "pkg/setup.py", "pkg/mod.py")
    assert project_root(tmp_path / "pkg" / "mod.py") == tmp_path.resolve()


def test_the_project_root_never_goes_above_the_boundary(tmp_path: Path) -> None:
    make(tmp_path, "pyproject.toml", "ws/src/mod.py")
    mod = tmp_path / "ws" / "src" / "mod.py"
    assert project_root(mod) == tmp_path.resolve()  # the command line: up to /
    assert project_root(mod, tmp_path / "ws") == (tmp_path / "ws").resolve()  # the server
    # A file outside the boundary (a link into it, say) belongs to the boundary.
    assert project_root(tmp_path / "other.py", tmp_path / "ws") == (tmp_path / "ws").resolve()


def test_a_file_without_a_marked_folder_is_its_own_folders_project(tmp_path: Path) -> None:
    make(tmp_path, "a/b/mod.py")
    assert project_root(tmp_path / "a" / "b" / "mod.py") == (tmp_path / "a" / "b").resolve()


# ---- test files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "patterns", "expected"),
    [
        ("tests/test_x.py", (), True),
        ("test_x.py", (), True),
        ("pkg/x_test.py", (), True),
        ("conftest.py", (), True),
        ("tests/helpers/data.py", (), True),
        ("src/pkg/tests/unit/fixtures.py", (), True),
        ("src/pkg/mod.py", (), False),
        ("src/testing.py", (), False),
        ("src/contest.py", (), False),
        ("tests.py", (), False),
        ("spec/mod_spec.py", ("*_spec.py",), True),
        ("it/db/check.py", ("db/*.py",), True),
        ("src/db/check.py", ("it/*.py", ""), False),
    ],
)
def test_is_test_file(relative: str, patterns: tuple[str, ...], expected: bool) -> None:
    assert is_test_file(relative, patterns) is expected


def test_info_marks_test_files_relative_to_the_project_root(tmp_path: Path) -> None:
    # A project living under a folder called tests/ is not all tests.
    root = tmp_path / "tests" / "proj"
    make(root, "pyproject.toml", "src/mod.py", "tests/test_mod.py")
    ctx = ProjectContext(root)
    assert not ctx.info_for(root / "src" / "mod.py").is_test_file
    assert ctx.info_for(root / "tests" / "test_mod.py").is_test_file
    assert ctx.info_for(root / "src" / "mod.py", ["src/*.py"]).is_test_file
