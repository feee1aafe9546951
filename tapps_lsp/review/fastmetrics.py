"""radon's complexity, Halstead volume, raw counts and maintainability index in one pass.

radon needs two tree walks (ComplexityVisitor, HalsteadVisitor) and, for its raw
counts, tokenizes every stripped line alone and re-tokenizes a multi-line
statement once per extra line it spans, so its cost grows with the square of a
statement's length (rubik/radon#223). Here one iterative walk of one tree gives
both visitors' numbers, and one pass over the same stripped lines gives the raw
counts (see fastraw.py's `raw_metrics`), in time linear in the text's size. The
same walk feeds an `Observer` (the performance heuristics, fastperf.py), so the
tree is walked once for both. The numbers are
radon's, quirks included (tests/test_fastmetrics_differential.py proves it on
the standard library):

- a function's end line is the largest `lineno` radon's visitor reaches in the
  function's last statement, skipping nested defs, classes and asserts;
- the arguments and decorators of a def count for neither CC nor Halstead; a
  class's bases and decorators count for Halstead only; an assert counts 1 and
  nothing inside it counts for CC;
- `except*` (TryStar) and `with` add no complexity;
- Halstead operands are keyed by the innermost function's name and by value, so
  `1`, `1.0` and `True` are one operand, and any other expression is its own;
- a line is what `str.splitlines` returns, so a form feed starts a new line, and
  a colon anywhere in a logical line but at its end makes it two logical lines.

Where radon's raw analysis gives up (a stripped line that tokenizes to an error
token, e.g. a single-quoted string holding a form feed, or a statement left open
at the end) we carry on and say so in `FastMetrics.raw_note`.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tapps_lsp.review.fastcounts import DECISIONS, HALSTEAD
from tapps_lsp.review.fastraw import Raw, raw_metrics

__all__ = ["FastBlock", "FastMetrics", "Observer", "ScopeEnd", "cc_rank", "compute"]

_NO_LINE = float("-inf")  # radon's starting max_line: "no line seen yet"


@dataclass(frozen=True, slots=True)
class FastBlock:
    """A function, method or class as radon's cc_visit reports it.

    `lineno` is 1-based and `col` is ast's col_offset (UTF-8 bytes), as radon
    gives them. `closures` and `inner_classes` are the blocks radon nests
    instead of listing (its `add_inner_blocks` would list them, renamed).
    """

    name: str
    kind: str  # "function" | "method" | "class"
    lineno: int
    col: int
    endline: int
    complexity: int
    rank: str
    classname: str | None = None
    closures: tuple[FastBlock, ...] = ()
    methods: tuple[FastBlock, ...] = ()
    inner_classes: tuple[FastBlock, ...] = ()

    @property
    def fullname(self) -> str:
        """`Class.method` for a method, else the name (radon's `fullname`)."""
        return f"{self.classname}.{self.name}" if self.classname else self.name


@dataclass(frozen=True, slots=True)
class FastMetrics:
    """What radon's cc_visit, h_visit, analyze and mi_visit(multi=True) give for one text."""

    blocks: list[FastBlock]  # in cc_visit's order
    total_complexity: int  # ComplexityVisitor.total_complexity, an input of MI
    halstead: tuple[int, int, int, int]  # the module's h1, h2, N1, N2
    halstead_volume: float  # h_visit(...).total.volume
    raw: Raw
    mi: float
    # Why radon's raw analysis would raise SyntaxError on this text; None when it would not.
    raw_note: str | None = None


def cc_rank(cc: int) -> str:
    """radon's rank letter: A for 1-5, B 6-10, C 11-20, D 21-30, E 31-40, F above."""
    return chr(min(int(math.ceil(cc / 10.0) or 1) - (1, 0)[5 - cc < 0], 5) + 65)


def compute(
    text: str, tree: ast.Module | None = None, observer: Observer | None = None
) -> FastMetrics:
    """All the numbers for `text`; `tree` is `ast.parse(text)` when the caller has it.

    `observer` is fed the same walk (see `Observer`), so that one walk of the tree
    serves every analysis that needs one. Raises SyntaxError when `text` does not
    parse (null bytes and nesting too deep for the parser included); never raises
    otherwise (unless the observer does).
    """
    if tree is None:
        try:
            with warnings.catch_warnings():
                # Invalid escape sequences are a linter's to report.
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (ValueError, RecursionError, MemoryError) as exc:
            raise SyntaxError(f"not parsable: {exc}") from exc
    blocks, total, (h1, h2, n1, n2) = _walk(tree, observer)
    raw, note = raw_metrics(text)
    h, n = h1 + h2, n1 + n2
    volume = n * math.log(h, 2) if h != 0 else 0
    comment_lines = raw.comments + raw.multi
    comments = comment_lines / float(raw.sloc) * 100 if raw.sloc != 0 else 0
    mi = _mi_compute(volume, total, raw.lloc, comments)
    return FastMetrics(blocks, total, (h1, h2, n1, n2), volume, raw, mi, note)


def _mi_compute(volume: float, complexity: int, lloc: int, comments: float) -> float:
    # radon.metrics.mi_compute, operation for operation so the floats are equal.
    if volume <= 0 or lloc <= 0:
        return 100.0
    nn_mi = (
        171
        - 5.2 * math.log(volume)
        - 0.23 * complexity
        - 16.2 * math.log(lloc)
        + 50 * math.sin(math.sqrt(2.46 * math.radians(comments)))
    )
    return min(max(0.0, nn_mi * 100 / 171.0), 100.0)


class _Scope:
    """What one radon ComplexityVisitor accumulates for a body."""

    __slots__ = ("complexity", "functions", "classes", "to_method", "classname")

    def __init__(self, to_method: bool, classname: str | None) -> None:
        self.complexity = 0
        self.functions: list[_Pending] = []
        self.classes: list[_Pending] = []
        self.to_method = to_method
        self.classname = classname


class _Pending:
    """A block whose numbers are known once its body has been walked."""

    __slots__ = ("node", "kind", "classname", "body", "last_line", "block")
    block: FastBlock  # set by _finish

    def __init__(self, node: Any, kind: str, classname: str | None, body: _Scope) -> None:
        self.node = node
        self.kind = kind
        self.classname = classname
        self.body = body
        # radon's max_line of the last statement (function) or all statements (class)
        self.last_line: list[float] = [_NO_LINE]


_Hook = Callable[[Any, Any], Any]
_NO_HOOKS: dict[type, _Hook] = {}


class Observer(Protocol):
    """Another analysis fed by the same walk (the performance heuristics).

    Each node the walk meets carries the observer's state for it, which its
    parent's hook returned (the root's is `root`; a def's body gets what the
    def's hook returns, a class's bases and decorators get None). The walk meets
    a `try` statement's blocks in the order body, `else`, `finally`, handlers
    (statements are met in the order of a recursion over `body`, `orelse`,
    `finalbody`, `handlers` and `cases`, the order the heuristics report in);
    the numbers do not depend on it. After a def's body the walk meets a
    `ScopeEnd` carrying the body's state.
    """

    @property
    def root(self) -> object:
        """The module's state."""
        ...

    @property
    def hooks(self) -> dict[type, _Hook]:
        """node type -> hook(node, its state) -> the state of its children."""
        ...


class ScopeEnd(ast.AST):
    """Met after a def's body, when an observer is fed (see `Observer`)."""

    _fields = ()


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Fields that hold only operator and context nodes: nothing to count or to visit.
_LEAF_FIELDS = frozenset(("ctx", "op", "ops"))
# Fields that never hold a node (Python's ASDL: identifiers, constants, strings, ints):
# not looked at, so that a name or a constant, half of all nodes, has no field to check.
_SCALAR_FIELDS: dict[type, tuple[str, ...]] = {
    ast.Name: ("id",),
    ast.Constant: ("value", "kind"),
    ast.Attribute: ("attr",),
    ast.keyword: ("arg",),
    ast.arg: ("arg", "type_comment"),
    ast.alias: ("name", "asname"),
    ast.Assign: ("type_comment",),
    ast.For: ("type_comment",),
    ast.AsyncFor: ("type_comment",),
    ast.With: ("type_comment",),
    ast.AsyncWith: ("type_comment",),
    ast.AnnAssign: ("simple",),
    ast.ImportFrom: ("module", "level"),
    ast.Global: ("names",),
    ast.Nonlocal: ("names",),
    ast.FormattedValue: ("conversion",),
    ast.comprehension: ("is_async",),
    ast.ExceptHandler: ("name",),
}
# A try statement's fields in the order the walk meets them (see `Observer`).
_TRY_ORDER = ("body", "orelse", "finalbody", "handlers")
# What the walk pushes: (node, scope, max_line holder, Halstead context, counts for CC,
# the observer's state).
_Item = tuple[Any, _Scope, list[float], str | None, bool, Any]
_Push = Callable[[_Item], None]


class _ChildFields(dict[type[ast.AST], tuple[str, ...]]):
    """A node type's fields that may hold nodes, last to first, found on first use."""

    def __missing__(self, kind: type[ast.AST]) -> tuple[str, ...]:
        order = _TRY_ORDER if kind in (ast.Try, ast.TryStar) else kind._fields
        skipped = _LEAF_FIELDS.union(_SCALAR_FIELDS.get(kind, ()))
        fields = tuple(name for name in reversed(order) if name not in skipped)
        self[kind] = fields
        return fields


_child_fields = _ChildFields()


def _walk(
    tree: ast.Module, observer: Observer | None = None
) -> tuple[list[FastBlock], int, tuple[int, int, int, int]]:
    """ComplexityVisitor and HalsteadVisitor over `tree` in one iterative walk.

    Iterative so that a tree too deep for radon's recursive visitors still gets numbers.
    Returns cc_visit's blocks, total_complexity and Halstead's h1, h2, N1, N2.
    """
    module = _Scope(False, None)
    pending: list[_Pending] = []
    operators: set[str] = set()
    operands: set[object] = set()
    n_operators = n_operands = 0
    scratch: list[float] = [_NO_LINE]  # max_line of statements whose value radon drops
    root, hooks = _observed(observer)
    stack: list[_Item] = [(tree, module, scratch, None, True, root)]
    pop, push = stack.pop, stack.append
    decisions, halstead, child_fields = DECISIONS.get, HALSTEAD.get, _child_fields
    while stack:
        node, scope, line, context, cc, seen = pop()
        kind = type(node)
        hook = hooks(kind)
        if hook is not None:
            seen = hook(node, seen)
        if kind in _FUNCTIONS:
            _enter_function(node, scope, pending, scratch, push, seen)
            continue
        if kind is ast.ClassDef:
            _enter_class(node, scope, pending, scratch, context, push, seen)
            continue
        children_cc = cc
        if cc:
            if kind is ast.Assert:
                scope.complexity += 1
                children_cc = False
            else:
                lineno = getattr(node, "lineno", _NO_LINE)
                if lineno > line[0]:
                    line[0] = lineno
                decide = decisions(kind)
                if decide is not None:
                    scope.complexity += decide(node)
        count = halstead(kind)
        if count is not None:
            more_operators, more_operands = count(node, context, operators, operands)
            n_operators += more_operators
            n_operands += more_operands
        # Pushed last to first, so that defs are met in the order radon meets them
        # (but for a try statement's handlers: `_finish` puts those defs back in order).
        for name in child_fields[kind]:
            value = getattr(node, name)
            if type(value) is list:
                for child in reversed(value):
                    if isinstance(child, ast.AST):
                        push((child, scope, line, context, children_cc, seen))
            elif isinstance(value, ast.AST):
                push((value, scope, line, context, children_cc, seen))
    blocks = _finish(pending, module)
    return blocks, _total(module), (len(operators), len(operands), n_operators, n_operands)


def _observed(observer: Observer | None) -> tuple[object, Callable[[type], _Hook | None]]:
    """The module's state and the hook lookup of an observer (none without one)."""
    if observer is None:
        return None, _NO_HOOKS.get
    return observer.root, observer.hooks.get


def _enter_function(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    scope: _Scope,
    pending: list[_Pending],
    scratch: list[float],
    push: _Push,
    seen: object,
) -> None:
    """Open a def's block and push its body: radon visits neither arguments nor decorators.

    `seen`: the observer's state for the body (None when there is no observer).
    """
    function_kind = "method" if scope.to_method else "function"
    item = _Pending(node, function_kind, scope.classname, _Scope(False, None))
    scope.functions.append(item)
    pending.append(item)
    if seen is not None:
        push((ScopeEnd(), item.body, scratch, node.name, False, seen))
    *first, last = node.body
    push((last, item.body, item.last_line, node.name, True, seen))
    for child in reversed(first):
        push((child, item.body, scratch, node.name, True, seen))


def _enter_class(
    node: ast.ClassDef,
    scope: _Scope,
    pending: list[_Pending],
    scratch: list[float],
    context: str | None,
    push: _Push,
    seen: object,
) -> None:
    """Open a class's block, push its body, and its bases and decorators for Halstead only.

    `seen`: the observer's state for the body; the bases and decorators get None.
    """
    item = _Pending(node, "class", None, _Scope(True, node.name))
    scope.classes.append(item)
    pending.append(item)
    for child in reversed(node.body):
        push((child, item.body, item.last_line, context, True, seen))
    # type_params: Python 3.12's `class C[T: int | str]`.
    for expr in (
        *node.decorator_list,
        *node.bases,
        *node.keywords,
        *getattr(node, "type_params", ()),
    ):
        push((expr, scope, scratch, context, False, None))


def _total(module: _Scope) -> int:
    """ComplexityVisitor.total_complexity of the module."""
    return (
        1
        + module.complexity
        + sum(f.block.complexity - 1 for f in module.functions)
        + sum(_real(c) - 1 for c in module.classes)
    )


def _real(item: _Pending) -> int:
    # A class's real_complexity: 1 + its own decisions + its methods' complexities.
    return 1 + item.body.complexity + sum(m.block.complexity for m in item.body.functions)


def _in_order(scope: _Scope) -> None:
    """Put a body's defs in source order, radon's: the walk meets a try statement's
    handlers after its `else` and `finally` blocks."""
    for found in (scope.functions, scope.classes):
        if len(found) > 1:
            found.sort(key=lambda item: (item.node.lineno, item.node.col_offset))


def _finish(pending: list[_Pending], module: _Scope) -> list[FastBlock]:
    """Make the blocks, inner ones first (they were met after their parents)."""
    _in_order(module)
    for item in pending:
        _in_order(item.body)
    for item in reversed(pending):
        node = item.node
        body = item.body
        if item.kind == "class":
            methods = tuple(m.block for m in body.functions)
            real = _real(item)
            end = max(node.lineno, item.last_line[0], *(m.endline for m in methods))
            cc = int(real / float(len(methods))) + (len(methods) > 1) if methods else real
            item.block = FastBlock(
                node.name,
                "class",
                node.lineno,
                node.col_offset,
                int(end),
                cc,
                cc_rank(cc),
                methods=methods,
                inner_classes=tuple(c.block for c in body.classes),
            )
        else:
            cc = 1 + body.complexity
            item.block = FastBlock(
                node.name,
                item.kind,
                node.lineno,
                node.col_offset,
                int(max(node.lineno, item.last_line[0])),
                cc,
                cc_rank(cc),
                item.classname,
                closures=tuple(f.block for f in body.functions),
            )
    blocks = [f.block for f in module.functions]
    for c in module.classes:
        blocks.append(c.block)
        blocks.extend(c.block.methods)
    return blocks
