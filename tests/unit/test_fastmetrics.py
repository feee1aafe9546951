"""fastmetrics against radon itself, one rule or quirk per case, plus what radon cannot do."""

from __future__ import annotations

import ast
import math
import os
import sys
import textwrap
from collections.abc import Callable
from dataclasses import astuple
from types import FrameType

import pytest
from block_shapes import block_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from radon.complexity import cc_rank, cc_visit
from radon.metrics import h_visit, mi_compute, mi_visit
from radon.raw import analyze

from tapps_lsp.review import fastmetrics, fastraw


def assert_as_radon(source: str) -> fastmetrics.FastMetrics:
    ours = fastmetrics.compute(source)
    assert [block_tree(b) for b in ours.blocks] == [block_tree(b) for b in cc_visit(source)]
    assert [b.rank for b in ours.blocks] == [cc_rank(b.complexity) for b in cc_visit(source)]
    total = h_visit(source).total
    assert ours.halstead == (total.h1, total.h2, total.N1, total.N2)
    assert ours.halstead_volume == total.volume
    assert astuple(ours.raw) == tuple(analyze(source))
    assert ours.mi == mi_visit(source, True)
    assert ours.raw_note is None
    return ours


CASES = {
    "empty": "",
    "only comments": "# a\n\n# b\n",
    "branches": """
        def f(a, b):
            if a and b or not a:
                return [x for x in a if x if not x]
            elif b:
                return 1 if a else 2
            for x in a:
                pass
            else:
                pass
            while b:
                break
            try:
                pass
            except ValueError:
                pass
            except TypeError:
                pass
            else:
                pass
            finally:
                pass
            with a as c:
                pass
        """,
    "async": """
        async def g(xs):
            async for x in xs:
                pass
            async with xs:
                await xs
            return {k: v async for k, v in xs if k}
        """,
    "except star adds nothing": """
        def h():
            try:
                pass
            except* ValueError:
                pass
        """,
    "match wildcard and capture": """
        def m(x):
            match x:
                case 1 | 2:
                    pass
                case [a, *rest] if a and rest:
                    pass
                case {"k": v}:
                    pass
                case _:
                    pass
        def n(x):
            match x:
                case y:
                    pass
        def o(x):
            match x:
                case 1:
                    pass
        """,
    "asserts count one and hide their inside": """
        def a(x):
            assert x and (1 if x else 2), [y for y in x if y]
            return (
                x
            )
        """,
    "decorators and defaults count for nothing": """
        @deco(1 if x else 2)
        def d(a=1 + 2, *, b=c or e) -> (f if g else h):
            return a - b
        """,
    "class bases count for Halstead only": """
        @deco(a + b)
        class K(Base if x else Other, metaclass=m or n):
            attr = 1 if x else 2
        """,
    "closures and methods and inner classes": """
        def outer(x):
            def inner(y):
                def innermost():
                    return y or x
                return innermost
            class Local:
                def hidden(self):
                    if x:
                        pass
            if x:
                def conditional():
                    pass
            return inner
        class C:
            if True:
                def in_if(self):
                    return 1
            def m(self, x):
                def helper():
                    return x and self
                return helper
            class Inner:
                def im(self):
                    return 2 if self else 3
            async def am(self):
                return [i for i in self]
        class Empty:
            pass
        class Decisions:
            x = 1 if y else 2
        """,
    "end lines radon's way": """
        def last_is_def():
            x = 1
            def nested():
                pass
        def last_is_assert():
            y = 1
            assert y
        def multiline_return():
            return call(
                a,
                b,
            )
        class LastIsClass:
            def m(self):
                pass
            class Tail:
                def deep(self):
                    pass

                x = 1
        """,
    "module code counts for total complexity": """
        if x:
            def f():
                pass
        else:
            class K:
                def m(self):
                    pass
        for i in range(3):
            pass
        """,
    "Halstead operands merge by value and function name": """
        def f(a):
            return a + 1 + 1.0 + True - a.real
        def f(b):
            return b * 1
        def g(a):
            x = -a
            x += a
            return x < a <= 2 is not None
        """,
    "lambda and generators": """
        key = lambda x: x if x else -x
        def gen(n):
            yield from (i for i in range(n) if i % 2)
        """,
    "docstrings and comments": '''
        """Module docstring
        on two lines.

        """
        # a comment line
        x = 1  # trailing comment
        """A string statement."""
        def f():
            """One line."""
            y = """
            not a docstring
            """
            return y
        ''',
    "logical lines radon's way": """
        if x: y = 1
        a = 1; b = 2
        d = {1: 2}
        s = t[1:2]
        if x: y; z
        lam = lambda: 0
        z = (1,
             2)
        w = 1 + \\
            2
        class A: pass
        for i in x: pass
        """,
    "blank lines at the end": "x = 1\n\n\n",
    "windows line ends": "def f():\r\n    if x:\r\n        return 1\r\n\r\n# c\r\n",
    "form feed lines": "x = 1\n\x0c\ndef f():\n    return 2\n\x0c# page\n",
    "tabs and a form feed in a comment": "if x:\n\tpass  # a\x0cb\n",
    "unicode names": "def café(ñ):\n    return ñ + 1\nclass Ω:\n    def μ(self):\n        pass\n",
    "f-strings and bytes": "x = f\"{a!r:>{w}}\" + b\"\\x00\"\ny = rb\"\\d\" + b'''z'''\n",
    "walrus and slices": "if (n := len(a)) > 10:\n    b = a[::2]\n",
    "decorated class and global statements": """
        import os
        from x import (a,
                       b)
        global g
        @dataclass
        class P:
            x: int = 0
            y: list = field(default_factory=list)
        """,
}


