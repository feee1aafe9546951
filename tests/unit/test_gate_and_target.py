"""Issue 15 items 3 and 5: errors fail the gate; the project's Python, not the server's.

The engine runs for real (ruff included) on small files; scores come from
`scoring.score` with a project that scores well, so that only the rule under
test can fail a file.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from tapps_lsp.cache import fingerprint
from tapps_lsp.check import _settings_for
from tapps_lsp.config import Settings
from tapps_lsp.review import engine, scoring, target
from tapps_lsp.review.model import ProjectInfo, Review
from tapps_lsp.settings_merge import merge

# A healthy project: coverage measured at 100 %, good structure and devex.
PROJECT = ProjectInfo(structure=10.0, devex=10.0, coverage_line_rate=1.0, has_coverage_report=True)
SERVER = f"{sys.version_info[0]}.{sys.version_info[1]}"
NEXT = f"3.{sys.version_info[1] + 1}"

# Shaped like requests 2.32.3's `__init__.py`: a version check, re-exports, and one
# name that is only defined when an optional import succeeds.
REQUESTS_INIT = '''\
"""Requests HTTP Library."""

import warnings

import urllib3

from .exceptions import RequestsDependencyWarning

try:
    from charset_normalizer import __version__ as charset_normalizer_version
except ImportError:
    charset_normalizer_version = None


def check_compatibility(urllib3_version, chardet_version, charset_normalizer_version):
    """Whether the dependencies are versions requests supports."""
    urllib3_version = urllib3_version.split(".")
    if chardet_version:
        major, minor, patch = chardet_version.split(".")[:3]
        assert (3, 0, 2) <= (int(major), int(minor), int(patch)) < (6, 0, 0)
    return urllib3_version


try:
    check_compatibility(urllib3.__version__, chardet_version, charset_normalizer_version)
except (AssertionError, ValueError):
    warnings.warn("urllib3 or chardet is not a supported version", RequestsDependencyWarning)

from . import packages, utils
from .api import delete, get, head, options, patch, post, put, request
from .models import PreparedRequest, Request, Response
from .sessions import Session, session
'''


def review(source: str, settings: Settings | None = None, project: ProjectInfo = PROJECT) -> Review:
    settings = settings or Settings()
    result = engine.analyze(textwrap.dedent(source), settings)
    return scoring.score(result, project, settings, "mod.py")


# ---- item 3: errors count ---------------------------------------------------------------


def test_an_undefined_name_fails_a_file_that_scores_well() -> None:
    r = review("def f():\n    return undefined_name\n")
    assert r.overall >= 90
    assert not r.passed
    assert [f.code for f in r.gate_errors] == ["F821"]
    message = r.gate_finding().message
    # The error first, then the scores.
    assert message.startswith("Quality gate failed: F821 on line 2: Undefined name")
    assert message.index("F821") < message.index(f"{r.overall:.1f}/100")


def test_requests_like_init_with_an_undefined_name_fails_the_gate() -> None:
    r = review(REQUESTS_INIT)
    assert "F821" in {f.code for f in r.gate_errors}
    assert not r.passed
    off = review(REQUESTS_INIT, Settings(gateOnErrors=False))
    assert off.passed and off.overall >= 70 and off.gate_errors == ()


def test_gate_on_errors_can_be_turned_off() -> None:
    r = review("x = undefined_name\n", Settings(gateOnErrors=False))
    assert r.passed and r.gate_errors == ()
    assert any(f.code == "F821" and f.severity == "error" for f in r.findings)


def test_a_downgraded_code_does_not_fail_the_gate() -> None:
    r = review("x = undefined_name\n", Settings(severityOverrides={"F821": "warning"}))
    assert r.passed


def test_warnings_and_security_errors_do_not_count_as_gate_errors() -> None:
    # F401 is a warning; S602 is an error with its own limit (minSecurity).
    r = review("import os\nimport subprocess\nsubprocess.call(x, shell=True)\n")
    assert {f.code for f in r.gate_errors} == {"F821"}
    r = review("import os\nimport subprocess\n\n\ndef f(c):\n    subprocess.call(c, shell=True)\n")
    assert r.gate_errors == ()


def test_a_syntax_error_is_a_gate_error_with_its_count() -> None:
    r = review("def f(:\n    pass\nx = (\n")
    assert not r.passed
    assert r.gate_errors and r.gate_errors[0].code == "invalid-syntax"
    if len(r.gate_errors) > 1:
        assert f"(+{len(r.gate_errors) - 1} error" in r.gate_finding().message


def test_gate_on_errors_is_a_setting_with_a_default() -> None:
    settings, problems = merge({"gateOnErrors": False})
    assert settings.gateOnErrors is False and problems == []
    assert Settings().gateOnErrors is True
    # Not part of the cache key: it changes the verdict, not the findings.
    assert fingerprint(Settings(gateOnErrors=False)) == fingerprint(Settings())


# ---- item 5: the project's Python --------------------------------------------------------


@pytest.mark.parametrize(
    ("requires", "lowest"),
    [
        (">=3.9", "3.9"),
        (">=3.9,<4", "3.9"),
        (">= 3.10, != 3.10.1", "3.10"),
        ("~=3.11", "3.11"),
        ("==3.12.*", "3.12"),
        (">3.8", "3.8"),
        ("<4", None),
        ("", None),
    ],
)
def test_lowest_python_of_requires_python(requires: str, lowest: str | None) -> None:
    assert target.lowest_python(requires) == lowest


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_ruff_target_version_wins_over_requires_python_in_ruffs_order(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nrequires-python = ">=3.12"\n')
    assert target.project_python(tmp_path) == ("3.12", "pyproject.toml requires-python")
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nrequires-python = ">=3.12"\n[tool.ruff]\ntarget-version = "py310"\n',
    )
    assert target.project_python(tmp_path) == (
        "3.10",
        "pyproject.toml [tool.ruff] target-version",
    )
    write(tmp_path, "ruff.toml", 'target-version = "py39"\n')
    assert target.project_python(tmp_path) == ("3.9", "ruff.toml target-version")
    write(tmp_path, ".ruff.toml", 'target-version = "py38"\n')
    assert target.project_python(tmp_path) == ("3.8", ".ruff.toml target-version")


def test_broken_or_outside_files_are_passed_over(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('target-version = "py38"\n')
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "ruff.toml")
    write(root, "pyproject.toml", "[project\nrequires-python = '>=3.9'\n")
    assert target.project_python(root) is None
    assert target.project_python(tmp_path / "missing") is None


def test_the_project_python_is_the_lowest_settings_source(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nrequires-python = ">=3.10"\n')
    assert _settings_for(tmp_path, []).pythonVersion == "3.10"
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nrequires-python = ">=3.10"\n[tool.tapps-lsp]\npythonVersion = "3.13"\n',
    )
    assert _settings_for(tmp_path, []).pythonVersion == "3.13"
    # Part of the cache key: it changes what is a syntax error.
    assert fingerprint(Settings(pythonVersion="3.10")) != fingerprint(Settings())


def test_a_bad_python_version_setting_is_reported() -> None:
    settings, problems = merge({"pythonVersion": "py312"})
    assert settings.pythonVersion == ""
    assert problems and "not a Python version" in problems[0]


def test_syntax_the_projects_python_rejects_is_an_error_that_fails_the_gate() -> None:
    source = "def f(x):\n    match x:\n        case 1:\n            return 1\n    return 0\n"
    assert review(source).passed  # on our Python, match is fine
    r = review(source, Settings(pythonVersion="3.9"))
    assert not r.passed
    first = r.gate_errors[0]
    assert first.code == "invalid-syntax" and "Python 3.9" in first.message
    assert r.result.metrics.syntax_error  # parsed as 3.9 would, too


def test_feature_version_stays_within_what_our_python_parses() -> None:
    assert target.feature_version("") is None
    assert target.feature_version("3.9") == (3, 9)
    assert target.feature_version("3.2") == (3, 4)
    assert target.feature_version(NEXT) is None
    assert target.ruff_target("3.2") == "py37" and target.ruff_target("3.99") == "py315"


NEWER = """\
type Vec = list[float]


