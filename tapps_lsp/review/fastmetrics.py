"""radon's complexity, Halstead volume, raw counts and maintainability index in one pass.

radon needs two tree walks (ComplexityVisitor, HalsteadVisitor) and, for its raw
counts, tokenizes every stripped line alone and re-tokenizes a multi-line
statement once per extra line it spans, so its cost grows with the square of a
statement's length (rubik/radon#223). Here one iterative walk of one tree gives
both visitors' numbers, and one pass over the same stripped lines gives the raw
counts (see `raw_metrics`), in time linear in the text's size. The numbers are
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
import io
import math
import re
import sys
import tokenize
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["FastBlock", "FastMetrics", "Raw", "cc_rank", "compute", "raw_metrics"]

_NO_LINE = float("-inf")  # radon's starting max_line: "no line seen yet"

_COMMENT = tokenize.COMMENT
_STRING = tokenize.STRING
_OP = tokenize.OP
_NL = tokenize.NL
_NEWLINE = tokenize.NEWLINE
_ENDMARKER = tokenize.ENDMARKER
_ERRORTOKEN = tokenize.ERRORTOKEN
_LINE_ENDS = (_NL, _NEWLINE, _ENDMARKER)
_NOT_LOGICAL = (_COMMENT, _NL, _NEWLINE)


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
class Raw:
    """radon.raw.analyze's counts."""

    loc: int = 0
    lloc: int = 0
    sloc: int = 0
    comments: int = 0
    multi: int = 0
    blank: int = 0
    single_comments: int = 0


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


def compute(text: str, tree: ast.Module | None = None) -> FastMetrics:
    """All the numbers for `text`; `tree` is `ast.parse(text)` when the caller has it.

    Raises SyntaxError when `text` does not parse (null bytes and nesting too
    deep for the parser included); never raises otherwise.
    """
    if tree is None:
        try:
            with warnings.catch_warnings():
                # Invalid escape sequences are a linter's to report.
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (ValueError, RecursionError, MemoryError) as exc:
            raise SyntaxError(f"not parsable: {exc}") from exc
    blocks, total, (h1, h2, n1, n2) = _walk(tree)
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


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Fields that hold only operator and context nodes: nothing to count or to visit.
_LEAF_FIELDS = frozenset(("ctx", "op", "ops"))
_child_fields: dict[type, tuple[str, ...]] = {}


