"""radon.raw.analyze's counts in one linear pass (`raw_metrics`), radon's quirks included.

radon tokenizes every stripped line alone and re-tokenizes a multi-line
statement once per extra line it spans, so its cost grows with the square of a
statement's length (rubik/radon#223). Here one pass over the same stripped
lines gives the same counts. A line is what `str.splitlines` returns, so a form
feed starts a new line, and a colon anywhere in a logical line but at its end
makes it two logical lines. Where radon's raw analysis gives up (a stripped
line that tokenizes to an error token, or a statement left open at the end) we
carry on and say why.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from dataclasses import dataclass

__all__ = ["Raw", "raw_metrics"]

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
class Raw:
    """radon.raw.analyze's counts."""

    loc: int = 0
    lloc: int = 0
    sloc: int = 0
    comments: int = 0
    multi: int = 0
    blank: int = 0
    single_comments: int = 0


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
    |(?P<bracket>[(\[{)\]}])
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
            # The end of a group at row - 1.
            source = stream[start : match.start()]
            if not counts.scanned_group(
                source, row, exact, comments, tokens, strings, multirow, colon, colon_last
            ):
                return None
            start = match.end()
            comments = tokens = strings = 0
            multirow = exact = colon = colon_last = False
            continue
        if kind == "comment":
            comments += 1
            continue
        if kind == "exact":
            exact = True
            row += match.group() != ";"  # a backslash continuation ends a row
            continue
        if kind == "error":
            return None
        if kind == "string":
            newlines = match.group().count("\n")
            row += newlines
            multirow = newlines > 0
            strings += 1
            if _FSTRING_PARTS:
                exact |= _splits(match, stream)
        elif kind == "bracket":
            depth += _DEPTH[match.group()]
        tokens += 1
        colon_last = kind == "colon"
        colon |= colon_last
    if depth > 0:
        return None  # tokenize: EOF in multi-line statement
    if not counts.scanned_group(
        stream[start:], len(lines), exact, comments, tokens, strings, multirow, colon, colon_last
    ):
        return None
    return counts.raw()


_DEPTH = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def _splits(match: re.Match[str], stream: str) -> bool:
    """Whether tokenize (Python 3.12+) splits this scanned string literal: an f-string."""
    # A prefix can end a run ("return f'...'"): look on both sides of the quote.
    around = stream[max(0, match.start() - 2) : match.start() + 2]
    return "f" in around.lower()


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

    def scanned_group(
        self,
        source: str,
        last_row: int,
        exact: bool,
        comments: int,
        tokens: int,
        strings: int,
        multirow: bool,
        colon: bool,
        colon_last: bool,
    ) -> bool:
        """Count the lines up to `last_row` (1-based), a group the scan found: from its own
        tokens when `exact`, else from the scan's counts; False if its tokens have an error."""
        if exact:
            return self.exact_group(source, last_row)
        span = self.lines[self.done : last_row]
        self.done = last_row
        filled = len(span) - span.count("")  # the lines are stripped
        self.comments += comments
        self.lloc += (2 - colon_last) if colon else (1 if tokens else 0)
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
        return True

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
