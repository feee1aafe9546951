"""Type errors with mypy (optional): the mypy installed beside tapps-lsp, never the workspace's.

mypy runs as `python -I -m mypy` of our own interpreter (isolated: no
PYTHONPATH, no user site, no script directory on sys.path) on a temp copy of the
text in our private directory, with a private cache. Its JSON columns are
0-based and count UTF-8 bytes, as Python's `ast` does.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from importlib.util import find_spec
from typing import Any

from tapps_lsp.config import Settings
from tapps_lsp.review.analyzers import ToolError, first_lines, private_dir, run_tool
from tapps_lsp.review.analyzers.base import Analyzer, Outcome, Source, Stage
from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

_FLAGS = [
    # No configuration file at all: not the workspace's (we never run there) and
    # not the user's ~/.config/mypy/config either, so results depend on settings only.
    "--config-file",
    "",
    "--output",
    "json",
    "--no-error-summary",
    "--show-column-numbers",
    "--show-error-end",
    "--no-color-output",
    "--ignore-missing-imports",
    "--follow-imports",
    "silent",
]


def check(text: str, filename: str, lines: list[str], settings: Settings) -> list[Finding]:
    """mypy's errors for `text`."""
    if find_spec("mypy") is None:
        raise ToolError("mypy is not installed beside tapps-lsp (pip install mypy)")
    suffix = ".pyi" if filename.endswith(".pyi") else ".py"
    with tempfile.TemporaryDirectory(dir=private_dir()) as tmp:
        path = os.path.join(tmp, "module" + suffix)
        with open(path, "wb") as f:
            f.write(text.encode("utf-8", "surrogatepass"))
        argv = [sys.executable, "-I", "-m", "mypy", *_FLAGS]
        argv += ["--cache-dir", os.path.join(private_dir(), "mypy-cache"), path]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYPY")}
        done = run_tool("mypy", argv, stdin=None, timeout=settings.toolTimeout, env=env)
    # 0: clean, 1: type errors; 2: mypy itself failed.
    if done.returncode not in (0, 1):
        raise ToolError(f"mypy exited with {done.returncode}: {first_lines(done.stderr)}")
    findings = []
    for raw in done.stdout.decode("utf-8", "replace").splitlines():
        try:
            row = json.loads(raw)
        except ValueError:
            continue
        if row.get("severity") != "error" or os.path.basename(row.get("file", "")) != (
            "module" + suffix
        ):
            continue
        findings.append(_finding(row, lines))
    return findings


def _finding(row: dict[str, Any], lines: list[str]) -> Finding:
    """One of mypy's JSON rows as a finding."""
    line = max(int(row.get("line") or 1) - 1, 0)
    text = lines[line] if line < len(lines) else ""
    col = utf8_byte_to_codepoint(text, max(int(row.get("column") or 0), 0))
    end_line = max(int(row.get("end_line") or line + 1) - 1, line)
    end_text = lines[end_line] if end_line < len(lines) else ""
    end_col = utf8_byte_to_codepoint(end_text, max(int(row.get("end_column") or 0), 0))
    if (end_line, end_col) <= (line, col):
        end_line, end_col = line, len(text)
    code = row.get("code") or "mypy"
    return Finding(
        source="mypy",
        code=code,
        message=row.get("message", ""),
        severity="error",
        category="type_checking",
        line=line,
        col=col,
        end_line=end_line,
        end_col=end_col,
        url=f"https://mypy.readthedocs.io/en/stable/_refs.html#code-{code}",
    )


class Mypy(Analyzer):
    """Type errors with mypy, when `mypyEnabled`; after the budget (a tool process)."""

    name = "mypy"
    stage = Stage.AFTER

    def wanted(self, source: Source) -> bool:
        """Only when the settings turn mypy on."""
        return source.settings.mypyEnabled

    def analyze(self, source: Source) -> Outcome:
        """mypy's errors and their count."""
        found = check(source.text, source.filename, source.lines, source.settings)
        return Outcome(found, {"type_errors": len(found)})


ANALYZER = Mypy()