@pytest.mark.parametrize("name", CASES)
def test_equal_to_radon(name: str) -> None:
    assert_as_radon(textwrap.dedent(CASES[name]).lstrip("\n"))


def test_quirks_are_radon_quirks() -> None:
    ends = assert_as_radon(textwrap.dedent(CASES["end lines radon's way"]))
    by_name = {b.fullname: b for b in ends.blocks}
    # Nested defs, asserts and the closing lines of a statement do not extend a block.
    assert by_name["last_is_def"].endline == by_name["last_is_def"].lineno
    assert by_name["last_is_assert"].endline == by_name["last_is_assert"].lineno
    # The line of `b`, the last node with a line number, not that of the closing parenthesis.
    assert by_name["multiline_return"].endline == by_name["multiline_return"].lineno + 3
    logical = assert_as_radon(textwrap.dedent(CASES["logical lines radon's way"]))
    # A colon anywhere but at the end makes two logical lines (dict, slice, lambda...).
    assert logical.raw.lloc == 18
    merged = assert_as_radon(
        textwrap.dedent(CASES["Halstead operands merge by value and function name"])
    )
    # In f: a, 1 (= 1.0 = True), real, b (both f's) and three inner BinOps; in g: a, x, 2, None.
    assert merged.halstead[1] == 11


def test_a_single_quoted_string_with_a_form_feed() -> None:
    """radon's raw analysis raises SyntaxError here (the line splits inside the
    string); we count on and say why."""
    source = "x = 'a\x0cb'\ny = 1\n"
    with pytest.raises(SyntaxError):
        mi_visit(source, True)
    ours = fastmetrics.compute(source)
    assert ours.raw_note is not None and "error token" in ours.raw_note
    # str.splitlines: "x = 'a", "b'", "y = 1": three code lines, each one logical line.
    assert ours.raw == fastraw.Raw(loc=3, lloc=3, sloc=3)
    assert ours.mi == 100.0  # no operators: Halstead volume 0
    assert ours.total_complexity == 1


def test_a_statement_left_open_by_a_line_split() -> None:
    source = "x = '''a\x0cb'''\n(\x0c)\n"
    ours = fastmetrics.compute(source)
    assert ours.raw_note is None  # a triple-quoted string survives the split
    assert astuple(ours.raw) == tuple(analyze(source))