def _walk(tree: ast.Module) -> tuple[list[FastBlock], int, tuple[int, int, int, int]]:
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
    # (node, scope, max_line holder, Halstead context, counts for CC)
    stack: list[tuple[Any, _Scope, list[float], str | None, bool]] = [
        (tree, module, scratch, None, True)
    ]
    pop, push = stack.pop, stack.append
    while stack:
        node, scope, line, context, cc = pop()
        kind = type(node)
        if kind in _FUNCTIONS:
            # Only the body counts: radon visits neither arguments nor decorators.
            function_kind = "method" if scope.to_method else "function"
            item = _Pending(node, function_kind, scope.classname, _Scope(False, None))
            scope.functions.append(item)
            pending.append(item)
            *first, last = node.body
            push((last, item.body, item.last_line, node.name, True))
            for child in reversed(first):
                push((child, item.body, scratch, node.name, True))
            continue
        if kind is ast.ClassDef:
            item = _Pending(node, "class", None, _Scope(True, node.name))
            scope.classes.append(item)
            pending.append(item)
            for child in reversed(node.body):
                push((child, item.body, item.last_line, context, True))
            # type_params: Python 3.12's `class C[T: int | str]`.
            for expr in (
                *node.decorator_list,
                *node.bases,
                *node.keywords,
                *getattr(node, "type_params", ()),
            ):
                push((expr, scope, scratch, context, False))
            continue
        children_cc = cc
        if cc:
            if kind is ast.Assert:
                scope.complexity += 1
                children_cc = False
            else:
                lineno = getattr(node, "lineno", None)
                if lineno is not None and lineno > line[0]:
                    line[0] = lineno
                scope.complexity += _decisions(node, kind)
        if kind is ast.BinOp:
            n_operators += 1
            n_operands += 2
            operators.add(type(node.op).__name__)
            operands.add((context, _operand(node.left)))
            operands.add((context, _operand(node.right)))
        elif kind is ast.Compare:
            n_operators += len(node.ops)
            n_operands += len(node.comparators) + 1
            operators.update(type(op).__name__ for op in node.ops)
            operands.add((context, _operand(node.left)))
            for operand in node.comparators:
                operands.add((context, _operand(operand)))
        elif kind is ast.BoolOp:
            n_operators += 1
            n_operands += len(node.values)
            operators.add(type(node.op).__name__)
            for operand in node.values:
                operands.add((context, _operand(operand)))
        elif kind is ast.UnaryOp:
            n_operators += 1
            n_operands += 1
            operators.add(type(node.op).__name__)
            operands.add((context, _operand(node.operand)))
        elif kind is ast.AugAssign:
            n_operators += 1
            n_operands += 2
            operators.add(type(node.op).__name__)
            operands.add((context, _operand(node.target)))
            operands.add((context, _operand(node.value)))
        fields = _child_fields.get(kind)
        if fields is None:
            fields = _child_fields[kind] = tuple(
                name for name in reversed(kind._fields) if name not in _LEAF_FIELDS
            )
        # Pushed last to first, so that defs are met in the order radon meets them.
        for name in fields:
            value = getattr(node, name)
            if type(value) is list:
                for child in reversed(value):
                    if isinstance(child, ast.AST):
                        push((child, scope, line, context, children_cc))
            elif isinstance(value, ast.AST):
                push((value, scope, line, context, children_cc))

    blocks = _finish(pending, module)
    total = (
        1
        + module.complexity
        + sum(f.block.complexity - 1 for f in module.functions)
        + sum(_real(c) - 1 for c in module.classes)
    )
    return blocks, total, (len(operators), len(operands), n_operators, n_operands)


def _decisions(node: Any, kind: type) -> int:
    """The decision points ComplexityVisitor.generic_visit adds for one node."""
    if kind is ast.If or kind is ast.IfExp:
        return 1
    if kind is ast.BoolOp:
        return len(node.values) - 1
    if kind is ast.For or kind is ast.While or kind is ast.AsyncFor:
        return bool(node.orelse) + 1
    if kind is ast.comprehension:
        return len(node.ifs) + 1
    if kind is ast.Try:  # not TryStar: radon does not know `except*`
        return len(node.handlers) + bool(node.orelse)
    if kind is ast.Match:
        # `case _:` and a bare capture such as `case x:` are the "else".
        wildcard = any(getattr(case.pattern, "pattern", False) is None for case in node.cases)
        return max(0, len(node.cases) - wildcard)
    return 0


def _operand(node: ast.AST) -> object:
    # HalsteadVisitor keys a name, an attribute or a constant by its value, and
    # anything else by the node itself (so each such operand is distinct).
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant):
        return node.value
    return node


def _real(item: _Pending) -> int:
    # A class's real_complexity: 1 + its own decisions + its methods' complexities.
    return 1 + item.body.complexity + sum(m.block.complexity for m in item.body.functions)


def _finish(pending: list[_Pending], module: _Scope) -> list[FastBlock]:
    """Make the blocks, inner ones first (they were met after their parents)."""
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


def raw_metrics(text: str) -> tuple[Raw, str | None]:
    """radon.raw.analyze's counts, in one pass over the stripped lines.

    radon tokenizes a stripped line alone, adding the next line until the
    tokens are complete (no TokenError, no error token): a "group". Stripped
    lines never indent, so where a group ends the tokenizer is in its fresh
    state, and one pass over all stripped lines joined finds the same groups
    with the same tokens. A regular-expression scan finds the groups and what
    radon counts in them; a group it cannot count alone (a `;`, a backslash
    continuation, from Python 3.12 an f-string) is tokenized alone, and a text
    it cannot scan (an error token) is tokenized whole. Returns the counts
    and, when radon would raise SyntaxError, why.
    """
    lines = [line.strip() for line in text.splitlines()]
    stream = "\n".join(lines)
    raw = _raw_by_scan(lines, stream)
    if raw is not None:
        return raw, None
    return _raw_by_tokenize(lines, stream)


