"""Column units: the conversions, and real tools' positions landing on the right code point."""

from __future__ import annotations

import subprocess

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.review import engine, positions
from tapps_lsp.review.analyzers import ruff
from tapps_lsp.review.model import Edit, Finding
from tapps_lsp.review.positions import UTF8, UTF16, UTF32

LINE = "a😀b中\tc"  # code points: a 0, 😀 1, b 2, 中 3, tab 4, c 5


@pytest.mark.parametrize(
    ("col", "utf16", "utf8"),
    [(0, 0, 0), (1, 1, 1), (2, 3, 5), (3, 4, 6), (4, 5, 9), (5, 6, 10), (6, 7, 11), (99, 7, 11)],
)
def test_to_units(col: int, utf16: int, utf8: int) -> None:
    assert positions.to_units(LINE, col, UTF16) == utf16
    assert positions.to_units(LINE, col, UTF8) == utf8
    assert positions.to_units(LINE, col, UTF32) == min(col, len(LINE))


@pytest.mark.parametrize(
    ("units", "encoding", "col"),
    [
        (2, UTF16, 1),  # half a surrogate pair maps to the emoji's start
        (3, UTF16, 2),
        (3, UTF8, 1),  # inside the emoji's 4 bytes
        (5, UTF8, 2),
        (7, UTF8, 3),  # inside 中
        (9, UTF8, 4),
        (100, UTF8, 6),
        (-1, UTF16, 0),
    ],
)
def test_from_units(units: int, encoding: str, col: int) -> None:
    assert positions.from_units(LINE, units, encoding) == col


def test_round_trip_every_column() -> None:
    for encoding in (UTF8, UTF16, UTF32):
        for col in range(len(LINE) + 1):
            units = positions.to_units(LINE, col, encoding)
            assert positions.from_units(LINE, units, encoding) == col


def test_utf8_bytes_and_ruff_rows() -> None:
    assert positions.utf8_byte_to_codepoint(LINE, 9) == 4
    assert positions.ruff_to_internal(1, 1) == (0, 0)
    assert positions.ruff_to_internal(3, 7) == (2, 6)


def test_split_lines_like_lsp() -> None:
    assert positions.split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert positions.split_lines("a\x0cb\u2028c\n") == ["a\x0cb\u2028c", ""]
    assert positions.split_lines("") == [""]


def test_negotiate() -> None:
    assert positions.negotiate(["utf-16", "utf-8"]) == UTF8
    assert positions.negotiate(["utf-32"]) == UTF16
    assert positions.negotiate(None) == UTF16


def findings(text: str, code: str, settings: Settings | None = None) -> list[Finding]:
    result = engine.analyze(text, settings or Settings())
    return [f for f in result.findings if f.code == code]


def span(text: str, f: Finding) -> str:
    """The text a finding's range covers (single line)."""
    assert f.line == f.end_line
    return positions.split_lines(text)[f.line][f.col : f.end_col]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(
    "prefix",
    ['s = "😀😀"; ', 's = "中文字符"; ', 'e = "👨‍👩‍👧"; ', "s = 1;\t"],
    ids=["emoji", "cjk", "zwj", "tab"],
)
def test_ruff_columns(prefix: str, newline: str) -> None:
    text = newline.join(["import sys", f"{prefix}print(undefined_name, sys)", ""])
    [f] = findings(text, "F821")
    assert f.line == 1
    assert span(text, f) == "undefined_name"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(
    ("indent", "prefix"),
    [("    ", 's = "😀😀"; '), ("    ", 's = "中文字符"; '), ("\t", "")],
    ids=["emoji", "cjk", "tab"],
)
def test_bandit_columns(indent: str, prefix: str, newline: str) -> None:
    body = f'{indent * 2}{prefix}subprocess.call(cmd, shell=True); password = "秘密😀"'
    text = newline.join(["import subprocess", "", "def run(cmd):", f"{indent}if cmd:", body, ""])
    bandit = Settings(securityEngine="bandit")
    [b602] = findings(text, "B602", bandit)
    assert b602.line == 4
    assert span(text, b602) == "subprocess.call(cmd, shell=True)"
    [b105] = findings(text, "B105", bandit)
    assert span(text, b105) == '"秘密😀"'


def test_complexity_and_performance_columns_after_wide_characters() -> None:
    branches = "".join(f"\n\t\t\tif x == {i}: pass" for i in range(11))
    text = f"class 类:\n\tdef 関数(self, x):\n\t\tfor a in x:{branches}\n\t\t\tfor b in a: pass\n"
    [cc] = findings(text, "TAPPS-CC")
    assert span(text, cc) == "関数"
    [loop] = findings(text, "TAPPS-PERF-LOOP")
    assert span(text, loop) == "for"


def apply(text: str, edits: tuple[Edit, ...]) -> str:
    """Apply code-point edits the way an editor applies a WorkspaceEdit."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    out = text
    for e in sorted(edits, key=lambda e: (e.line, e.col), reverse=True):
        start, end = offsets[e.line] + e.col, offsets[e.end_line] + e.end_col
        out = out[:start] + e.text + out[end:]
    return out


@pytest.mark.parametrize(
    "text",
    [
        'x = "😀"; import os, sys\nprint(sys)\n',
        'y = "中文"\nfrom os import (path,\n    sep)  # 😀\nprint(sep)\n',
    ],
)
def test_fix_edits_equal_ruffs_own_fix(text: str) -> None:
    fixes = [f.fix for f in findings(text, "F401") if f.fix]
    assert len(fixes) == 1
    ours = apply(text, fixes[0].edits)
    theirs = subprocess.run(
        [ruff.binary(), "check", "--isolated", "--fix-only", "--select", "F401", "-"],
        input=text.encode(),
        capture_output=True,
        check=False,
    ).stdout.decode()
    assert ours == theirs
