"""The findings bandit reports and ruff's `S` rules do not, found as bandit finds them.

Used by `ruff_security.extras`: B101 on every `assert` (ruff skips those under
`if TYPE_CHECKING:`), B105 on a password-like key of a dict literal given a
constant, B311 on `random.sample` and `random.getrandbits`, and B201 on any
`<x>.run(debug=True)` in a file that imports a module named like flask.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from typing import Any

from tapps_lsp.review.analyzers.nosec import noqa
from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

# bandit 1.9's B105 names (plugins/general_hardcoded_password.py).
_W = "(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)"
_PASSWORD_NAME = re.compile(f"(^{_W}$|_{_W}_|^{_W}_|_{_W}$)", re.IGNORECASE)
# B311 calls that ruff's S311 does not list.
_RANDOM_EXTRAS = frozenset({"random.sample", "random.getrandbits"})


class BanditExtras:
    """One walk in bandit's order collecting what bandit reports and ruff's `S` rules do not.

    `pages` names each code's rule in ruff's documentation, for the finding's link.
    """

    def __init__(
        self, lines: list[str], asserts_reported: set[int], pages: Mapping[str, str]
    ) -> None:
        self.lines = lines
        self.pages = pages
        self.asserts_reported = asserts_reported
        self.aliases: dict[str, str] = {}
        self.imports: set[str] = set()
        self.found: list[Finding] = []

    def visit(self, tree: ast.AST) -> None:
        """Every node depth first in field order, as `ast.NodeVisitor` visits them (without
        its recursion and its method lookup per node); an import's names are not walked."""
        seen: dict[type, Callable[[Any], None]] = {
            ast.Assert: self.visit_Assert,
            ast.Dict: self.visit_Dict,
            ast.Call: self.visit_Call,
        }
        stack: list[ast.AST] = [tree]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Import or kind is ast.ImportFrom:
                self.visit_ImportFrom(node)  # type: ignore[arg-type]
                continue
            look = seen.get(kind)
            if look is not None:
                look(node)
            for name in reversed(node._fields):
                value = getattr(node, name, None)
                if isinstance(value, list):
                    stack.extend(item for item in reversed(value) if isinstance(item, ast.AST))
                elif isinstance(value, ast.AST):
                    stack.append(value)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        """Remember the names an import binds."""
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            self.imports.add(alias.name)

    def visit_ImportFrom(self, node: ast.Import | ast.ImportFrom) -> None:
        """Remember the names a from-import binds (an import's, without a module)."""
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            self.visit_Import(node)
            return
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            self.imports.add(f"{node.module}.{alias.name}")

    def visit_Assert(self, node: ast.Assert) -> None:
        """B101 on an assert ruff did not report."""
        if node.lineno - 1 not in self.asserts_reported:
            self._add("S101", "Use of `assert` detected", node, node)

    def visit_Dict(self, node: ast.Dict) -> None:
        """B105 on a password-like key given a constant."""
        for key, value in zip(node.keys, node.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _PASSWORD_NAME.search(key.value)
                and isinstance(value, ast.Constant)
            ):
                message = f'Possible hardcoded password assigned to: "{key.value}"'
                self._add("S105", message, key, value)

    def visit_Call(self, node: ast.Call) -> None:
        """B311 on the random calls ruff skips; B201 on `<x>.run(debug=True)` with flask."""
        name = _call_name(node.func, self.aliases)
        if name in _RANDOM_EXTRAS:
            message = (
                "Standard pseudo-random generators are not suitable for cryptographic purposes"
            )
            self._add("S311", message, node, node)
        if name.endswith(".run") and any("flask" in i for i in self.imports):
            debug = next((k for k in node.keywords if k.arg == "debug"), None)
            if debug is not None and _literal(debug.value) == "True":
                self._add("S201", "Use of `debug=True` in Flask app detected", debug, debug)

    def _add(self, code: str, message: str, start: ast.AST, end: ast.AST) -> None:
        line = start.lineno - 1  # type: ignore[attr-defined]
        end_line = (end.end_lineno or end.lineno) - 1  # type: ignore[attr-defined]
        text = self.lines[line] if line < len(self.lines) else ""
        if noqa(text, code):
            return
        end_text = self.lines[end_line] if end_line < len(self.lines) else ""
        self.found.append(
            Finding(
                source="tapps",
                code=code,
                message=message,
                severity="information",
                category="security",
                line=line,
                col=utf8_byte_to_codepoint(text, start.col_offset),  # type: ignore[attr-defined]
                end_line=end_line,
                end_col=utf8_byte_to_codepoint(end_text, end.end_col_offset or 0),  # type: ignore[attr-defined]
                url=f"https://docs.astral.sh/ruff/rules/{self.pages[code]}",
                data={"name": self.pages[code]},
            )
        )


def _call_name(func: ast.expr, aliases: dict[str, str]) -> str:
    """The dotted name bandit gives a call (`utils.get_call_name`): "" when not a name."""
    if isinstance(func, ast.Name):
        return aliases.get(func.id, func.id)
    if isinstance(func, ast.Attribute):
        name = f"{_call_name(func.value, aliases)}.{func.attr}"
        return aliases.get(name, name)
    return ""


def _literal(node: ast.expr) -> object:
    """A keyword's value as bandit compares it: `True`, `None` as strings; an attribute's name."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant):
        return str(node.value) if node.value is None or isinstance(node.value, bool) else node.value
    return None
