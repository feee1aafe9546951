"""Cyclomatic complexity per block and the maintainability index, with radon in-process.

The numbers are radon's own: one `ComplexityVisitor` over the parsed tree gives
both the blocks `radon cc` lists and the total complexity `radon mi` uses, so
the file is parsed once instead of twice.

radon's raw analysis (the line counts MI needs) finds each logical line by
re-tokenizing a growing buffer until it tokenizes, which is quadratic in the
length of a statement: a 2000-line dict literal takes 25 s (rubik/radon#223).
`raw_metrics` counts with radon's own rules and groups lines radon's way until
that gets expensive, then finds the same logical lines from one tokenization of
the file: equal numbers in linear time (tests/test_radon_differential.py
compares it with radon on the standard library and on tricky snippets).
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

from radon.complexity import cc_rank
from radon.metrics import h_visit_ast, mi_compute
from radon.raw import Module, _generate, _get_all_tokens, _logical, is_single_token
from radon.visitors import Class, ComplexityVisitor

from tapps_lsp.review.model import Block, Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

# Complexity above this is an error rather than a warning (radon rank D and worse).
ERROR_COMPLEXITY = 20


@dataclass
class Complexity:
    blocks: list[Block]
    findings: list[Finding]
    total: int  # radon's total complexity of the module, an input of MI


def complexity(tree: ast.Module, lines: list[str], threshold: int) -> Complexity:
    """The blocks `radon cc` reports, and a finding for each function above `threshold`."""
    visitor = ComplexityVisitor.from_ast(tree)
    blocks: list[Block] = []
    findings: list[Finding] = []
    for b in visitor.blocks:
        if isinstance(b, Class):
            kind, name = "class", b.name
        else:
            kind, name = ("method" if b.is_method else "function"), b.fullname
        line = b.lineno - 1
        text = lines[line] if line < len(lines) else ""
        col = utf8_byte_to_codepoint(text, b.col_offset)
        block = Block(
            name=name,
            kind=kind,
            line=line,
            col=col,
            end_line=b.endline - 1,
            complexity=b.complexity,
            rank=cc_rank(b.complexity),
        )
        blocks.append(block)
        # A class's CC is the mean of its methods' plus one: its complex methods
        # get their own findings, so the class would only repeat them.
        if b.complexity > threshold and kind != "class":
            findings.append(complexity_finding(block, b.name, text))
    return Complexity(blocks, findings, visitor.total_complexity)


def complexity_finding(block: Block, short_name: str, text: str) -> Finding:
    """The TAPPS-CC diagnostic of a block over the threshold, at the block's name."""
    # Point at the block's name, which is what an editor user looks for.
    m = re.compile(r"(?:def|class)\s+(" + re.escape(short_name) + r")\b").search(text, block.col)
    start, end = (m.start(1), m.end(1)) if m else (block.col, len(text))
    return Finding(
        source="tapps",
        code="TAPPS-CC",
        message=(
            f"Cyclomatic complexity {block.complexity} (rank {block.rank}) "
            f"in {block.kind} {block.name}"
        ),
        severity="error" if block.complexity > ERROR_COMPLEXITY else "warning",
        category="complexity",
        line=block.line,
        col=start,
        end_line=block.line,
        end_col=end,
        url="https://radon.readthedocs.io/en/latest/intro.html#cyclomatic-complexity",
        data={"complexity": block.complexity, "rank": block.rank, "block": block.name},
    )


@dataclass
class Maintainability:
    mi: float
    loc: int
    sloc: int


def maintainability(text: str, tree: ast.Module, total_complexity: int) -> Maintainability:
    """`radon mi` for this text: the same inputs and formula as `mi_visit(text, multi=True)`."""
    raw = raw_metrics(text)
    comment_lines = raw.comments + raw.multi
    comments = comment_lines / float(raw.sloc) * 100 if raw.sloc else 0
    mi = mi_compute(h_visit_ast(tree).total.volume, total_complexity, raw.lloc, comments)
    return Maintainability(mi=mi, loc=raw.loc, sloc=raw.sloc)


