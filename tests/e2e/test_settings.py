"""Settings from every source, per folder, and what changing them does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path

import pytest
import pytest_asyncio
from e2e_support import VARIANTS, Session, start_session, stop_session
from lsprotocol import types

from tapps_lsp.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Scores about 50-60 with default settings: passes at threshold 0, fails at 100.
RISKY = (
    "import subprocess\n\n\n"
    "def run(cmd):\n"
    "    if cmd:\n"
    "        return subprocess.run(cmd, shell=True)\n"
    "    return None\n"
)


# Lenient gate, reviews while typing.
TYPING = {"qualityThreshold": 0, "minSecurity": 0, "run": "onType", "debounceMs": 5}


def codes(diagnostics: list[types.Diagnostic]) -> set[str]:
    return {str(d.code) for d in diagnostics}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two folders: one lenient through pyproject, one strict through .tapps-agents."""
    base = tmp_path_factory.mktemp("multi")
    lenient, strict = base / "lenient", base / "strict"
    lenient.mkdir()
    (lenient / "pyproject.toml").write_text(
        "[tool.tapps-lsp]\nqualityThreshold = 0\nminSecurity = 0\ncomplexityThreshold = 1\n"
    )
    (strict / ".tapps-agents").mkdir(parents=True)
    (strict / ".tapps-agents" / "config.yaml").write_text(
        "scoring:\n  thresholds:\n    overall: 100\n"
    )
    return lenient, strict


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=VARIANTS)
async def multi(
    request: pytest.FixtureRequest, folders: tuple[Path, Path], cache_dir: Path
) -> AsyncIterator[Session]:
    lenient, strict = folders
    # Like VS Code: every key, defaults included, plus what the user set per folder.
    defaults = asdict(Settings())
    s = await start_session(
        request.param,
        lenient,
        cache_dir,
        folders=list(folders),
        initialization_options={**defaults, "qualityThreshold": "high"},
        configuration={
            "": defaults,
            lenient.as_uri(): {**defaults, "complexityThreshold": 50},
            strict.as_uri(): {**defaults, "complexityThreshold": 1},
        },
    )
    yield s
    await stop_session(s)


async def test_two_folders_have_their_own_settings(
    multi: Session, folders: tuple[Path, Path]
) -> None:
    lenient, strict = folders
    (lenient / "risky.py").write_text(RISKY)
    (strict / "risky.py").write_text(RISKY)
    in_lenient = codes(await multi.open((lenient / "risky.py").as_uri()))
    in_strict = codes(await multi.open((strict / "risky.py").as_uri()))
    # pyproject turns the gate off: editor values equal to the defaults do not hide it;
    # its complexityThreshold = 1 loses to the editor's explicit 50.
    assert "TAPPS-GATE" not in in_lenient and "TAPPS-CC" not in in_lenient
    # .tapps-agents/config.yaml asks for an overall of 100; the editor sets complexity 1.
    assert "TAPPS-GATE" in in_strict and "TAPPS-CC" in in_strict
    assert "S602" in in_lenient & in_strict  # the default security engine


async def test_a_bad_value_is_reported_once_with_its_default(multi: Session) -> None:
    def reported() -> list[str]:
        return [
            m.message
            for m in multi.recorder.messages
            if "qualityThreshold" in m.message and m.type == types.MessageType.Warning
        ]

    await multi.recorder.wait_for(lambda: bool(reported()))
    (message,) = reported()
    assert "using the default 70.0" in message


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=VARIANTS)
async def configured(
    request: pytest.FixtureRequest, workspace: Path, cache_dir: Path
) -> AsyncIterator[Session]:
    s = await start_session(
        request.param,
        workspace,
        cache_dir,
        configuration={
            "": {"qualityThreshold": 0, "minSecurity": 0, "run": "onType", "debounceMs": 5}
        },
    )
    yield s
    await stop_session(s)


async def test_a_settings_change_re_reviews(configured: Session) -> None:
    s = configured
    uri = s.write("settings_change.py", RISKY)
    assert "TAPPS-GATE" not in codes(await s.open(uri))
    s.client.set_configuration({"tapps": {**TYPING, "qualityThreshold": 100}}, scope_uri="")
    published = s.recorder.published.setdefault(uri, [])
    mark, refreshes = len(published), s.recorder.refreshes
    s.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tapps": {"qualityThreshold": 100}})
    )
    if s.pull:
        await s.recorder.wait_for(lambda: s.recorder.refreshes > refreshes)
        after = await s.pull_diagnostics(uri)
    else:
        await s.recorder.wait_for(lambda: len(published) > mark)
        after = list(published[-1].diagnostics)
    assert "TAPPS-GATE" in codes(after)


async def test_on_type_reviews_without_a_save(configured: Session) -> None:
    s = configured
    uri = s.write("typing.py", "x = 1\n")
    assert "F401" not in codes(await s.open(uri))
    published = s.recorder.published.setdefault(uri, [])
    mark = len(published)
    s.change(uri, "import os\nx = 1\n")
    if s.pull:
        diagnostics = await s.pull_diagnostics(uri)
    else:
        await s.recorder.wait_for(
            lambda: published[-1].version == s.versions[uri] if len(published) > mark else False
        )
        diagnostics = list(published[-1].diagnostics)
    assert "F401" in codes(diagnostics)