def test_too_deep_for_radon_still_gets_numbers() -> None:
    source = "x = " + " + ".join(["a"] * 500) + "\n"
    with pytest.raises(RecursionError):
        cc_visit(source) and mi_visit(source, True)
    ours = fastmetrics.compute(source)
    # One operator (Add); operands: the name a and each of the 498 inner BinOps.
    assert ours.halstead == (1, 499, 499, 998)
    assert 0 < ours.mi < 100


@pytest.mark.parametrize("source", ["def f(:\n", "x = 1\x00\n", "(" * 300 + ")" * 300])
def test_what_does_not_parse_raises_syntax_error(source: str) -> None:
    with pytest.raises(SyntaxError):
        fastmetrics.compute(source)


def test_a_given_tree_is_used() -> None:
    source = "def f(x):\n    return x or 1\n"
    assert fastmetrics.compute(source, ast.parse(source)) == fastmetrics.compute(source)


def test_ranks_match_radon() -> None:
    assert [fastmetrics.cc_rank(n) for n in range(60)] == [cc_rank(n) for n in range(60)]


def work_done(function: Callable[[str], object], source: str) -> int:
    """Python and C calls made while `function(source)` runs: a measure of work that,
    unlike a clock, does not move with the machine's load."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        calls += 1

    sys.setprofile(count)
    try:
        function(source)
    finally:
        sys.setprofile(None)
    return calls


def long_statement(lines: int) -> str:
    return "data = [\n" + "    1 + 2,\n" * lines + "]\n"


def test_work_is_linear_in_a_statement_s_length() -> None:
    """radon's raw analysis is quadratic in a statement's lines; ours is not."""
    ratio = work_done(fastmetrics.compute, long_statement(2000)) / work_done(
        fastmetrics.compute, long_statement(200)
    )
    assert ratio < 10 * 1.2  # 10x the lines: 10x the work


def test_the_work_measure_sees_radon_s_quadratic_cost() -> None:
    """The measure above can fail: on radon's raw analysis it sees the square."""
    ratio = work_done(analyze, long_statement(400)) / work_done(analyze, long_statement(40))
    assert ratio > 10 * 3


# Statements that exercise the rules; compound ones get generated bodies.
SIMPLE = [
    "return [i for i in x if i if not i]",
    "assert a or b, 'm'",
    "x = 1  # c",
    "x += 1; y = -x",
    "'''doc'''",
    '"""multi\n\nline"""',
    "f = lambda: a if b else c",
    "pass",
    "# comment",
    "z = {1: 2, **w}",
    "yield x < y > 1",
    "v = (1,\n2)",
    "w = 1 + \\\n2",
    "if a: b",
    "",
]
HEADERS = [
    "def f(a, b=1 if x else 2):",
    "async def g():",
    "class K(B):",
    "if a and b:",
    "for i in x:",
    "async for i in x:",
    "while y:",
    "with a:",
]
PATTERNS = ["case 1:", "case _:", "case [q, *r] if q:", "case y:", "case {'k': 1 | 2}:"]


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _flat(statements: list[list[str]]) -> list[str]:
    return [line for statement in statements for line in statement]


def _has_code(lines: list[str]) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in lines)


