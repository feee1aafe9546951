"""The VS Code client bounds what it sends by the server's own key lists.

The server takes the client's settings (initializationOptions, workspace/configuration) as
the user's own, but VS Code merges a folder's `.vscode/settings.json` into them. So the
client sends each machine limit at most at the user's value and each user-only key from the
user's settings only (`userBoundSettings` in vscode-client/src/common/settings.ts, unit-tested
in vscode-client/test/user-bound.test.ts through test_client_unit.py). Its key lists must be
the server's `config.MACHINE_LIMITS` and `config.USER_ONLY`: a key added on one side only
would let a workspace raise it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tapps_lsp import config

CLIENT = Path(__file__).resolve().parents[2] / "vscode-client"
SETTINGS_TS = CLIENT / "src" / "common" / "settings.ts"


def _listed(name: str) -> set[str]:
    source = SETTINGS_TS.read_text(encoding="utf-8")
    found = re.search(rf"export const {name} = \[([^\]]*)\]", source)
    assert found, f"{name} not found in {SETTINGS_TS}"
    return set(re.findall(r"'([^']+)'", found.group(1)))


@pytest.mark.parametrize(
    ("name", "server"),
    [("MACHINE_LIMITS", config.MACHINE_LIMITS), ("USER_ONLY", config.USER_ONLY)],
)
def test_client_lists_are_the_servers(name: str, server: frozenset[str]) -> None:
    assert _listed(name) == set(server)
