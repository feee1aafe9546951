"""A cloned repository's coverage data cannot hang us, exhaust memory or make us read elsewhere.

Issue 13 item 4: `coverage.xml -> /proc/self/fd/3` (the server's input pipe) or a
FIFO named `coverage.xml` made `ET.parse` block the event loop for good. Each
test plants the proof of concept in a repository in tmp_path and drives the
reader in-process (under `memory_cap`), `tapps-lsp check` and a real server
(both under the address-space limit). The data is refused with one message
saying why, test_coverage is "not measured", and everything still answers.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from robustness.raw import Raw

from security.conftest import run_check
from tapps_lsp.review import coverage as cov
from tapps_lsp.review.coverage_formats import CoverageError
from tapps_lsp.review.project import ProjectContext

PUSH = {"textDocument": {"publishDiagnostics": {"versionSupport": True}}}
DEADLINE = 30.0

# Ten levels of ten: 10**10 "lol"s (30 GB) if the entities were expanded.
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE coverage [\n  <!ENTITY lol0 "lol">\n'
    + "".join(
        f'  <!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">\n'
        for i in range(1, 10)
    )
    + "]>\n<coverage><sources><source>&lol9;</source></sources></coverage>\n"
)


def link(target: str) -> Callable[[Path, str], None]:
    def plant(repo: Path, name: str) -> None:
        (repo / name).symlink_to(target)

    return plant


def fifo(repo: Path, name: str) -> None:
    os.mkfifo(repo / name)


def laughs(repo: Path, name: str) -> None:
    (repo / name).write_text(BILLION_LAUGHS)


def bits_bomb(repo: Path, name: str) -> None:
    """A valid coverage.py database whose line bitmap decodes into 8 million numbers."""
    from coverage import CoverageData

    data = CoverageData(basename=str(repo / name))
    data.add_lines({str(repo / "a.py"): [1]})
    data.write()
    connection = sqlite3.connect(repo / name)
    with connection:
        connection.execute("update line_bits set numbits = ?", (b"\xff" * (1 << 20),))
    connection.close()


def outside(repo: Path, name: str) -> None:
    secret = repo.parent / "elsewhere.xml"
    secret.write_text("<coverage><packages/></coverage>")
    (repo / name).symlink_to(secret)


# (what the repository plants, under which name, what the user is told)
HAZARDS: list[tuple[Callable[[Path, str], None], str, str]] = [
    (link("/proc/self/fd/0"), "coverage.xml", "links outside the workspace folder"),
    (link("/proc/self/fd/3"), "coverage.xml", "links outside the workspace folder"),
    (link("/dev/zero"), "coverage.xml", "links outside the workspace folder"),
    (link("/dev/zero"), ".coverage", "links outside the workspace folder"),
    (outside, "lcov.info", "links outside the workspace folder"),
    (fifo, "coverage.xml", "not a regular file"),
    (fifo, ".coverage", "not a regular file"),
    (fifo, "lcov.info", "not a regular file"),
    (laughs, "coverage.xml", "declares XML entities"),
    (bits_bomb, ".coverage", "records more lines than any source could have"),
]
IDS = [
    "stdin-link",
    "fd3-link",
    "dev-zero-xml",
    "dev-zero-coverage-py",
    "link-out-lcov",
    "fifo-xml",
    "fifo-coverage-py",
    "fifo-lcov",
    "billion-laughs",
    "numbits-bomb",
]


def codes(diagnostics: list[dict[str, Any]]) -> set[str]:
    return {str(d.get("code")) for d in diagnostics}


@pytest.mark.parametrize(("plant", "name", "message"), HAZARDS, ids=IDS)
def test_the_reader_refuses_it(
    repo: Path, memory_cap: int, plant: Callable[[Path, str], None], name: str, message: str
) -> None:
    plant(repo, name)
    with pytest.raises(CoverageError) as refused:
        cov.read_report(repo, repo, repo / name)
    assert str(refused.value).startswith(f"{name}: ") and message in str(refused.value)
    info = ProjectContext(repo).info_for(repo / "a.py")
    assert not info.has_coverage_report and message in info.coverage_problem


def test_a_huge_coverage_file_is_refused_unread(repo: Path, memory_cap: int) -> None:
    with open(repo / "coverage.xml", "wb") as f:
        f.truncate(cov.COVERAGE_CAP + 1)  # sparse: no disk used
    with pytest.raises(CoverageError, match="over the limit"):
        cov.read_report(repo, repo, repo / "coverage.xml")


@pytest.mark.parametrize(("plant", "name", "message"), HAZARDS, ids=IDS)
def test_check_survives_it(
    tmp_path: Path, repo: Path, plant: Callable[[Path, str], None], name: str, message: str
) -> None:
    plant(repo, name)
    out = checked(tmp_path, repo)
    assert "a.py:1:8: F401" in out
    # Said once, in the summary, with the command that produces real data.
    about = [line for line in out.splitlines() if "test_coverage not measured" in line]
    assert len(about) == 1, out
    assert f"{name}: {message}" in about[0] and "pytest --cov --cov-report=xml" in about[0]


def checked(tmp_path: Path, repo: Path) -> str:
    """`tapps-lsp check .` in the planted repository: its report, once it has ended well."""
    (repo / "a.py").write_text("import os\n")
    done = run_check(".", cwd=repo, cache_dir=tmp_path / "cache", timeout=DEADLINE * 2)
    assert done.returncode in (0, 1), done.stderr  # ended, neither hung nor crashed
    return done.stdout


@pytest.mark.parametrize(("plant", "name", "message"), HAZARDS, ids=IDS)
async def test_the_server_survives_it(
    hostile_server: Raw, repo: Path, plant: Callable[[Path, str], None], name: str, message: str
) -> None:
    plant(repo, name)
    (repo / "a.py").write_text("import os\n")
    raw = hostile_server
    await raw.initialize([repo], PUSH)
    uri = (repo / "a.py").as_uri()
    await raw.open(uri, "import os\n")
    assert "F401" in codes(await raw.diagnostics_of(uri, timeout=DEADLINE))
    at = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
    hover = await raw.request("textDocument/hover", at, timeout=DEADLINE)
    text = hover["contents"]["value"]
    assert "Not measured: test coverage" in text and message in text, text
    # Still answering, and it shuts down cleanly: nothing hung.
    await raw.request("textDocument/hover", at, timeout=DEADLINE)
    assert await raw.stop() == 0