def _compound(statement: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    body = st.lists(statement, min_size=1, max_size=3).map(_flat).filter(_has_code)
    return st.one_of(
        st.tuples(st.sampled_from(HEADERS), body).map(lambda t: [t[0], *_indent(t[1])]),
        st.tuples(body, body, body).map(
            lambda t: (
                ["if c:", *_indent(t[0]), "elif d or e:", *_indent(t[1])]
                + ["else:", *_indent(t[2])]
            )
        ),
        st.tuples(body, body, st.booleans()).map(
            lambda t: (
                ["try:", *_indent(t[0]), "except E:", *_indent(t[1])]
                + (["else:", "    pass"] if t[2] else [])
            )
        ),
        st.lists(st.tuples(st.sampled_from(PATTERNS), body), min_size=1, max_size=3).map(
            lambda cases: ["match v:", *_indent(_flat([[h, *_indent(b)] for h, b in cases]))]
        ),
    )


_statement = st.recursive(
    st.sampled_from(SIMPLE).map(lambda line: [line]), _compound, max_leaves=20
)


@settings(
    max_examples=int(os.environ.get("TAPPS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@given(st.lists(_statement, max_size=6).map(_flat))
def test_fuzz_generated_code_equal_to_radon(lines: list[str]) -> None:
    assert_as_radon("\n".join(lines) + "\n")


SCANNER_CASES = [
    "x = rb'a' + Rb'b' + f'{x[\"k\"]}' + u'c' + BR'd'",
    "rb'alone'",
    "f'''multi\nline {x}'''",
    "return'x'\nif'a'in b: pass",
    "d = {b'k': 1}\ns = a[::2]\nif (n := 1): pass",
    '\'\'\'it\'\'s \'\'\' + """a\\""" b"""',
    "x = 'a\\\nb'",
    "'a' 'b'",
    "'''doc'''  # and a comment",
    "x = '#not a comment'  # 'not a string'",
    "f(a,  # c\n  b)",
    "if x: y; z",
    "a = 1; b = 2; c: int = 3;",
    "w = 1 + \\\n    2",
    "lambda: (yield)",
    "x = 1 if y else 2  # c\n\n\n",
    "class A: x: int",
    "x = a @ b ** c // d -> e != f",
    "r'\\''",
    "",
    "\n\n",
    "# only",
]


@pytest.mark.parametrize("source", SCANNER_CASES)
def test_the_scan_counts_as_tokenize_does(source: str) -> None:
    lines = [line.strip() for line in source.splitlines()]
    stream = "\n".join(lines)
    scanned = fastraw._raw_by_scan(lines, stream)
    assert scanned == fastraw._raw_by_tokenize(lines, stream)[0]
    assert astuple(scanned) == tuple(analyze(source))


@pytest.mark.parametrize("source", ["x = 'a\x0cb'", "x = (1,", "x = '''a", "x = 1 \\", "a $ b"])
def test_the_scan_leaves_what_radon_cannot_tokenize_to_tokenize(source: str) -> None:
    lines = [line.strip() for line in source.splitlines()]
    assert fastraw._raw_by_scan(lines, "\n".join(lines)) is None
    assert fastraw.raw_metrics(source)[1] is not None


def test_an_identifier_tokenize_does_not_know() -> None:
    """test/test_unicode_identifiers.py: Python accepts a variation selector in
    a name, tokenize's \\w does not, so radon's raw analysis raises; we count
    the line as code and note why."""
    source = "def f():\n    a\U000e0100 = 1\n    return a\U000e0100 + 1\n"
    with pytest.raises(SyntaxError):
        mi_visit(source, True)
    ours = fastmetrics.compute(source)
    assert ours.raw_note is not None
    assert ours.raw == fastraw.Raw(loc=3, lloc=3, sloc=3)
    assert [block_tree(b) for b in ours.blocks] == [block_tree(b) for b in cc_visit(source)]
    assert ours.halstead == (1, 2, 1, 2)
    # radon's formula on these counts: volume 3 x log2(3), total CC 1, 3 logical lines.
    assert ours.total_complexity == 1
    assert ours.mi == mi_compute(3 * math.log(3, 2), 1, 3, 0)


@pytest.mark.filterwarnings("error")
def test_invalid_escapes_do_not_raise_when_warnings_are_errors() -> None:
    assert fastmetrics.compute("x = '\\d'\n").raw.sloc == 1


@pytest.mark.parametrize("source", [s for s in SCANNER_CASES if "f'" in s or 'f"' in s])
def test_f_strings_go_to_tokenize_where_it_splits_them(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From Python 3.12 tokenize splits f-strings (a format spec's `:` becomes a
    token radon counts), so a group with one is tokenized alone; here, on any
    Python, that route must still give radon's counts."""
    monkeypatch.setattr(fastraw, "_FSTRING_PARTS", True)
    source += "\nreturn f'{x:>10}', 1\nif x: y = rf'{a!r}'\n"
    assert astuple(fastraw.raw_metrics(source)[0]) == tuple(analyze(source))
