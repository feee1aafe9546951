"""Security issues with bandit, in-process.

Building bandit's manager loads every plugin through entry points, which costs
far more than scanning a file; it is built once per process (`warm_up`) and
its test set reused. Each scan runs bandit's own node visitor over the tree the
engine already parsed, with `# nosec` comments read as bandit reads them, so
every test behaves as in `bandit -`. The file name is "<stdin>", which also
keeps bandit from looking at the disk for `__init__.py` files. Nothing is
shared between scans but the read-only test set. Bandit's columns are 0-based
UTF-8 byte offsets.
"""

from __future__ import annotations

import ast
import io
import logging
import tokenize
import warnings
from functools import cache
from typing import Any

from tapps_lsp.review.analyzers import ToolError
from tapps_lsp.review.analyzers.base import Analyzer, Outcome, Source, Stage
from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

SEVERITY = {"HIGH": "error", "MEDIUM": "warning", "LOW": "information"}

_STDIN = "<stdin>"


@cache
def _manager() -> Any:  # bandit.core.manager.BanditManager (imported lazily: it is slow)
    """Bandit's manager with every plugin loaded, once per process."""
    # Bandit warns for every in-memory file that it cannot derive a module name,
    # and its plugin loader logs an error for each optional report formatter
    # whose package is absent; neither concerns a review.
    logging.getLogger("bandit").setLevel(logging.ERROR)
    logging.getLogger("stevedore").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        # The plugin loader passes an argument stevedore has deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        from bandit.core import config, manager

        return manager.BanditManager(config.BanditConfig(), "file")


def warm_up() -> None:
    """Load bandit and its plugins now rather than on the first file."""
    try:
        _manager()
    except Exception:  # noqa: BLE001 - reported by scan() when it is needed
        _manager.cache_clear()


def scan(text: str, lines: list[str], tree: ast.Module) -> tuple[list[Finding], dict[str, int]]:
    """Bandit's issues for `text` (parsed as `tree`) and their count per severity."""
    try:
        m = _manager()
        from bandit.core import docs_utils, metrics, node_visitor
    except Exception as exc:  # a missing or broken install
        _manager.cache_clear()
        raise ToolError(f"bandit could not load: {exc}") from exc
    data = text.encode("utf-8", "surrogatepass")
    fdata = io.BytesIO(data)
    counter = metrics.Metrics()
    counter.begin(_STDIN)
    # What BanditManager._parse_file and BanditNodeVisitor.process do, minus
    # parsing the file a second time and tokenizing it when it has no `nosec`.
    nosec_lines = _nosec_lines(data)
    visitor = node_visitor.BanditNodeVisitor(
        _STDIN, fdata, m.b_ma, m.b_ts, False, nosec_lines, counter
    )
    if not nosec_lines:
        # With no `# nosec` in the file every lookup finds nothing, but bandit
        # would still walk each node's whole line range for every test, which is
        # quadratic in a big literal (15 s for a 5000-line dict of strings).
        visitor.tester._get_nosecs_from_contexts = _no_nosec
    visitor.generic_visit(tree)
    visitor.context = {
        "file_data": fdata,
        "filename": _STDIN,
        "lineno": 0,
        "linerange": [0, 1],
        "col_offset": 0,
    }
    visitor.update_scores(visitor.tester.run_tests(visitor.context, "File"))
    counts = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    findings = []
    for issue in visitor.tester.results:
        counts[issue.severity] = counts.get(issue.severity, 0) + 1
        findings.append(_finding(issue, lines, docs_utils.get_url(issue.test_id)))
    return findings, counts


def _no_nosec(context: dict[str, Any], test_result: object = None) -> None:
    """BanditTester._get_nosecs_from_contexts for a file without `# nosec` comments."""
    return None


def _nosec_lines(data: bytes) -> dict[int, set[str] | None]:
    """Line -> the tests a `# nosec` comment there skips (empty set: all), as bandit reads them."""
    if b"nosec" not in data:  # bandit's NOSEC_COMMENT pattern needs this literal
        return {}
    from bandit.core.manager import _parse_nosec_comment

    found = {}
    try:
        for tok in tokenize.tokenize(io.BytesIO(data).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = _parse_nosec_comment(tok.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def _finding(issue: Any, lines: list[str], url: str) -> Finding:
    """One of bandit's issues as a finding."""
    line = max(issue.lineno - 1, 0)
    text = lines[line] if line < len(lines) else ""
    first = issue.linerange[0] if issue.linerange else issue.lineno
    if first == issue.lineno:
        col = utf8_byte_to_codepoint(text, max(issue.col_offset, 0))
    else:
        # Bandit moved the line to the culprit inside a multi-line node (the
        # `shell=True` of a call); its column still belongs to the node's first
        # line, so start at the culprit line's code instead.
        col = len(text) - len(text.lstrip())
    end_line = max(max(issue.linerange, default=issue.lineno) - 1, line)
    end_text = lines[end_line] if end_line < len(lines) else ""
    end_col = utf8_byte_to_codepoint(end_text, issue.end_col_offset or 0)
    if (end_line, end_col) <= (line, col):
        # No usable end from bandit: underline to the end of the line.
        end_line, end_col = line, len(text)
    cwe = issue.cwe.id if issue.cwe and issue.cwe.id else None
    data: dict[str, Any] = {"confidence": issue.confidence, "test": issue.test}
    if cwe:
        data["cwe"] = cwe
    return Finding(
        source="bandit",
        code=issue.test_id,
        message=issue.text + (f" (CWE-{cwe})" if cwe else ""),
        severity=SEVERITY.get(issue.severity, "information"),
        category="security",
        line=line,
        col=col,
        end_line=end_line,
        end_col=end_col,
        url=url,
        data=data,
    )


class Bandit(Analyzer):
    """Security with bandit: the `bandit` engine, and the stand-in when ruff could not run,
    so that a broken ruff never reads as a clean security score."""

    name = "bandit"
    stage = Stage.TREE

    def _engine(self, source: Source) -> bool:
        return source.settings.securityEngine == "bandit" or source.lint is None

    def prepare(self, source: Source) -> None:
        """Load bandit once per process, outside the budget: it is not this file's cost."""
        if self._engine(source):
            warm_up()

    def wanted(self, source: Source) -> bool:
        """For a file that parses, when bandit is the security engine (or stands in)."""
        return source.module is not None and self._engine(source)

    def analyze(self, source: Source) -> Outcome:
        """Bandit's issues; the last of the tree's users: bandit annotates the nodes."""
        tree = source.module
        assert tree is not None  # wanted() said so
        findings, counts = scan(source.text, source.lines, tree)
        return Outcome(findings, {"security_counts": counts})


ANALYZER = Bandit()
