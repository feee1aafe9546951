"""What an editor shows of the server, over stdio with the real server (issue 15):

- every log line reaches the client once, as window/logMessage with its own
  level, and not also on stderr (VS Code shows a server's stderr as errors);
- the worker processes' debug lines (each tool's command line and time) too;
- the gate diagnostic is one short line; the hover on line 1 counts what the
  Problems list shows and lists weight-0 categories apart; a rule's hover says
  the message once, then a short excerpt and a link.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

# The stdio client of the robustness tests (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from robustness.raw import Raw  # noqa: E402

SOURCE = "import os\nimport sys\n\n\ndef f(x):\n    return x\n"
PYPROJECT = "[project]\nname = 'p'\n\n[tool.tapps-lsp]\nqualityThreshold = 99\n"
INFO, LOG = 3, 4  # window/logMessage types


def _workspace(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    module = root / "mod.py"
    module.write_text(SOURCE, encoding="utf-8")
    return root, module.as_uri()


def _logs(raw: Raw) -> list[dict[str, Any]]:
    return [m["params"] for m in raw.notifications if m["method"] == "window/logMessage"]


async def _hover(raw: Raw, uri: str, line: int, character: int = 0) -> str:
    result = await raw.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
    )
    assert result is not None
    return str(result["contents"]["value"])


async def test_each_log_line_reaches_the_client_once_and_not_stderr(tmp_path: Path) -> None:
    root, uri = _workspace(tmp_path)
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([root])
        await raw.open(uri, SOURCE)
        await raw.diagnostics_of(uri)
        reviewed = await raw.notification(
            "window/logMessage", lambda p: p["message"].startswith("reviewed ")
        )
        assert reviewed["params"]["type"] == INFO
        # One line, no timestamp or level of ours in it (the client adds its own).
        assert not re.match(r"\d{4}-\d\d-\d\d", reviewed["params"]["message"])
    finally:
        await raw.stop()
    assert sum(p["message"].startswith("reviewed ") for p in _logs(raw)) == 1
    assert "reviewed " not in raw.stderr, raw.stderr


async def test_worker_debug_lines_reach_the_client_at_debug(tmp_path: Path) -> None:
    root, uri = _workspace(tmp_path)
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([root], options={"logLevel": "debug"})
        await raw.open(uri, SOURCE)
        await raw.diagnostics_of(uri)
        ran = await raw.notification(
            "window/logMessage", lambda p: re.match(r"ruff exited \d+ after [\d.]+ s", p["message"])
        )
        assert ran["params"]["type"] == LOG
        await raw.notification(
            "window/logMessage", lambda p: re.match(r"running \S*ruff check ", p["message"])
        )
        await raw.notification(
            "window/logMessage",
            lambda p: re.match(r"analysed \S*mod\.py: \d+ findings", p["message"]),
        )
    finally:
        await raw.stop()
    assert "ruff exited" not in raw.stderr


async def test_gate_diagnostic_and_hovers_are_short_and_count_what_problems_shows(
    tmp_path: Path,
) -> None:
    root, uri = _workspace(tmp_path)
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([root])
        await raw.open(uri, SOURCE)
        diagnostics = await raw.diagnostics_of(uri)
        (gate,) = [d for d in diagnostics if d["code"] == "TAPPS-GATE"]
        assert re.fullmatch(
            r"Quality gate failed: \d+\.\d/100 < 99 \(weakest: \w+ \d+\.\d\)", gate["message"]
        ), gate["message"]
        top = await _hover(raw, uri, 0)
        assert f"{len(diagnostics)} findings in Problems, the quality gate's included" in top
        assert "Fails the quality gate: " in top and "< 99" in top
        # linting weighs 0 by default: said apart, not as a row of the table.
        assert "| linting |" not in top
        assert re.search(r"Not counted in the score \(weight 0\): linting \d+\.\d/10", top), top
        (unused,) = [d for d in diagnostics if d["code"] == "F401" and d["range"]["start"]["line"]]
        rule = await _hover(raw, uri, 1, 8)
    finally:
        await raw.stop()
    assert unused["message"] == "`sys` imported but unused"
    assert rule.count("imported but unused") == 1
    assert "**What it does:** Checks for unused imports." in rule and "**Why:**" in rule
    assert "##" not in rule
    assert rule.rstrip().endswith(
        "[The rule's full documentation](https://docs.astral.sh/ruff/rules/unused-import)"
    )
