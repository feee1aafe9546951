"""The engine's CPU savings change nothing: one walk for metrics and performance, and the
faster ways ruff_security finds what it looks for (issue 17).

- the performance heuristics fed by fastmetrics' walk (`fastperf.Walker`) equal the
  recursion over the statements they replaced (kept here as the reference), findings,
  penalties and bonuses in the same order;
- the walk meets a try statement's handlers after its `else` and `finally`, and still
  lists the defs in radon's order;
- the import blacklist's statement walk meets imports in `ast.walk`'s order;
- the whole-text pre-checks say no only where no line matches the hint.
"""

from __future__ import annotations

import ast
import re
import sys
import sysconfig
from pathlib import Path

import pytest
from radon.complexity import cc_visit

from tapps_lsp.config import Settings
from tapps_lsp.review import engine, fastmetrics, fastperf
from tapps_lsp.review.analyzers import bandit_match, ruff_security
from tapps_lsp.review.analyzers.base import Outcome
from tapps_lsp.review.analyzers.tree_walk import Walked
from tapps_lsp.review.fastperf import (
    _CACHE_DECORATORS,
    _FUNCTIONS,
    _LOOPS,
    BLOCK_STATEMENTS,
    BONUSES,
    DEEP_NESTING,
    LONG_FUNCTION,
    NESTED_LOOP,
    Performance,
    Walker,
    _decorator_name,
    _Expressions,
)
from tapps_lsp.review.positions import split_lines

# `[1for z in a]`: a comprehension the heuristics' line hint misses, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:invalid decimal literal:SyntaxWarning")

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SAMPLE = [
    "argparse.py",
    "asyncio/base_events.py",
    "collections/__init__.py",
    "dataclasses.py",
    "email/_header_value_parser.py",
    "functools.py",
    "inspect.py",
    "pydoc.py",
    "subprocess.py",
    "tarfile.py",
    "typing.py",
    "unittest/mock.py",
    "xml/etree/ElementTree.py",
    "zipfile.py",
]
HEAVY = "[f(g(h(i(j(k(z)))))) for z in a]"  # six calls
TRICKY = {
    # try: handlers are reported after `else` and `finally`, in every respect
    "try": f"""
def loops(a):
    for x in a:
        for y in {HEAVY}:
            while {HEAVY}:
                pass
    try:
        pass
    except ({HEAVY}[0]):
        for q in a:
            for r in q:
                if r:
                    if r:
                        if r:
                            if r:
                                pass
        def in_handler():
            yield 1
    else:
        for q in a:
            for r in q:
                if r:
                    if r:
                        if r:
                            if r:
                                pass
        def in_else():
            return {HEAVY}
    finally:
        class InFinally:
            def m(self):
                for a in b:
                    for c in a:
                        pass
        async def in_finally():
            pass
""",
    # what the heuristics never looked at: decorators' own node, bases, defaults, guards
    "unlooked": f"""
import functools
@functools.lru_cache(maxsize={HEAVY}[0])
def decorated():
    return 1
class Bases({HEAVY}[0]):
    x = [[{HEAVY} for y in z] + {HEAVY} for z in [{HEAVY}]]
    def meth(self, d={HEAVY}):
        match d:
            case [x] if {HEAVY}:
                for a in b:
                    for c in a:
                        pass
            case _:
                pass
def gen():
    try:
        pass
    except (yield):
        pass
@functools.cache
def cached():
    lambda: {HEAVY}
    x = (yield from {HEAVY})
    return [1for z in a if f(g(h(i(j(k(z))))))]
""",
    # bonuses in the order met: async (try body), cache (else), generator (handler)
    "bonuses": """
try:
    async def af():
        pass
except E:
    def g():
        yield
else:
    import functools
    @functools.lru_cache
    def c():
        pass
""",
    "module": f"""
for a in b:
    for c in d:
        for e in f:
            try:
                pass
            except X:
                for g in h:
                    pass
            finally:
                while {HEAVY}:
                    pass
elif_chain = 1
if x:
    pass
elif x:
    with x:
        with x:
            with x:
                with x:
                    with x:
                        pass
x = [{HEAVY} for y in {HEAVY}]
y = (f([{HEAVY} for z in {HEAVY}]), {HEAVY})
""",
    "long": "def long_one():\n"
    + "    x = 1\n" * 120
    + "async def medium():\n"
    + "    x = 1\n" * 60,
}


