"""Performance heuristics on the AST (SCORING.md, performance).

Penalties (each kind counted once per file, the worst instance wins):
long functions, deep nesting, a loop nested in a loop, a comprehension with
many calls. Bonuses (each once): functools caching, `async def`, generators.
Every offending function or loop also gets an Information finding.

Loops here are `for`/`while` statements; comprehensions are judged by their
call count, so `sum(x for x in row)` inside a loop is not a nested loop.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from tapps_lsp.review.analyzers.base import Outcome, Source, TreeAnalyzer
from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

LONG_FUNCTION = ((100, 1.5), (50, 0.5))  # (more than N lines, penalty), worst first
DEEP_NESTING = ((6, 2.0), (4, 1.0))  # (more than N levels, penalty)
NESTED_LOOP = 1.5
COMPREHENSION_CALLS = 5  # more calls than this in one comprehension ...
HEAVY_COMPREHENSION = 0.5  # ... costs this
BONUSES = {"cache": 1.5, "async": 1.0, "generator": 0.5}

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
# Statements that open a nesting level.
BLOCK_STATEMENTS: tuple[type[ast.stmt], ...] = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_CACHE_DECORATORS = frozenset({"lru_cache", "cache"})
# Every comprehension has a `for` and every yield a `yield` on one of its lines: an
# expression whose lines have neither needs no walk (most of them; a third of the time).
_HINT = re.compile(r"\b(?:for|yield)\b")


@dataclass
class Performance:
    """What the heuristics found in one file."""

    penalties: dict[str, float] = field(default_factory=dict)
    bonuses: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def analyze(tree: ast.Module, lines: list[str]) -> Performance:
    """The penalties, bonuses and findings of one module."""
    visitor = _Visitor(lines)
    visitor.scope(tree.body, "module")
    return visitor.result


class _Visitor:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.result = Performance()
        # hints[i]: how many of the first i lines mention `for` or `yield`.
        self.hints = [0]
        for text in lines:
            self.hints.append(self.hints[-1] + (_HINT.search(text) is not None))

    def _may_hold_hint(self, node: ast.AST) -> bool:
        first = getattr(node, "lineno", None)
        if first is None:  # arguments, withitem, ...: no position to judge by
            return True
        last = min(getattr(node, "end_lineno", None) or first, len(self.lines))
        return bool(self.hints[last] > self.hints[min(first, last + 1) - 1])

    def penalise(self, kind: str, amount: float) -> None:
        self.result.penalties[kind] = max(self.result.penalties.get(kind, 0.0), amount)

    def scope(self, body: list[ast.stmt], name: str) -> None:
        """One function body (or the module): nesting and loops restart here."""
        self.name = name
        self.deepest: tuple[int, ast.stmt | None] = (0, None)
        for stmt in body:
            self.statement(stmt, depth=0, loops=0)
        depth, node = self.deepest
        for limit, penalty in DEEP_NESTING:
            if depth > limit and node is not None:
                self.penalise("deep_nesting", penalty)
                self.add(
                    "TAPPS-PERF-NEST",
                    f"Nesting depth {depth} in {name} (more than {DEEP_NESTING[-1][0]} levels)",
                    node,
                    keyword=True,
                )
                break

    def statement(self, node: ast.stmt, depth: int, loops: int) -> None:
        if isinstance(node, _FUNCTIONS):
            self.function(node)
            return
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                self.statement(stmt, depth, loops)
            return
        self.expressions(node)
        if isinstance(node, BLOCK_STATEMENTS) and not self._is_elif(node):
            depth += 1
            if depth > self.deepest[0]:
                self.deepest = (depth, node)
        if isinstance(node, _LOOPS):
            loops += 1
            if loops == 2:  # report a nest once, at its second loop
                self.penalise("nested_loop", NESTED_LOOP)
                self.add(
                    "TAPPS-PERF-LOOP", f"Loop nested in a loop in {self.name}", node, keyword=True
                )
        for child in _child_blocks(node):
            for stmt in child:
                self.statement(stmt, depth, loops)

    def _is_elif(self, node: ast.stmt) -> bool:
        # `elif` is an If inside an If's else branch; it does not nest visually.
        if not isinstance(node, ast.If):
            return False
        text = self.lines[node.lineno - 1] if node.lineno - 1 < len(self.lines) else ""
        return text.lstrip().startswith("elif")

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        saved = (self.name, self.deepest)
        if isinstance(node, ast.AsyncFunctionDef):
            self.result.bonuses["async"] = BONUSES["async"]
        if any(_decorator_name(d) in _CACHE_DECORATORS for d in node.decorator_list):
            self.result.bonuses["cache"] = BONUSES["cache"]
        for d in node.decorator_list:
            self.expressions(d)
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        for limit, penalty in LONG_FUNCTION:
            if length > limit:
                self.penalise("long_function", penalty)
                self.add(
                    "TAPPS-PERF-LONG",
                    f"Function {node.name} is {length} lines long (more than {limit})",
                    node,
                    name=node.name,
                )
                break
        self.scope(node.body, f"function {node.name}")
        self.name, self.deepest = saved

    def expressions(self, node: ast.AST) -> None:
        """Comprehensions and yields in the statement itself (not in nested statements)."""
        for expr in _own_expressions(node):
            if not self._may_hold_hint(expr):
                continue
            for sub in ast.walk(expr):
                if isinstance(sub, (ast.Yield, ast.YieldFrom)):
                    # Only legal inside a function: that function is a generator.
                    self.result.bonuses["generator"] = BONUSES["generator"]
                elif isinstance(sub, _COMPREHENSIONS):
                    calls = sum(isinstance(n, ast.Call) for n in ast.walk(sub))
                    if calls > COMPREHENSION_CALLS:
                        self.penalise("heavy_comprehension", HEAVY_COMPREHENSION)
                        self.add(
                            "TAPPS-PERF-COMP",
                            f"Comprehension with {calls} calls (more than "
                            f"{COMPREHENSION_CALLS}); consider a loop or a helper",
                            sub,
                        )

    def add(
        self, code: str, message: str, node: ast.AST, *, name: str = "", keyword: bool = False
    ) -> None:
        line = node.lineno - 1  # type: ignore[attr-defined]
        text = self.lines[line] if line < len(self.lines) else ""
        col = utf8_byte_to_codepoint(text, node.col_offset)  # type: ignore[attr-defined]
        if name:
            m = re.compile(r"def\s+(" + re.escape(name) + r")\b").search(text, col)
            col, end_line, end_col = (m.start(1), line, m.end(1)) if m else (col, line, len(text))
        elif keyword:
            m = re.compile(r"(?:async\s+)?\w+").match(text, col)
            end_line, end_col = line, m.end() if m else len(text)
        else:
            end_line = (node.end_lineno or node.lineno) - 1  # type: ignore[attr-defined]
            end_text = self.lines[end_line] if end_line < len(self.lines) else ""
            end_col = utf8_byte_to_codepoint(end_text, node.end_col_offset or 0)  # type: ignore[attr-defined]
        self.result.findings.append(
            Finding(
                source="tapps",
                code=code,
                message=message,
                severity="information",
                category="performance",
                line=line,
                col=col,
                end_line=end_line,
                end_col=end_col,
            )
        )


def _child_blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    blocks = [getattr(node, f, None) for f in ("body", "orelse", "finalbody")]
    out = [b for b in blocks if isinstance(b, list)]
    out += [h.body for h in getattr(node, "handlers", [])]
    out += [c.body for c in getattr(node, "cases", [])]
    return out


def _own_expressions(node: ast.AST) -> list[ast.AST]:
    """The expressions of a statement, leaving out its nested statement blocks."""
    out: list[ast.AST] = []
    for name, value in ast.iter_fields(node):
        if name in ("body", "orelse", "finalbody", "handlers", "cases"):
            continue
        values = value if isinstance(value, list) else [value]
        out += [v for v in values if isinstance(v, ast.AST)]
    return out


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


class Heuristics(TreeAnalyzer):
    """The performance heuristics as an analyzer: findings, penalties and bonuses."""

    name = "performance"

    def analyze(self, source: Source) -> Outcome:
        """The heuristics on the file's tree."""
        tree = source.module
        assert tree is not None  # wanted() said so
        found = analyze(tree, source.lines)
        metrics: dict[str, object] = {
            "perf_penalties": found.penalties,
            "perf_bonuses": found.bonuses,
        }
        return Outcome(found.findings, metrics)


ANALYZER = Heuristics()
