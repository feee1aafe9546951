"""Settings files of a workspace folder: what is read, what is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tapps_lsp.config import merge
from tapps_lsp.settings_sources import read_folder_sources


def read(root: Path) -> tuple[list, list[str]]:
    return asyncio.run(read_folder_sources(root.resolve()))


def test_pyproject_wins_over_tapps_agents(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.tapps-lsp]\nqualityThreshold = 80\n")
    (tmp_path / ".tapps-agents").mkdir()
    (tmp_path / ".tapps-agents" / "config.yaml").write_text(
        "scoring:\n  thresholds:\n    overall: 60\n    security: 9\n"
    )
    sources, problems = read(tmp_path)
    settings, merge_problems = merge(*sources)
    assert problems == merge_problems == []
    assert settings.qualityThreshold == 80 and settings.minSecurity == 9


def test_a_symlink_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text("[tool.tapps-lsp]\nqualityThreshold = 1\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "pyproject.toml").symlink_to(outside)
    assert read(folder) == ([], [])


def test_broken_files_are_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 1\n[broken\n")
    (tmp_path / ".tapps-agents").mkdir()
    (tmp_path / ".tapps-agents" / "config.yaml").write_text("scoring: [unclosed\n")
    sources, problems = read(tmp_path)
    assert sources == []
    assert any("not valid TOML" in p for p in problems)
    assert any("not valid YAML" in p for p in problems)


def test_a_tool_key_that_is_not_a_table_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 1\n")
    assert read(tmp_path) == ([], [])
