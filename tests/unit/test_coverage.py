"""Coverage readers: real data from coverage.py in its three forms, and the choice of file.

The data is produced by running coverage.py on a small project in tmp_path
(`coverage run`, then `coverage xml`, `coverage lcov`, `coverage json`): the
line rate each reader gives must be the one `coverage report` computes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.review import coverage as cov
from tapps_lsp.review import scoring
from tapps_lsp.review.coverage_formats import CoverageError
from tapps_lsp.review.model import FileResult, ProjectInfo
from tapps_lsp.review.project import CoverageOptions, ProjectContext

MODULE = '''\
"""A module half of which the script runs."""


def used(x):
    if x > 0:
        return x
    return -x


def unused(x):
    total = 0
    for i in range(x):
        total += i
    return total


def excluded():  # pragma: no cover
    return 1
'''
SCRIPT = "from pkg.mod import used\n\nused(3)\n"
CONFIG = '[tool.coverage.run]\nsource = ["pkg"]\nrelative_files = true\n'


def coverage(project: Path, *args: str) -> None:
    # The project's tests import it from the script's folder: PYTHONSAFEPATH, which the
    # worker pools set in this process when an earlier test started one, would hide it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    subprocess.run(
        [sys.executable, "-m", "coverage", *args],
        cwd=project,
        check=True,
        capture_output=True,
        env={**env, "COVERAGE_RCFILE": str(project / "pyproject.toml")},
    )


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose tests ran under coverage.py, with every form of its data."""
    project = tmp_path_factory.mktemp("measured")
    (project / "pkg").mkdir()
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "mod.py").write_text(MODULE)
    (project / "run.py").write_text(SCRIPT)
    (project / "pyproject.toml").write_text(CONFIG)
    coverage(project, "run", "run.py")
    coverage(project, "xml", "-o", "coverage.xml")
    coverage(project, "lcov", "-o", "lcov.info")
    coverage(project, "json", "-o", "coverage.json")
    return project


def reported(project: Path, relative: str) -> float:
    """The line rate `coverage report` gives the file."""
    data = json.loads((project / "coverage.json").read_text())
    summary = data["files"][relative]["summary"]
    rate: float = summary["covered_lines"] / summary["num_statements"]
    return rate


@pytest.mark.parametrize("name", ["coverage.xml", "lcov.info", ".coverage"])
def test_each_form_gives_coverage_reports_line_rate(measured: Path, name: str) -> None:
    expected = reported(measured, "pkg/mod.py")
    assert 0.3 < expected < 0.7  # half of it ran: the test means something
    report = cov.read_report(measured, measured, measured / name)
    assert report.source == name
    assert report.rate_for("pkg/mod.py") == pytest.approx(expected)
    assert report.rate_for("pkg/other.py") is None


def test_the_project_context_reads_it_and_scores_it(measured: Path) -> None:
    info = ProjectContext(measured).info_for(measured / "pkg" / "mod.py")
    assert info.has_coverage_report and info.coverage_source == "coverage.xml"
    review = scoring.score(FileResult(), info, Settings(), "pkg/mod.py")
    assert review.scores["test_coverage"] == pytest.approx(10 * reported(measured, "pkg/mod.py"))
    assert review.not_measured == {}


def test_a_measured_source_that_does_not_parse_is_not_measured(tmp_path: Path) -> None:
    # .coverage records which lines ran, not how many statements there are: those are
    # counted from the source, which this Python must parse.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "run.py").write_text("from pkg.mod import f\nf()\n")
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    coverage(tmp_path, "run", "run.py")
    (tmp_path / "pkg" / "mod.py").write_text("def f(:\n")  # no longer Python
    info = ProjectContext(tmp_path).info_for(tmp_path / "pkg" / "mod.py")
    assert not info.has_coverage_report
    assert info.coverage_problem.startswith(".coverage lists it, but its statements")
    assert "test_coverage" not in scoring.category_scores(FileResult(), info)


