"""Parsing, and the file that does not parse: a syntax error, or syntax newer than ours.

The engine parses each file once (`parse`), as the project's Python would
where ours can; the tree is every TREE-stage analyzer's. For a file that does
not parse, `Syntax` reports the error ruff did not (ruff missing, or syntax
newer than ours), or, when ruff reads the file and only our Python cannot, one
notice saying which Python would measure it.
"""

from __future__ import annotations

import ast
import warnings

from tapps_lsp.review import target
from tapps_lsp.review.analyzers import ToolError, ruff
from tapps_lsp.review.analyzers.base import Analyzer, Outcome, Source, Stage
from tapps_lsp.review.model import Finding

TOO_DEEP = "too deeply nested for Python's parser"


def parse(text: str, python: str = "") -> ast.Module | SyntaxError:
    """The tree, parsed as the project's Python (`python`, "3.9") would where ours can."""
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences are ruff's to report, not stderr's.
            warnings.simplefilter("ignore")
            return ast.parse(text, feature_version=target.feature_version(python))
    except SyntaxError as exc:
        return exc
    except (RecursionError, MemoryError):
        return SyntaxError(TOO_DEEP)


def syntax_finding(exc: object, lines: list[str], python: str = "") -> Finding:
    """A parse error that ruff did not report (ruff missing, or newer syntax than ours)."""
    line = max((getattr(exc, "lineno", None) or 1) - 1, 0)
    line = min(line, len(lines) - 1)
    col = max((getattr(exc, "offset", None) or 1) - 1, 0)
    col = min(col, len(lines[line]))
    message = getattr(exc, "msg", None) or str(exc)
    return Finding(
        source="tapps",
        code="TAPPS-SYNTAX",
        message=(
            f"Syntax error for Python {_parsed_as(python)}: {message} "
            "(complexity, maintainability, security and performance not measured)"
        ),
        severity="error",
        category="complexity",
        line=line,
        col=col,
        end_line=line,
        end_col=len(lines[line]),
    )


def _parsed_as(python: str) -> str:
    """The Python our parse stood for: the project's when ours could, else ours."""
    version = target.feature_version(python)
    return f"{version[0]}.{version[1]}" if version else target.server_python()


def newer_python(source: Source) -> str | None:
    """The Python a file's syntax needs when it is newer than ours, else None.

    ruff, told the project's Python, found no syntax error; told ours, it names
    the Python its syntax needs. Nesting too deep for our parser is no newer syntax.
    """
    ours = target.ruff_target(target.server_python())
    if ours is None or isinstance(source.tree, SyntaxError) and TOO_DEEP in str(source.tree):
        return None
    try:
        rows = ruff.probe_syntax(source.text, source.filename, ours, source.settings.toolTimeout)
    except ToolError:
        return None
    needs = target.newer_syntax(target.parse_rows(rows))
    version = target.version_tuple(needs) if needs else None
    return needs if version is not None and version > target.SERVER else None


def _newer_notice(needs: str) -> Finding:
    server = target.server_python()
    return Finding.notice(
        "TAPPS-PYTHON",
        f"Python {needs} syntax: {', '.join(target.PARSED_CATEGORIES)} not measured (needs "
        f"Python {needs}; the server runs {server}). To measure them, install tapps-lsp in a "
        f"Python {needs} or newer (`pipx install --python python{needs} tapps-lsp`) and run "
        "the server with it (VS Code: `tapps.interpreter`; Neovim: `g:tapps_python`).",
    )


class Syntax(Analyzer):
    """A file that does not parse: TAPPS-SYNTAX, or TAPPS-PYTHON for newer syntax.

    After the budget: the probe is a ruff process, and a file over its budget is
    not measured at all.
    """

    name = "syntax"
    stage = Stage.AFTER

    def wanted(self, source: Source) -> bool:
        """Only for a file that does not parse."""
        return source.module is None

    def analyze(self, source: Source) -> Outcome:
        """The error (unless ruff reported it) and the counts a broken file still has."""
        loc = len(source.text.splitlines())  # as radon counts lines
        if any(f.code in ruff.SYNTAX_CODES for f in source.lint or ()):
            return Outcome(metrics={"syntax_error": True, "loc": loc})
        needs = newer_python(source) if source.lint is not None else None
        if needs is not None:
            return Outcome([_newer_notice(needs)], {"needs_python": needs, "loc": loc})
        python = source.settings.pythonVersion
        finding = syntax_finding(source.tree, source.lines, python)
        return Outcome([finding], {"syntax_error": True, "loc": loc})


ANALYZER = Syntax()
