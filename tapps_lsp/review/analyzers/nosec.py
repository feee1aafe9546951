"""`# noqa` and `# nosec` as ruff and bandit read them, for the ruff security engine.

ruff applies a `# noqa` to its own `S` rules; the findings the engine adds
(`imports`, `extras`) honour it here. Bandit's `# nosec` also covers the lines
of the node a test looked at (`NosecScopes`), which ruff does not know.
"""

from __future__ import annotations

import ast
import re

from tapps_lsp.review.fastperf import BLOCK_STATEMENTS
from tapps_lsp.review.model import Finding

NOQA_RE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)
NOSEC_RE = re.compile(r"#\s*nosec:?\s*(?P<tests>[^#]+)?")
NOSEC_IDS_RE = re.compile(r"B\d+", re.IGNORECASE)
# Nodes whose line range bandit searches for a `# nosec` (see NosecScopes).
_SCOPES = (ast.Call, ast.stmt, ast.ExceptHandler)
_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, *BLOCK_STATEMENTS)


def noqa(line: str, code: str) -> bool:
    """A ruff `# noqa` comment that covers `code` (ruff applies it to its own S rules)."""
    found = NOQA_RE.search(line) if "noqa" in line else None
    return found is not None and (not found.group("codes") or code in found.group("codes"))


def nosec_tests(line: str) -> set[str] | None:
    """The test ids a `# nosec` comment on the line names (empty: all tests), or None."""
    if "nosec" not in line:
        return None
    found = NOSEC_RE.search(line)
    if found is None:
        return None
    return {t.upper() for t in NOSEC_IDS_RE.findall(found.group("tests") or "")}


class NosecScopes:
    """Which `# nosec` comments cover a finding, as bandit reads them.

    Bandit skips a test when the finding's own line, or the first line with a
    `# nosec` in the range of the node the test looked at, names it (or names no
    test at all): `out = subprocess.run(  # nosec B603` covers the arguments on
    the lines below. That node is taken to be the innermost call, simple
    statement or `except` clause holding the finding.
    """

    def __init__(self, tree: ast.Module, lines: list[str]) -> None:
        self.lines = lines
        marked = [i for i, line in enumerate(lines) if "nosec" in line]
        self.comments = {i: t for i in marked if (t := nosec_tests(lines[i])) is not None}
        self.ranges: list[tuple[tuple[int, int], tuple[int, int]]] = []
        if self.comments:
            for node in ast.walk(tree):
                if isinstance(node, _SCOPES) and not isinstance(node, _COMPOUND):
                    end = ((node.end_lineno or node.lineno) - 1, node.end_col_offset or 0)
                    self.ranges.append(((node.lineno - 1, node.col_offset), end))

    def skips(self, f: Finding, test_id: str) -> bool:
        """Whether a `# nosec` covers finding `f` of bandit test `test_id`."""
        if not self.comments:
            return False
        base = self.comments.get(f.line)
        context = self._context(f)
        if base is None and context is None:
            return False
        tests = (base or set()) | (context or set())
        return not tests or test_id.upper() in tests

    def _context(self, f: Finding) -> set[str] | None:
        text = self.lines[f.line] if f.line < len(self.lines) else ""
        at = (f.line, len(text[: f.col].encode("utf-8", "surrogatepass")))
        # Nested nodes start later, or at the same place and end sooner.
        inner = max(
            (r for r in self.ranges if r[0] <= at < r[1]),
            key=lambda r: (r[0], (-r[1][0], -r[1][1])),
            default=None,
        )
        if inner is None:
            return None
        (first, _), (last, _) = inner
        return next((self.comments[i] for i in range(first, last + 1) if i in self.comments), None)