# What radon's counts depend on, outside strings and comments, is brackets,
# `:` and `;`; any other run of token characters is "some tokens". A string
# prefix is only matched at the start of a run, as tokenize matches it.
_SCAN = re.compile(
    r"""
    (?P<ws>[ \t]+)
    |(?P<nl>\n)
    |(?P<comment>\#[^\n]*)
    |(?P<string>(?:[rR][bBfF]?|[bBfF][rR]?|[uU])?
        (?:'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
        |\"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
        |'[^'\n\\]*(?:\\.[^'\n\\]*)*'
        |"[^"\n\\]*(?:\\.[^"\n\\]*)*"))
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<colon>:(?!=))
    |(?P<exact>;|\\\n)
    |(?P<run>(?:[\w%&*+,\-./<=>@^|~]|:=|!=)(?:[\w%&*+,\-./<=>@^|~ \t]|:=|!=)*)
    |(?P<error>.)
    """,
    re.VERBOSE | re.DOTALL,
)


# From Python 3.12 tokenize splits an f-string into parts, a format spec's
# `:` among them: such a group is tokenized to count as radon does.
_FSTRING_PARTS = sys.version_info >= (3, 12)


def _raw_by_scan(lines: list[str], stream: str) -> Raw | None:
    """The counts from a scan of the joined stripped lines; None if it meets an error token."""
    counts = _RawCounter(lines)
    row = depth = 0  # row: 0-based line of the scan
    start = 0  # where the group starts in `stream`
    comments = tokens = strings = 0
    multirow = exact = colon = colon_last = False
    for match in _SCAN.finditer(stream):
        kind = match.lastgroup
        if kind == "ws":
            continue
        if kind == "nl":
            row += 1
            if depth > 0:
                continue
        elif kind == "comment":
            comments += 1
            continue
        elif kind == "string":
            literal = match.group()
            newlines = literal.count("\n")
            row += newlines
            multirow = newlines > 0
            strings += 1
            if _FSTRING_PARTS:
                # A prefix can end a run ("return f'...'"): look on both sides of the quote.
                around = stream[max(0, match.start() - 2) : match.start() + 2]
                exact = exact or "f" in around.lower()
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "exact":
            exact = True
            if match.group() != ";":
                row += 1
            continue
        elif kind == "error":
            return None
        if kind != "nl":
            tokens += 1
            colon_last = kind == "colon"
            colon = colon or colon_last
            continue
        # The end of a group at row - 1.
        if exact:
            if not counts.exact_group(stream[start : match.start()], row):
                return None
        else:
            lloc = (2 - colon_last) if colon else (1 if tokens else 0)
            counts.counted_group(row, comments, tokens, strings, multirow, lloc)
        start = match.end()
        comments = tokens = strings = 0
        multirow = exact = colon = colon_last = False
    if depth > 0:
        return None  # tokenize: EOF in multi-line statement
    if exact:
        if not counts.exact_group(stream[start:], len(lines)):
            return None
    elif lines:
        lloc = (2 - colon_last) if colon else (1 if tokens else 0)
        counts.counted_group(len(lines), comments, tokens, strings, multirow, lloc)
    return counts.raw()


def _raw_by_tokenize(lines: list[str], stream: str) -> tuple[Raw, str | None]:
    """The counts from tokenize over the joined stripped lines, and why radon would fail."""
    counts = _RawCounter(lines)
    note = None
    tokens: list[tokenize.TokenInfo] = []
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(stream).readline):
            kind = token.type
            if kind == _OP:
                char = token.string
                if char in "([{":
                    depth += 1
                elif char in ")]}":
                    depth -= 1
            elif kind == _NEWLINE or (kind == _NL and depth <= 0):
                counts.group(tokens, token.start[0])
                tokens = []
                continue
            elif kind == _ENDMARKER:
                break
            elif kind == _ERRORTOKEN and note is None:
                note = f"radon: line {token.start[0]} does not tokenize (error token)"
            tokens.append(token)
    except tokenize.TokenError as exc:
        note = f"radon: tokenize fails: {exc.args[0]}"
    counts.rest(tokens)
    return counts.raw(), note


