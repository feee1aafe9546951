"""The performance heuristics (analyzers/performance.py), fed by fastmetrics' walk.

`Walker` observes the one walk of the tree that computes radon's numbers
(`fastmetrics.Observer`) and gives the heuristics' penalties, bonuses and
findings, as a recursion over the statements would give them, in its order:
a function's decorators' comprehensions, its length, its body, then its
nesting; a statement's own comprehensions (each of its expressions breadth
first), its loop, then its blocks (`body`, `orelse`, `finalbody`, handlers,
cases). Only what that recursion looked at counts: a statement's own
expressions and a def's decorators, not a def's arguments, a class's bases,
an `except` clause's type or a `case` pattern or guard.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tapps_lsp.review.fastmetrics import ScopeEnd
from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

__all__ = ["BLOCK_STATEMENTS", "Performance", "Walker", "name_span"]

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
_BLOCKS = tuple(kind for kind in BLOCK_STATEMENTS if kind not in (ast.Try, ast.TryStar))
# Statements without blocks of statements.
_SIMPLE_STATEMENTS = tuple(
    kind
    for kind in ast.stmt.__subclasses__()
    if kind not in (*BLOCK_STATEMENTS, *_FUNCTIONS, ast.ClassDef)
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_CACHE_DECORATORS = frozenset({"lru_cache", "cache"})
# Every comprehension has a `for` and every yield a `yield` on one of its lines: an
# expression whose lines have neither needs no walk (most of them; a third of the time).
_HINT = re.compile(r"\b(?:for|yield)\b")
_DEF = re.compile(r"def\s+")
_DEF_OR_CLASS = re.compile(r"(?:def|class)\s+")
_WORD = re.compile(r"\w")
_KEYWORD = re.compile(r"(?:async\s+)?\w+")
# An expression on at most this many lines is looked at line by line, not by the table.
_FEW_LINES = 8


@dataclass
class Performance:
    """What the heuristics found in one file."""

    penalties: dict[str, float] = field(default_factory=dict)
    bonuses: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


class _Function:
    """A function body (or the module): nesting restarts there."""

    __slots__ = ("name", "deepest", "node")

    def __init__(self, name: str) -> None:
        self.name = name
        self.deepest = 0  # the deepest nesting ...
        self.node: ast.stmt | None = None  # ... and the first statement that reaches it


class _State:
    """Where a statement sits: its function, nesting depth and loops around it; and, for
    the expressions below it, the statement they belong to (None: not looked at)."""

    __slots__ = ("function", "depth", "loops", "owner")

    def __init__(self, function: _Function, depth: int, loops: int, owner: ast.AST | None):
        self.function = function
        self.depth = depth
        self.loops = loops
        self.owner = owner


class Walker:
    """The heuristics as an observer of fastmetrics' one walk of the tree.

    The walk meets statements in the order of a recursion over their blocks, so
    findings, penalties and bonuses come out in that order. A simple statement
    hands itself to its expressions as their state, a block statement a `_State`.
    A comprehension with more calls than allowed has its statement's expressions
    looked at as a whole (`_Expressions`), which reports them in their order.
    """

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.result = Performance()
        self.module = _Function("module")
        self.root = _State(self.module, 0, 0, None)
        self.expressions = _Expressions(lines, self.result)
        self.seen: set[ast.AST] = set()  # statements whose expressions were looked at
        simple = {kind: _simple for kind in _SIMPLE_STATEMENTS}
        self.hooks: dict[type, Callable[[Any, Any], Any]] = {
            **simple,
            **dict.fromkeys(_FUNCTIONS, self.function),
            ast.ClassDef: _transparent,
            **dict.fromkeys(_BLOCKS, self.block),
            ast.Try: self.try_block,
            ast.TryStar: self.try_block,
            ast.match_case: _case,
            ast.Yield: self.yields,
            ast.YieldFrom: self.yields,
            **dict.fromkeys(_COMPREHENSIONS, self.comprehension),
            ScopeEnd: self.scope_end,
        }

    def finish(self) -> Performance:
        """The result, once the walk is over."""
        self._nesting(self.module)
        return self.result

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, state: _State) -> _State:
        """A def: its bonuses, its decorators' expressions, its length; a new scope."""
        bonuses = self.result.bonuses
        if isinstance(node, ast.AsyncFunctionDef):
            bonuses["async"] = BONUSES["async"]
        if any(_decorator_name(d) in _CACHE_DECORATORS for d in node.decorator_list):
            bonuses["cache"] = BONUSES["cache"]
        for d in node.decorator_list:
            self.expressions.of(d)
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        for limit, penalty in LONG_FUNCTION:
            if length > limit:
                self.expressions.penalise("long_function", penalty)
                self.expressions.add(
                    "TAPPS-PERF-LONG",
                    f"Function {node.name} is {length} lines long (more than {limit})",
                    node,
                    name=node.name,
                )
                break
        return _State(_Function(f"function {node.name}"), 0, 0, None)

    def scope_end(self, node: ScopeEnd, state: _State) -> _State:
        """The end of a def's body."""
        self._nesting(state.function)
        return state

    def _nesting(self, function: _Function) -> None:
        depth, node = function.deepest, function.node
        for limit, penalty in DEEP_NESTING:
            if depth > limit and node is not None:
                self.expressions.penalise("deep_nesting", penalty)
                self.expressions.add(
                    "TAPPS-PERF-NEST",
                    f"Nesting depth {depth} in {function.name} "
                    f"(more than {DEEP_NESTING[-1][0]} levels)",
                    node,
                    keyword=True,
                )
                break

    def block(self, node: ast.stmt, state: _State) -> _State:
        """A statement that opens a nesting level (an `elif` does not), maybe a loop."""
        depth, loops = state.depth, state.loops
        if not self._is_elif(node):
            depth += 1
            function = state.function
            if depth > function.deepest:
                function.deepest, function.node = depth, node
        if isinstance(node, _LOOPS):
            loops += 1
            if loops == 2:  # report a nest once, at its second loop, after its expressions
                self._expressions_of(node)
                self.expressions.penalise("nested_loop", NESTED_LOOP)
                self.expressions.add(
                    "TAPPS-PERF-LOOP",
                    f"Loop nested in a loop in {state.function.name}",
                    node,
                    keyword=True,
                )
        return _State(state.function, depth, loops, node)

    def try_block(self, node: ast.Try | ast.TryStar, state: _State) -> _State:
        """A try statement: a nesting level; its handlers' types are not looked at."""
        inner = self.block(node, state)
        inner.owner = None
        return inner

    def yields(self, node: ast.Yield | ast.YieldFrom, state: object) -> object:
        """A yield (only legal inside a function: that function is a generator)."""
        if _owner(state) is not None:
            self.result.bonuses["generator"] = BONUSES["generator"]
        return state

    def comprehension(self, node: ast.expr, state: object) -> object:
        """A comprehension: one with many calls has its statement's expressions reported."""
        owner = _owner(state)
        if owner is not None and owner not in self.seen and _heavy(node):
            self._expressions_of(owner)
        return state

    def _expressions_of(self, node: ast.AST) -> None:
        if node not in self.seen:
            self.seen.add(node)
            self.expressions.of(node)

    def _is_elif(self, node: ast.stmt) -> bool:
        # `elif` is an If inside an If's else branch; it does not nest visually.
        if not isinstance(node, ast.If):
            return False
        text = self.lines[node.lineno - 1] if node.lineno - 1 < len(self.lines) else ""
        return text.lstrip().startswith("elif")