def first[T](xs: list[T]) -> T:
    return xs[0]
"""


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs a server Python older than 3.12")
@pytest.mark.parametrize("python", ["", "3.12"])
def test_syntax_newer_than_the_server_is_not_measured_not_an_error(python: str) -> None:
    r = review(NEWER, Settings(pythonVersion=python))
    codes = [f.code for f in r.result.findings]
    assert "TAPPS-SYNTAX" not in codes and "invalid-syntax" not in codes
    notice = next(f for f in r.result.findings if f.code == "TAPPS-PYTHON")
    assert notice.severity == "information" and notice.line == 0
    assert f"needs Python 3.12; the server runs {SERVER}" in notice.message
    assert r.result.metrics.needs_python == "3.12" and not r.result.metrics.syntax_error
    for category in target.PARSED_CATEGORIES:
        assert category not in r.scores
        assert r.not_measured[category] == f"needs Python 3.12; the server runs {SERVER}"
    assert r.passed and r.gate_errors == ()
    assert r.overall == pytest.approx(100.0)  # what is measured: coverage, structure, devex


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs a server Python older than 3.12")
def test_newer_syntax_the_project_python_rejects_is_still_an_error() -> None:
    r = review(NEWER, Settings(pythonVersion="3.10"))
    assert not r.passed
    assert r.gate_errors[0].code == "invalid-syntax"
    assert "TAPPS-PYTHON" not in {f.code for f in r.result.findings}


def test_a_real_syntax_error_is_not_mistaken_for_newer_syntax() -> None:
    r = review("def f(:\n    pass\n")
    assert r.result.metrics.syntax_error and r.result.metrics.needs_python is None
    assert "TAPPS-PYTHON" not in {f.code for f in r.result.findings}


# ---- ruff's per-file-target-version ------------------------------------------------------

MATCH = "def f(x):\n    match x:\n        case 1:\n            return 1\n    return 0\n"


def test_per_file_target_versions_are_read_from_ruffs_configuration(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nrequires-python = ">=3.9"\n'
        "[tool.ruff.per-file-target-version]\n"
        '"tests/test_match.py" = "py310"\n"*_new.py" = "py312"\nbad = 3\n',
    )
    found = target.python_settings(tmp_path)
    assert found is not None
    values, where = found
    assert values == {
        "pythonVersion": "3.9",
        "pythonVersionPerFile": {"tests/test_match.py": "3.10", "*_new.py": "3.12"},
    }
    assert "per-file-target-version" in where and "requires-python" in where
    settings = _settings_for(tmp_path, [])
    assert settings.pythonVersionPerFile == values["pythonVersionPerFile"]


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/p/tests/test_match.py", "3.10"),
        ("tests/test_match.py", "3.10"),
        ("/p/src/test_match.py", "3.9"),
        ("/p/src/mod_new.py", "3.12"),
        ("/p/src/mod.py", "3.9"),
    ],
)
def test_the_first_per_file_glob_matching_the_end_of_the_path_wins(path: str, version: str) -> None:
    per_file = {"tests/test_match.py": "3.10", "*_new.py": "3.12", "*.py": "3.11"}
    expected = "3.11" if version == "3.9" else version
    assert target.version_for(path, "3.9", per_file) == expected
    assert target.version_for(path, "3.9", {}) == "3.9"


def test_a_file_with_its_own_python_is_parsed_and_linted_as_that_python() -> None:
    settings = Settings(pythonVersion="3.9", pythonVersionPerFile={"tests/test_match.py": "3.10"})
    own = engine.analyze(MATCH, settings, filename="/p/tests/test_match.py")
    other = engine.analyze(MATCH, settings, filename="/p/src/mod.py")
    assert not own.metrics.syntax_error and "invalid-syntax" not in {f.code for f in own.findings}
    assert other.metrics.syntax_error and "invalid-syntax" in {f.code for f in other.findings}
    # A chunk of both: one ruff run per Python, each file its own result.
    batch = engine.analyze_batch(
        [("/p/tests/test_match.py", MATCH), ("/p/src/mod.py", MATCH)], settings
    )
    assert [f.to_dict() for f in batch[0].findings] == [f.to_dict() for f in own.findings]
    assert [f.to_dict() for f in batch[1].findings] == [f.to_dict() for f in other.findings]


def test_a_bad_per_file_python_is_reported() -> None:
    settings, problems = merge({"pythonVersionPerFile": {"a.py": "py310"}})
    assert settings.pythonVersionPerFile == {}
    assert problems and "not a version" in problems[0]


def test_the_hover_states_the_error_condition_and_the_error() -> None:
    from tapps_lsp import convert

    r = review("x = undefined_name\n")
    table = convert.score_table(r, Settings())
    assert "security ≥ 8.5, with no error-severity lint finding" in table
    assert "Fails the quality gate: F821 on line 1: Undefined name `undefined_name`" in table
    off = convert.score_table(review("x = 1\n"), Settings(gateOnErrors=False))
    assert "no error-severity lint finding" not in off


def test_the_ruff_targets_are_those_the_installed_ruff_accepts() -> None:
    import re
    import subprocess

    from tapps_lsp.review.analyzers import ruff

    done = subprocess.run(
        [ruff.binary(), "check", "--isolated", "--target-version", "py0", "-"],
        input=b"",
        capture_output=True,
        timeout=60,
    )
    listed = re.search(rb"possible values: ([^\]]+)\]", done.stderr)
    assert listed, done.stderr
    accepted = [v.strip().decode() for v in listed.group(1).split(b",")]
    assert accepted[0] == target.ruff_target("3.0")
    assert accepted[-1] == target.ruff_target("3.99")
