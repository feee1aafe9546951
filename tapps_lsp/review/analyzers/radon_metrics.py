"""Cyclomatic complexity per block and the maintainability index, with radon in-process.

The numbers are radon's own: one `ComplexityVisitor` over the parsed tree gives
both the blocks `radon cc` lists and the total complexity `radon mi` uses, so
the file is parsed once instead of twice.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from radon.complexity import cc_rank
from radon.metrics import h_visit_ast, mi_compute
from radon.raw import analyze as raw_analyze
from radon.visitors import Class, ComplexityVisitor

from tapps_lsp.review.analyzers import ToolError
from tapps_lsp.review.model import Block, Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

# radon's raw analysis re-tokenizes a multi-line statement once per line it
# spans, so its cost grows with lines x size of each such statement
# (rubik/radon#223). Fitted on dict, list and call literals and docstrings of
# 150-800 lines (within 40%): seconds ~ lines x (tokens x 3.2e-6 + characters
# x 4.7e-8); e.g. a 300-line dict literal takes 1.4 s, a 300-line docstring
# 0.12 s. MI is skipped when the estimate for the file exceeds the budget.
SECONDS_PER_TOKEN_LINE = 3.2e-6
SECONDS_PER_CHAR_LINE = 4.7e-8
MI_BUDGET_SECONDS = 1.0

# Roughly Python's tokens: strings (triple-quoted ones whole), comments, words, operators.
_TOKEN = re.compile(
    "|".join(
        (
            r'"""[\s\S]*?"""',
            r"'''[\s\S]*?'''",
            r'"(?:[^"\\\n]|\\.)*"',
            r"'(?:[^'\\\n]|\\.)*'",
            r"#[^\n]*",
            r"\w+",
            r"[^\w\s]",
        )
    )
)

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
            findings.append(_finding(block, b.name, text))
    return Complexity(blocks, findings, visitor.total_complexity)


def _finding(block: Block, short_name: str, text: str) -> Finding:
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


def maintainability(
    text: str, tree: ast.Module, lines: list[str], total_complexity: int
) -> Maintainability:
    """`radon mi --multi` for this text: the same inputs and formula as `mi_visit`.

    Raises ToolError instead of running when radon would take too long.
    """
    cost, span, at = _raw_cost(tree, lines)
    if cost > MI_BUDGET_SECONDS:
        raise ToolError(
            f"maintainability: skipped, radon MI would take about {cost:.0f} s "
            f"(a {span}-line statement at line {at}, {len(text.splitlines())} lines in all)"
        )
    raw = raw_analyze(text)
    comment_lines = raw.comments + raw.multi
    comments = comment_lines / float(raw.sloc) * 100 if raw.sloc else 0
    mi = mi_compute(h_visit_ast(tree).total.volume, total_complexity, raw.lloc, comments)
    return Maintainability(mi=mi, loc=raw.loc, sloc=raw.sloc)


def _raw_cost(tree: ast.Module, lines: list[str]) -> tuple[float, int, int]:
    """Estimate the seconds of radon's raw analysis spent on multi-line statements.

    Returns (seconds, lines of the longest statement, its 1-based first line).
    """
    cost = 0.0
    worst = at = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            # Only a compound statement's header is one logical line for radon.
            end = max(node.lineno, body[0].lineno - 1)
        else:
            end = node.end_lineno or node.lineno
        span = end - node.lineno + 1
        if span < 2:
            continue
        segment = "\n".join(lines[node.lineno - 1 : end])
        tokens = sum(1 for _ in _TOKEN.finditer(segment))
        cost += span * (tokens * SECONDS_PER_TOKEN_LINE + len(segment) * SECONDS_PER_CHAR_LINE)
        if span > worst:
            worst, at = span, node.lineno
    return cost, worst, at