def raw_metrics(source: str) -> Module:
    """radon.raw.analyze(source), in linear time.

    The loop is radon's; only the grouping of lines into logical lines differs.
    """
    stripped = [line.strip() for line in source.splitlines()]
    lloc = comments = single_comments = multi = blank = sloc = 0
    for tokens, parsed_lines in _logical_lines(stripped):
        comments += sum(1 for t in tokens if t[0] == tokenize.COMMENT)
        if is_single_token(tokenize.COMMENT, tokens):
            single_comments += 1
        elif is_single_token(tokenize.STRING, tokens):
            if tokens[0][2][0] == tokens[0][3][0]:
                single_comments += 1  # a one-line docstring
            else:
                multi += sum(1 for line in parsed_lines if line)
                blank += sum(1 for line in parsed_lines if not line)
        else:
            for line in parsed_lines:
                if line:
                    sloc += 1
                else:
                    blank += 1
        lloc += _logical(tokens)
    loc = sloc + blank + multi + single_comments
    return Module(loc, lloc, sloc, comments, multi, blank, single_comments)


_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")


def _logical_line_ends(stripped: list[str]) -> list[int] | None:
    """0-based indexes of the lines that end a logical line, from one tokenization.

    radon tokenizes the lines stripped and joined, so that is what is tokenized
    here too. None when that text does not tokenize cleanly.
    """
    ends = []
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(stripped)).readline):
            if tok.type == tokenize.OP:
                if tok.string in _OPEN:
                    depth += 1
                elif tok.string in _CLOSE:
                    depth = max(depth - 1, 0)
            elif tok.type == tokenize.NEWLINE or (tok.type == tokenize.NL and depth == 0):
                ends.append(tok.start[0] - 1)
            elif tok.type == tokenize.ERRORTOKEN:
                return None
    except (tokenize.TokenError, SyntaxError):
        return None
    return ends


def _logical_lines(stripped: list[str]) -> Iterator[tuple[list[tokenize.TokenInfo], list[str]]]:
    """radon's (tokens, lines) per logical line.

    Lines are grouped as radon groups them, growing a group line by line until
    it tokenizes, until those failed attempts have cost as much as tokenizing
    the whole file once. From then on each group is taken from one tokenization
    of the whole file and checked by tokenizing it on its own (radon's way
    again if that check fails): linear however long the statements are.
    """
    ends: list[int] | None = None
    wasted = 0  # lines tokenized in failed attempts
    start = 0
    while start < len(stripped):
        group = [stripped[start]]
        tokens = None
        if ends is not None:
            at = bisect.bisect_left(ends, start)
            if at < len(ends):
                group = stripped[start : ends[at] + 1]
                tokens = _tokens(group)
        else:
            tokens = _tokens(group)
            while tokens is None and wasted < len(stripped):
                if start + len(group) >= len(stripped):
                    raise SyntaxError(f"SyntaxError at line: {start + 1}")  # as radon says
                wasted += len(group)
                group.append(stripped[start + len(group)])
                tokens = _tokens(group)
            if tokens is None:
                ends = _logical_line_ends(stripped) or []
                at = bisect.bisect_right(ends, start + len(group) - 1)
                if at < len(ends):
                    group = stripped[start : ends[at] + 1]
                    tokens = _tokens(group)
        if tokens is None:
            try:
                tokens, group = _get_all_tokens(stripped[start], iter(stripped[start + 1 :]))
            except StopIteration:
                raise SyntaxError(f"SyntaxError at line: {start + 1}") from None
        yield tokens, group
        start += len(group)


def _tokens(group: list[str]) -> list[tokenize.TokenInfo] | None:
    """The tokens of these lines if they tokenize cleanly on their own (radon's test)."""
    try:
        tokens = _generate("\n".join(group))
    except tokenize.TokenError:
        return None
    return None if any(t[0] == tokenize.ERRORTOKEN for t in tokens) else tokens
