"""Settings files of a workspace folder: what is read, what is refused."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.settings_merge import merge
from tapps_lsp.settings_sources import (
    MAX_SETTINGS_BYTES,
    PYPROJECT,
    TAPPS_AGENTS,
    read_folder_sources,
    settings_of_folder,
)

# Nine levels of `&a`/`*a` (the 535-byte bomb of issue 13): 9**9 strings when expanded.
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    + "scoring:\n  weights: *i\n"
)


def read(root: Path) -> tuple[list[Any], list[str]]:
    return asyncio.run(read_folder_sources(root.resolve()))


def write_agents(root: Path, text: str) -> None:
    (root / ".tapps-agents").mkdir(exist_ok=True)
    (root / TAPPS_AGENTS).write_text(text)


def test_pyproject_wins_over_tapps_agents(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.tapps-lsp]\nqualityThreshold = 80\n")
    write_agents(tmp_path, "scoring:\n  thresholds:\n    overall: 60\n    security: 9\n")
    sources, problems = read(tmp_path)
    settings, merge_problems = merge(*sources)
    assert problems == merge_problems == []
    assert settings.qualityThreshold == 80 and settings.minSecurity == 9
    assert all(source.workspace for source in sources)


def test_a_symlink_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text("[tool.tapps-lsp]\nqualityThreshold = 1\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "pyproject.toml").symlink_to(outside)
    sources, problems = read(folder)
    assert sources == []
    assert problems == [
        f"{folder.resolve() / PYPROJECT}: links outside the workspace folder; not read "
        "(its settings are ignored)"
    ]


def test_a_fifo_and_an_oversized_file_are_refused_with_one_message(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pyproject.toml")
    write_agents(tmp_path, "#" * (MAX_SETTINGS_BYTES + 1))
    sources, problems = read(tmp_path)
    assert sources == []
    assert len(problems) == 2
    assert "not a regular file" in problems[1] and "over the limit" in problems[0]


def test_broken_files_are_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 1\n[broken\n")
    write_agents(tmp_path, "scoring: [unclosed\n")
    sources, problems = read(tmp_path)
    assert sources == []
    assert any("not valid TOML" in p for p in problems)
    assert any("not valid YAML" in p for p in problems)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (PYPROJECT, "[tool.tapps-lsp]\nlineLength = " + "9" * 5000 + "\n"),
        (PYPROJECT, "[tool.tapps-lsp]\nexclude = " + "[" * 100_000 + "\n"),
        (TAPPS_AGENTS, "scoring:\n  quality_threshold: " + "9" * 5000 + "\n"),
        (TAPPS_AGENTS, "scoring: " + "[" * 100_000 + "\n"),
    ],
)
def test_numbers_too_long_and_nesting_too_deep_are_reported(
    tmp_path: Path, name: str, text: str
) -> None:
    if name == TAPPS_AGENTS:
        write_agents(tmp_path, text)
    else:
        (tmp_path / name).write_text(text)
    sources, problems = read(tmp_path)
    assert sources == [] and len(problems) == 1 and "not valid" in problems[0]
    assert len(problems[0]) < 400


def test_a_tool_key_that_is_not_a_table_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 1\n")
    assert read(tmp_path) == ([], [])


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    write_agents(tmp_path, ALIAS_BOMB)
    sources, problems = read(tmp_path)
    assert sources == []
    assert problems == [
        f"{tmp_path.resolve() / TAPPS_AGENTS}: uses a YAML anchor or alias (&name / *name, "
        "line 1), which tapps-lsp does not accept; its settings are ignored"
    ]


def test_a_lone_anchor_is_refused_too(tmp_path: Path) -> None:
    write_agents(tmp_path, "scoring:\n  thresholds: &t\n    overall: 60\n")
    sources, problems = read(tmp_path)
    assert sources == [] and "line 2" in problems[0]


def test_settings_of_folder_caps_the_messages(tmp_path: Path) -> None:
    keys = "".join(f"k{i} = 1\n" for i in range(20))
    bad = "".join(f"{k} = 'x'\n" for k in ("lineLength", "debounceMs", "minSecurity"))
    more = "jobs = 100\nmaxFileSize = 2147483648\nfileBudget = 600\n"
    (tmp_path / "pyproject.toml").write_text("[tool.tapps-lsp]\n" + keys + bad + more)
    settings, problems = settings_of_folder(tmp_path.resolve())
    assert settings == Settings()
    assert len(problems) == 6 and problems[-1] == "2 more settings problems not shown"


def test_settings_of_loose_files_come_from_the_user_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAPPS_LSP_MAX_FILE_SIZE", "2097152")
    settings, problems = settings_of_folder(None, [{"lineLength": 88}])
    assert problems == []
    assert settings.maxFileSize == 2097152 and settings.lineLength == 88