def test_data_written_elsewhere_matches_by_the_end_of_its_paths(tmp_path: Path) -> None:
    (tmp_path / "coverage.xml").write_text(
        "<coverage><sources><source>/home/ci/build/proj/src</source></sources>"
        '<packages><package><classes><class filename="pkg/mod.py"><lines>'
        '<line number="1" hits="1"/><line number="2" hits="0"/>'
        "</lines></class></classes></package></packages></coverage>"
    )
    info = ProjectContext(tmp_path).info_for(tmp_path / "src" / "pkg" / "mod.py")
    assert info.coverage_line_rate == 0.5


def test_lcov_without_line_records_uses_its_totals(tmp_path: Path) -> None:
    (tmp_path / "lcov.info").write_text("TN:\nSF:src/a.py\nLF:4\nLH:3\nend_of_record\n")
    report = cov.read_report(tmp_path, tmp_path, tmp_path / "lcov.info")
    assert report.rate_for("src/a.py") == 0.75


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("coverage.xml", "<html><body/></html>", "not a Cobertura report (root element 'html')"),
        ("coverage.xml", "<coverage><unclosed", "not valid XML"),
        ("lcov.info", "hello\n", "not an lcov tracefile"),
        (".coverage", "SQLite format 3\x00 but not really", "not a coverage.py data file"),
    ],
)
def test_data_that_is_not_coverage_says_so(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(CoverageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cov.read_report(tmp_path, tmp_path, tmp_path / name)


def test_a_doctype_without_entities_is_read(tmp_path: Path) -> None:
    # gcovr and Java's Cobertura write one; no entity, nothing to expand.
    (tmp_path / "coverage.xml").write_text(
        '<?xml version="1.0"?>\n'
        "<!DOCTYPE coverage SYSTEM 'http://cobertura.sourceforge.net/xml/coverage-04.dtd'>\n"
        '<coverage><packages><package><classes><class filename="a.py" line-rate="1">'
        "<lines/></class></classes></package></packages></coverage>"
    )
    report = cov.read_report(tmp_path, tmp_path, tmp_path / "coverage.xml")
    assert report.rate_for("a.py") == 1.0


def touch(path: Path, text: str, mtime: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9))


def test_the_newest_data_file_is_read(tmp_path: Path) -> None:
    touch(tmp_path / "coverage.xml", "<coverage/>", 1_000)
    touch(tmp_path / "lcov.info", "SF:a.py\nend_of_record\n", 2_000)
    assert cov.choose(tmp_path, "")[0] == tmp_path / "lcov.info"
    # Written together (pytest --cov --cov-report=xml, or a checkout): the report first.
    touch(tmp_path / "coverage.xml", "<coverage/>", 1_999)
    assert cov.choose(tmp_path, "")[0] == tmp_path / "coverage.xml"


def test_coverage_file_names_the_data(tmp_path: Path) -> None:
    (tmp_path / "coverage.xml").write_text("<coverage/>")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "cov.lcov").write_text("SF:a.py\nDA:1,1\nDA:2,0\nend_of_record\n")
    named = ProjectContext(tmp_path, options=CoverageOptions("reports/cov.lcov"))
    assert named.info_for(tmp_path / "a.py").coverage_line_rate == 0.5
    missing = ProjectContext(tmp_path, options=CoverageOptions("reports/nope.xml"))
    info = missing.info_for(tmp_path / "a.py")
    assert not info.has_coverage_report
    assert info.coverage_problem == "coverageFile reports/nope.xml: not found"


def test_a_context_is_stale_once_its_data_changes(tmp_path: Path) -> None:
    context = ProjectContext(tmp_path)
    assert not context.stale()
    touch(tmp_path / "coverage.xml", "<coverage/>", 1_000)
    assert context.stale()
    context = ProjectContext(tmp_path)
    assert not context.stale()
    touch(tmp_path / "coverage.xml", "<coverage></coverage>", 2_000)
    assert context.stale()


def test_no_data_is_not_measured_and_says_how_to_measure() -> None:
    review = scoring.score(FileResult(), ProjectInfo(), Settings(), "a.py")
    assert "test_coverage" not in review.scores
    why = review.not_measured["test_coverage"]
    assert why.startswith("no coverage data") and "pytest --cov --cov-report=xml" in why
    # A category weighted 0 is not mentioned at all.
    unweighted = Settings(weights={"complexity": 1.0})
    assert scoring.score(FileResult(), ProjectInfo(), unweighted, "a.py").not_measured == {}
