"""The editor snippets in editors/ (Helix, Eglot, Sublime LSP) and the Neovim README.

No Helix, Emacs or Sublime Text runs here, so these check what can go wrong in a copy-paste
snippet without one: it parses, starts the server as `-m tapps_lsp`, and every settings key
it shows is one the server accepts (settings_merge.merge reports none as a problem).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.settings_merge import merge

EDITORS = Path(__file__).resolve().parents[2] / "editors"
KEYS = {field.name for field in dataclasses.fields(Settings)}


def _strip_line_comments(text: str) -> str:
    """Sublime's settings files allow // comments; JSON does not."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def _accepted(settings: dict[str, Any]) -> None:
    _, problems = merge(settings)
    assert problems == []


def test_helix_languages_toml() -> None:
    tomllib = pytest.importorskip("tomllib", reason="needs Python 3.11+ (tomllib) to parse TOML")
    config = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text())
    server = config["language-server"]["tapps"]
    assert server["args"] == ["-I", "-m", "tapps_lsp"]
    assert server["environment"] == {"PYTHONSAFEPATH": "1"}
    _accepted(server["config"]["tapps"])
    python = next(lang for lang in config["language"] if lang["name"] == "python")
    assert "tapps" in python["language-servers"]


def test_sublime_lsp_settings() -> None:
    text = _strip_line_comments((EDITORS / "sublime" / "LSP.sublime-settings").read_text())
    client = json.loads(text)["clients"]["tapps"]
    assert client["command"][1:] == ["-I", "-m", "tapps_lsp"]
    assert client["env"] == {"PYTHONSAFEPATH": "1"}
    assert client["selector"] == "source.python"
    # Sublime LSP expands dotted keys into nested objects.
    settings = {key.removeprefix("tapps."): value for key, value in client["settings"].items()}
    assert all(key.startswith("tapps.") for key in client["settings"])
    _accepted(settings)

    palette = (EDITORS / "sublime" / "tapps.sublime-commands").read_text()
    commands = json.loads(_strip_line_comments(palette))
    assert {entry["args"]["session_name"] for entry in commands} == {"tapps"}
    assert {entry["args"]["command_name"] for entry in commands} >= {
        "tapps.reviewWorkspace",
        "tapps.exportReport",
    }


def test_eglot_snippet() -> None:
    text = (EDITORS / "emacs" / "tapps-eglot.el").read_text()
    code = "\n".join(line.split(";", 1)[0] for line in text.splitlines())
    depth = 0
    for char in code.replace("?\\(", "").replace("?\\)", ""):
        depth += {"(": 1, ")": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert '("env" "PYTHONSAFEPATH=1" "python3" "-I" "-m" "tapps_lsp")' in code
    plist = code.split("'(:tapps (", 1)[1].split(")", 1)[0]
    keys = set(re.findall(r":(\w+)", plist))
    assert keys and keys <= KEYS, keys - KEYS


def test_nvim_readme_settings_keys() -> None:
    text = (EDITORS / "nvim" / "README.md").read_text()
    shown = "\n".join(re.findall(r"settings = \{([^}]*)\}", text))
    keys = set(re.findall(r"(\w+) = ", shown)) - {"tapps"}
    assert keys and keys <= KEYS, keys - KEYS
