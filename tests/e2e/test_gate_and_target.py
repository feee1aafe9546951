"""The server: errors fail the gate, and the project's Python decides the syntax.

Issue 15 items 3 and 5 over stdio, in a workspace whose pyproject says
`requires-python = ">=3.12"`. The command line is tests/test_gate_errors.py.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from e2e_support import VARIANTS, Session, start_session, stop_session
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVER = f"{sys.version_info[0]}.{sys.version_info[1]}"
UNDEFINED = "def add(a, b):\n    return a + c\n"
NEWER = "type Vec = list[float]\n\n\ndef first[T](xs: list[T]) -> T:\n    return xs[0]\n"
WALRUS_IN_37 = "def f(xs):\n    if (n := len(xs)) > 1:\n        return n\n    return 0\n"


def by_code(diagnostics: list[types.Diagnostic]) -> dict[str, list[types.Diagnostic]]:
    out: dict[str, list[types.Diagnostic]] = {}
    for d in diagnostics:
        out.setdefault(str(d.code), []).append(d)
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("target") / "proj"
    for folder in ("tests", "docs", ".vscode", ".git"):
        (root / folder).mkdir(parents=True)
    (root / "README.md").write_text("# demo\n")
    (root / "AGENTS.md").write_text("# agents\n")
    (root / "requirements.txt").write_text("\n")
    (root / ".pre-commit-config.yaml").write_text("repos: []\n")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nrequires-python = ">=3.12"\n[tool.ruff]\n'
    )
    old = root.parent / "old"
    old.mkdir()
    (old / "pyproject.toml").write_text('[project]\nname = "old"\nrequires-python = ">=3.9"\n')
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=[VARIANTS[0], VARIANTS[-1]])
async def session(
    request: pytest.FixtureRequest, project: Path, cache_dir: Path
) -> AsyncIterator[Session]:
    s = await start_session(
        request.param, project, cache_dir, folders=[project, project.parent / "old"]
    )
    yield s
    await stop_session(s)


async def test_an_undefined_name_fails_the_gate_named_first(session: Session) -> None:
    uri = session.write("undefined.py", UNDEFINED)
    found = by_code(await session.open(uri))
    (gate,) = found["TAPPS-GATE"]
    assert gate.message.startswith("Quality gate failed: F821 on line 2: Undefined name `c`;")
    assert found["F821"][0].severity == types.DiagnosticSeverity.Error
    # Fixed: the error goes, and so does the gate failure it caused.
    after = by_code(await session.save(uri, "def add(a, b):\n    return a + b\n"))
    assert "TAPPS-GATE" not in after and "F821" not in after


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs a server Python older than 3.12")
async def test_newer_syntax_than_the_server_is_one_notice_not_an_error(session: Session) -> None:
    uri = session.write("vec.py", NEWER)
    found = by_code(await session.open(uri))
    assert "TAPPS-SYNTAX" not in found and "TAPPS-GATE" not in found
    assert "invalid-syntax" not in found
    (notice,) = found["TAPPS-PYTHON"]
    assert notice.severity == types.DiagnosticSeverity.Information
    assert notice.range.start.line == 0
    assert f"needs Python 3.12; the server runs {SERVER}" in notice.message
    assert "tapps.interpreter" in notice.message


async def test_syntax_older_than_the_project_python_is_fine(session: Session) -> None:
    # Assignment expressions: 3.8+; the project says 3.12, so not an error.
    uri = session.write("walrus.py", WALRUS_IN_37)
    found = by_code(await session.open(uri))
    assert "invalid-syntax" not in found and "TAPPS-GATE" not in found


async def test_syntax_the_project_python_rejects_fails_the_gate(
    session: Session, project: Path
) -> None:
    # The same `match` is fine in the 3.12 project and an error in the 3.9 one.
    source = "def kind(x):\n    match x:\n        case 1:\n            return 1\n    return 0\n"
    fine = by_code(await session.open(session.write("kind.py", source)))
    assert "invalid-syntax" not in fine and "TAPPS-GATE" not in fine
    path = project.parent / "old" / "kind.py"
    path.write_text(source)
    found = by_code(await session.open(path.as_uri()))
    (error,) = found["invalid-syntax"]
    assert error.severity == types.DiagnosticSeverity.Error and "Python 3.9" in error.message
    (gate,) = found["TAPPS-GATE"]
    assert gate.message.startswith("Quality gate failed: invalid-syntax on line 2:")