class _Reference:
    """The recursion over the statements that the walker replaced (the reference)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.result = Performance()
        self.expressions = _Expressions(lines, self.result)

    def scope(self, body: list[ast.stmt], name: str) -> None:
        self.name = name
        self.deepest: tuple[int, ast.stmt | None] = (0, None)
        for stmt in body:
            self.statement(stmt, 0, 0)
        depth, node = self.deepest
        for limit, penalty in DEEP_NESTING:
            if depth > limit and node is not None:
                self.expressions.penalise("deep_nesting", penalty)
                message = (
                    f"Nesting depth {depth} in {name} (more than {DEEP_NESTING[-1][0]} levels)"
                )
                self.expressions.add("TAPPS-PERF-NEST", message, node, keyword=True)
                break

    def statement(self, node: ast.stmt, depth: int, loops: int) -> None:
        if isinstance(node, _FUNCTIONS):
            self.function(node)
            return
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                self.statement(stmt, depth, loops)
            return
        self.expressions.of(node)
        elif_ = isinstance(node, ast.If) and self.lines[node.lineno - 1].lstrip().startswith("elif")
        if isinstance(node, BLOCK_STATEMENTS) and not elif_:
            depth += 1
            if depth > self.deepest[0]:
                self.deepest = (depth, node)
        if isinstance(node, _LOOPS):
            loops += 1
            if loops == 2:
                self.expressions.penalise("nested_loop", NESTED_LOOP)
                message = f"Loop nested in a loop in {self.name}"
                self.expressions.add("TAPPS-PERF-LOOP", message, node, keyword=True)
        blocks = [getattr(node, f, None) for f in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(node, "handlers", [])]
        blocks += [c.body for c in getattr(node, "cases", [])]
        for block in blocks:
            for stmt in block or ():
                self.statement(stmt, depth, loops)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        saved = (self.name, self.deepest)
        if isinstance(node, ast.AsyncFunctionDef):
            self.result.bonuses["async"] = BONUSES["async"]
        if any(_decorator_name(d) in _CACHE_DECORATORS for d in node.decorator_list):
            self.result.bonuses["cache"] = BONUSES["cache"]
        for d in node.decorator_list:
            self.expressions.of(d)
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        for limit, penalty in LONG_FUNCTION:
            if length > limit:
                self.expressions.penalise("long_function", penalty)
                message = f"Function {node.name} is {length} lines long (more than {limit})"
                self.expressions.add("TAPPS-PERF-LONG", message, node, name=node.name)
                break
        self.scope(node.body, f"function {node.name}")
        self.name, self.deepest = saved


def _reference(text: str) -> Performance:
    visitor = _Reference(split_lines(text))
    visitor.scope(ast.parse(text).body, "module")
    return visitor.result


def _walked(text: str) -> Performance:
    walker = Walker(split_lines(text))
    fastmetrics.compute(text, ast.parse(text), walker)
    return walker.finish()


def _as_lists(found: Performance) -> tuple[object, ...]:
    # Dicts compare without their order: the order is part of the result (JSON).
    return list(found.penalties.items()), list(found.bonuses.items()), found.findings


def _sample() -> list[Path]:
    return [STDLIB / name for name in SAMPLE if (STDLIB / name).exists()]


@pytest.mark.parametrize("name", TRICKY)
def test_the_walker_equals_the_recursion_on_tricky_code(name: str) -> None:
    text = TRICKY[name]
    found = _walked(text)
    assert found.findings or found.bonuses, "the case reports something"
    assert _as_lists(_walked(text)) == _as_lists(_reference(text))


def test_the_walker_equals_the_recursion_on_standard_library_files() -> None:
    for path in _sample():
        text = path.read_text(encoding="utf-8")
        assert _as_lists(_walked(text)) == _as_lists(_reference(text)), path


def test_a_try_statements_defs_keep_radons_order() -> None:
    text = TRICKY["try"] + TRICKY["bonuses"]
    ours = [b.fullname for b in fastmetrics.compute(text).blocks]
    assert ours == [b.fullname for b in cc_visit(text)]
    assert ours.index("g") < ours.index("c")  # the handler's def before the else's


def test_metrics_and_performance_share_one_walk() -> None:
    settings = Settings()
    source = engine._source(TRICKY["module"], settings, "m.py")
    source.tree = ast.parse(source.text)
    from tapps_lsp.review.analyzers import performance, radon_metrics

    metrics = radon_metrics.ANALYZER.analyze(source)
    (walked,) = source.shared.values()
    assert isinstance(walked, Walked)
    found = performance.ANALYZER.analyze(source)
    assert found.findings is walked.performance.findings
    assert metrics.metrics["mi"] == walked.metrics.mi
    result = engine._analyze(source, {"ruff": Outcome()})
    assert not source.shared, "freed with the tree"
    assert result.metrics.perf_penalties == dict(_reference(source.text).penalties)


def test_the_import_walk_meets_imports_in_ast_walks_order() -> None:
    texts = [p.read_text(encoding="utf-8") for p in _sample()]
    texts.append(
        "try:\n    import a\nexcept E:\n    import pickle\nelse:\n    import b\n"
        "finally:\n    import subprocess\nmatch x:\n    case 1:\n        import xml.sax\n"
        "def f():\n    if x:\n        import telnetlib\n    import ftplib\n"
    )
    kinds = (ast.Import, ast.ImportFrom)
    for text in texts:
        tree = ast.parse(text)
        walked = [n for n in ast.walk(tree) if isinstance(n, kinds)]
        assert walked == [n for n in ruff_security._statements(tree) if isinstance(n, kinds)]
        assert walked, "the text imports something"


def test_the_password_key_leads_with_every_character_that_matches_p_t_or_s() -> None:
    # _EXTRAS_KEY's first character set stands for (?i:p|t|s): the same characters.
    leading = ruff_security._EXTRAS_KEY.pattern[1 : ruff_security._EXTRAS_KEY.pattern.index("]")]
    matching = re.compile("(?i)[pts]")
    expected = {chr(c) for c in range(sys.maxunicode + 1) if matching.fullmatch(chr(c))}
    assert set(leading) == expected


@pytest.mark.parametrize(
    ("line", "hinted"),
    [
        ("x = 1", False),
        ("d = {'PASSWORD': x}", True),
        ("d = {'\u017fecret_key': x}", True),  # long s: ignoring case, it is an s
        ("d = {'TOKEN'", False),  # the colon on the next line is not on this one
        ("if TYPE_CHECKING:", True),
        ("import flask", True),
        ("pass", False),
        ("d = {'pwd' : 1}", True),
    ],
)
def test_the_whole_text_check_agrees_with_the_hint_line_by_line(line: str, hinted: bool) -> None:
    lines = [line, ": 1}", "x = 2"]
    assert ruff_security._may_need_extras(lines) is hinted
    expected = any(ruff_security._EXTRAS_HINT.search(one) for one in lines)
    assert ruff_security._may_need_extras(lines) is expected


def test_the_whole_text_checks_agree_on_standard_library_files() -> None:
    for path in _sample():
        lines = split_lines(path.read_text(encoding="utf-8"))
        expected = any(ruff_security._EXTRAS_HINT.search(line) for line in lines)
        assert ruff_security._may_need_extras(lines) is expected, path


@pytest.mark.parametrize(
    ("text", "name", "start"),
    [
        ("def foobar(): pass  # def foo():", "foo", 0),
        ("    def  foo(x):", "foo", 4),
        ("class Foo(Base):", "Foo", 0),
        ("undef foo; classdef foo", "foo", 0),
        ("async def f\u00e9(): pass", "f\u00e9", 0),
        ("def x\u0301y(): def x\u0301(): pass", "x\u0301", 0),  # ends in a combining mark
        ("def x\u0301 (): pass", "x\u0301", 0),
        ("def foo", "foo", 1),  # starts after the keyword: not found
        ("class\tC:", "C", 0),
        ("def f(): pass", "g", 0),
    ],
)
def test_name_span_finds_what_a_pattern_per_name_finds(text: str, name: str, start: int) -> None:
    for keyword, pattern in ((fastperf._DEF, "def"), (fastperf._DEF_OR_CLASS, "(?:def|class)")):
        expected = re.compile(pattern + r"\s+(" + re.escape(name) + r")\b").search(text, start)
        span = fastperf.name_span(text, name, start, keyword)
        assert span == (expected.span(1) if expected else None)


def test_the_calls_are_met_in_ast_walks_order() -> None:
    texts = [p.read_text(encoding="utf-8") for p in _sample()]
    texts.append("f(x)(y)(z)\nsubprocess.run(g(a)(b), shell=True)\n")  # calls at one place
    for text in texts:
        tree = ast.parse(text)
        expected = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert bandit_match.Calls(tree).nodes == expected
