"""The server scores test_coverage from measured data, per project root, and reviews
test files as tests (issue 15 items 1, 2 and 4), over stdio with the real server.

Coverage data written while the server runs reaches it as a watched-file
event: open documents are re-scored from the cache (nothing re-analysed).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

# The stdio client of the robustness tests (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from robustness.raw import Raw  # noqa: E402

CAPABILITIES = {
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
    "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}},
}
DEADLINE = 60.0
MODULE = '"""A module."""\n\n\ndef double(x):\n    return 2 * x\n'
TEST_FILE = "def test_it():\n    value = 1\n    assert value == 1\n"
COBERTURA = """\
<coverage><sources><source>src</source></sources><packages><package><classes>
<class filename="pkg/mod.py"><lines><line number="4" hits="1"/><line number="5" hits="{hits}"/>
</lines></class></classes></package></packages></coverage>
"""
CREATED, CHANGED = 1, 2


def codes(diagnostics: list[dict[str, Any]]) -> set[str]:
    return {str(d.get("code")) for d in diagnostics}


async def hover_text(raw: Raw, uri: str) -> str:
    at = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
    hover = await raw.request("textDocument/hover", at, timeout=DEADLINE)
    return str(hover["contents"]["value"]) if hover else ""


async def lens_title(raw: Raw, uri: str) -> str:
    lenses = await raw.request("textDocument/codeLens", {"textDocument": {"uri": uri}})
    return str(lenses[0]["command"]["title"])


def project(root: Path) -> Path:
    """A workspace folder holding a project in a sub-folder (its own pyproject.toml)."""
    proj = root / "services" / "api"
    (proj / "src" / "pkg").mkdir(parents=True)
    (proj / "tests").mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "api"\n')
    (proj / "src" / "pkg" / "mod.py").write_text(MODULE)
    (proj / "tests" / "test_mod.py").write_text(TEST_FILE)
    (proj / "src" / "pkg" / "checks.py").write_text(TEST_FILE)
    return proj


async def test_coverage_data_of_the_files_own_project_is_read_when_it_appears(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    proj = project(workspace)
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], CAPABILITIES)
        registered = await raw.wait_for(
            lambda: [r for r in raw.server_requests if r["method"] == "client/registerCapability"],
            timeout=DEADLINE,
        )
        globs = {
            w["globPattern"]
            for r in registered
            for reg in r["params"]["registrations"]
            for w in reg["registerOptions"]["watchers"]
        }
        assert {"**/coverage.xml", "**/.coverage", "**/lcov.info"} <= globs
        uri = (proj / "src" / "pkg" / "mod.py").as_uri()
        await raw.open(uri, MODULE)
        await raw.diagnostics_of(uri, timeout=DEADLINE)
        # No data yet: not measured, said with the command that produces it.
        before = await hover_text(raw, uri)
        assert "Not measured: test coverage: no coverage data" in before
        assert "pytest --cov --cov-report=xml" in before
        assert "not measured: test coverage" in await lens_title(raw, uri)
        # The project's tests ran: coverage.xml appears at *its* root, not the folder's.
        (proj / "coverage.xml").write_text(COBERTURA.format(hits=0))
        changes = [{"uri": (proj / "coverage.xml").as_uri(), "type": CREATED}]
        raw.notify("workspace/didChangeWatchedFiles", {"changes": changes})
        text = await poll_hover(raw, uri, "| test coverage | 5.0/10 |")
        assert "Not measured" not in text and "result from the cache" in text
        assert "not measured" not in await lens_title(raw, uri)
        # And again when it changes.
        (proj / "coverage.xml").write_text(COBERTURA.format(hits=3))
        changes = [{"uri": (proj / "coverage.xml").as_uri(), "type": CHANGED}]
        raw.notify("workspace/didChangeWatchedFiles", {"changes": changes})
        await poll_hover(raw, uri, "| test coverage | 10.0/10 |")
        assert await raw.stop() == 0
    finally:
        await raw.kill()


async def poll_hover(raw: Raw, uri: str, wanted: str) -> str:
    """The hover text once it contains `wanted` (asked again after each message)."""
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while True:
        seen = len(raw.notifications)  # before asking: a message after it wakes us
        text = await hover_text(raw, uri)
        if wanted in text:
            return text
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{wanted!r} never shown; last hover:\n{text}")
        await raw.wait_for(
            lambda seen=seen: len(raw.notifications) > seen,  # type: ignore[misc]  # mypy: a lambda default
            timeout=DEADLINE,
        )


async def test_test_files_get_no_assert_findings_and_no_coverage_score(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    proj = project(workspace)
    (proj / "coverage.xml").write_text(COBERTURA.format(hits=1))
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], CAPABILITIES)
        # The same text in a module and in a test file: one cached result, two reviews.
        module = (proj / "src" / "pkg" / "checks.py").as_uri()
        test = (proj / "tests" / "test_mod.py").as_uri()
        for uri in (test, module):
            await raw.open(uri, TEST_FILE)
        assert "S101" not in codes(await raw.diagnostics_of(test, timeout=DEADLINE))
        assert "S101" in codes(await raw.diagnostics_of(module, timeout=DEADLINE))
        text = await hover_text(raw, test)
        assert "a test file is not scored on its own coverage" in text
        assert "| test coverage |" not in text
        assert "| test coverage | 0.0/10 |" in await hover_text(raw, module)
        assert await raw.stop() == 0
    finally:
        await raw.kill()


MUTABLE_DEFAULT = (
    '"""A module."""\n\n\ndef collect(item, into=[]):\n    into.append(item)\n    return into\n'
)
STRICT = (
    '[project]\nname = "ws"\n\n[tool.tapps-lsp]\n'
    'qualityThreshold = 95\nlintSelect = ["E", "F", "W", "B"]\n'
)


async def test_a_nested_project_has_its_own_settings_open_or_scanned(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text(STRICT)
    (workspace / "top.py").write_text(MUTABLE_DEFAULT)
    proj = project(workspace)  # services/api: a pyproject.toml without our settings
    (proj / "src" / "pkg" / "collect.py").write_text(MUTABLE_DEFAULT)
    # An unused import too, so that it has diagnostics to publish whatever the settings.
    (proj / "src" / "pkg" / "closed.py").write_text("import os\n" + MUTABLE_DEFAULT)
    raw = await Raw.start(tmp_path)
    capabilities = {**CAPABILITIES, "window": {"workDoneProgress": True}}
    try:
        await raw.initialize([workspace], capabilities)
        top, nested = (
            (workspace / "top.py").as_uri(),
            (proj / "src" / "pkg" / "collect.py").as_uri(),
        )
        await raw.open(top, MUTABLE_DEFAULT)
        await raw.open(nested, MUTABLE_DEFAULT)
        # The workspace folder's settings for its own file: B006 selected, threshold 95.
        assert {"B006", "TAPPS-GATE"} <= codes(await raw.diagnostics_of(top, timeout=DEADLINE))
        assert "overall ≥ 95" in await hover_text(raw, top)
        # The nested project's (defaults) for its file, as `check` gives them.
        assert "B006" not in codes(await raw.diagnostics_of(nested, timeout=DEADLINE))
        assert "overall ≥ 70" in await hover_text(raw, nested)
        # A workspace review: the same for a file nobody opened.
        await raw.request(
            "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
        )
        await raw.notification(
            "$/progress", lambda p: p["value"].get("kind") == "end", timeout=DEADLINE
        )
        closed = (proj / "src" / "pkg" / "closed.py").as_uri()
        published = raw.published(closed)
        assert published and codes(published[-1]["diagnostics"]) == {"F401"}
        assert "B006" in codes(raw.published((workspace / "top.py").as_uri())[-1]["diagnostics"])
        assert await raw.stop() == 0
    finally:
        await raw.kill()