class _RawCounter:
    __slots__ = ("lines", "done", "lloc", "comments", "single", "multi", "blank", "sloc")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.done = 0  # lines counted so far
        self.lloc = self.comments = self.single = self.multi = self.blank = self.sloc = 0

    def counted_group(
        self, last_row: int, comments: int, tokens: int, strings: int, multirow: bool, lloc: int
    ) -> None:
        """Count the lines up to `last_row` (1-based), a group of `tokens` and `comments`."""
        span = self.lines[self.done : last_row]
        self.done = last_row
        filled = sum(1 for line in span if line)
        self.comments += comments
        self.lloc += lloc
        if comments == 1 and tokens == 0:
            self.single += 1
        elif comments == 0 and tokens == 1 and strings == 1 and not multirow:
            self.single += 1
        elif comments == 0 and tokens == 1 and strings == 1:
            self.multi += filled
            self.blank += len(span) - filled
        else:
            self.sloc += filled
            self.blank += len(span) - filled

    def exact_group(self, source: str, last_row: int) -> bool:
        """Count a group from its own tokens, as radon does; False if they have an error."""
        try:
            tokens = [
                t
                for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type not in _LINE_ENDS
            ]
        except tokenize.TokenError:
            return False
        if any(t.type == _ERRORTOKEN for t in tokens):
            return False
        self.group(tokens, last_row)
        return True

    def group(self, tokens: list[tokenize.TokenInfo], last_row: int) -> None:
        """Count the lines up to `last_row` (1-based), whose tokens are `tokens`."""
        span = self.lines[self.done : last_row]
        self.done = last_row
        first = tokens[0].type if tokens else _ENDMARKER
        for token in tokens:
            if token.type == _COMMENT:
                self.comments += 1
        alone = all(t.type in _LINE_ENDS for t in tokens[1:]) if tokens else False
        filled = sum(1 for line in span if line)
        if alone and first == _COMMENT:
            self.single += 1
        elif alone and first == _STRING:
            if tokens[0].start[0] == tokens[0].end[0]:
                self.single += 1
            else:
                self.multi += filled
                self.blank += len(span) - filled
        else:
            self.sloc += filled
            self.blank += len(span) - filled
        self.lloc += _logical(tokens)

    def rest(self, tokens: list[tokenize.TokenInfo]) -> None:
        # Lines after the last complete group: blank lines at the end have no
        # tokens and are one group each; anything else is one unfinished group.
        if tokens:
            self.group(tokens, len(self.lines))
        while self.done < len(self.lines):
            self.group([], self.done + 1)

    def raw(self) -> Raw:
        loc = self.sloc + self.blank + self.multi + self.single
        return Raw(loc, self.lloc, self.sloc, self.comments, self.multi, self.blank, self.single)


def _logical(tokens: list[tokenize.TokenInfo]) -> int:
    """radon.raw._logical: a group's logical lines (its tokens without the ENDMARKER)."""
    total = 0
    part: list[tuple[int, str]] = []
    for token in tokens:
        if token.type == _OP and token.string == ";":
            total += _logical_part(part, last=False)
            part = []
        elif token.type not in _NOT_LOGICAL:
            part.append((token.type, token.string))
    return total + _logical_part(part, last=True)


def _logical_part(part: list[tuple[int, str]], *, last: bool) -> int:
    # radon looks for the last ":" and checks whether it is the token before
    # the last one: that is "before ENDMARKER" in the last part only.
    size = len(part) + last
    for index in range(len(part) - 1, -1, -1):
        if part[index] == (_OP, ":"):
            return 2 - (index == size - 2)
    return 1 if part else 0
