"""review/versions.py reads installed versions from the metadata on sys.path, without
importing importlib.metadata (issue 17: the server's first cache lookup needs them)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from tapps_lsp.review import versions


def test_every_installed_distribution_has_importlib_metadatas_version() -> None:
    names = {dist.metadata["Name"] for dist in importlib.metadata.distributions()}
    assert {"ruff", "radon", "bandit", "pygls", "lsprotocol"} <= names
    found = versions._metadata_files()
    for name in names:
        assert versions.installed_version(name, found) == importlib.metadata.version(name), name


def test_an_egg_info_and_a_missing_distribution(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "Some.Tool-1.2.egg-info").mkdir()
    (tmp_path / "Some.Tool-1.2.egg-info" / "PKG-INFO").write_text(
        "Metadata-Version: 2.1\nName: Some.Tool\nVersion: 1.2\n\nVersion: 9 (the body)\n"
    )
    (tmp_path / "flat-3.0.egg-info").write_text("Name: flat\nVersion: 3.0\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert versions.installed_version("some-tool") == "1.2"
    assert versions.installed_version("FLAT") == "3.0"
    assert versions.installed_version("absent") is None


def test_reading_the_versions_imports_no_importlib_metadata() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; from tapps_lsp.review.versions import tool_versions; "
            "print(tool_versions()['ruff'], 'importlib.metadata' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == [importlib.metadata.version("ruff"), "False"]