def _simple(node: ast.stmt, state: object) -> ast.stmt:
    """A statement without blocks: its expressions are its own."""
    return node


def _transparent(node: ast.ClassDef, state: object) -> object:
    """A class: its body nests as if the class were not there."""
    return state


def _case(node: ast.match_case, state: _State) -> _State:
    """A `case`: its pattern and guard are not looked at, its body is."""
    return _State(state.function, state.depth, state.loops, None)


def _owner(state: object) -> ast.AST | None:
    """The statement whose expressions these are (None: not looked at)."""
    if type(state) is _State:
        return state.owner
    return state  # type: ignore[return-value]


def _heavy(node: ast.expr) -> bool:
    """More calls than COMPREHENSION_CALLS in a comprehension (nested ones included)."""
    calls = 0
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            calls += 1
            if calls > COMPREHENSION_CALLS:
                return True
    return False


class _Expressions:
    """The findings of one file, and the comprehensions and yields of a statement's own
    expressions, each walked breadth first as a whole."""

    def __init__(self, lines: list[str], result: Performance) -> None:
        self.lines = lines
        self.result = result
        self._hints: list[int] | None = None

    def hints(self) -> list[int]:
        """hints[i]: how many of the first i lines mention `for` or `yield`."""
        if self._hints is None:
            self._hints = [0]
            for text in self.lines:
                self._hints.append(self._hints[-1] + (_HINT.search(text) is not None))
        return self._hints

    def _may_hold_hint(self, node: ast.AST) -> bool:
        first = getattr(node, "lineno", None)
        if first is None:  # arguments, withitem, ...: no position to judge by
            return True
        last = min(getattr(node, "end_lineno", None) or first, len(self.lines))
        start = min(first, last + 1) - 1
        if last - start <= _FEW_LINES:  # a decorator, a loop's header: no table needed
            return any(_HINT.search(line) for line in self.lines[start:last])
        hints = self.hints()
        return bool(hints[last] > hints[start])

    def penalise(self, kind: str, amount: float) -> None:
        """Count a penalty once per file, the worst instance."""
        self.result.penalties[kind] = max(self.result.penalties.get(kind, 0.0), amount)

    def of(self, node: ast.AST) -> None:
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
            end_line = line
            col, end_col = name_span(text, name, col, _DEF) or (col, len(text))
        elif keyword:
            m = _KEYWORD.match(text, col)
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


def name_span(
    text: str, name: str, start: int, keyword: re.Pattern[str] = _DEF_OR_CLASS
) -> tuple[int, int] | None:
    """Where `name` first follows `keyword` in `text` from `start`, as a whole word: what
    `re.search(keyword + re.escape(name) + r"\b", text, start)` finds for the name, without
    compiling a pattern for every name (more names than the `re` module's cache holds)."""
    for found in keyword.finditer(text, start):
        at = found.end()
        end = at + len(name)
        if text.startswith(name, at) and _boundary(text, end):
            return at, end
    return None


def _boundary(text: str, at: int) -> bool:
    """`\b` at `at`: a word character on one side only (the ends count as non-word)."""
    before = at > 0 and _WORD.match(text, at - 1) is not None
    return before != (_WORD.match(text, at) is not None)


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
