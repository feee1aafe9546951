"""Radon's metrics (cc blocks, raw counts, MI) and their findings: TAPPS-CC and TAPPS-MI.

The numbers themselves come from `tapps_lsp.review.fastmetrics`, which computes
radon's figures in one linear walk; tests/test_fastmetrics_differential.py
compares them with radon.
"""

from __future__ import annotations

from tapps_lsp.review import fastmetrics
from tapps_lsp.review.analyzers.base import Outcome, Source, TreeAnalyzer, crashed
from tapps_lsp.review.analyzers.tree_walk import walked
from tapps_lsp.review.fastperf import name_span
from tapps_lsp.review.model import Block, Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

# Complexity above this is an error rather than a warning (radon rank D and worse).
ERROR_COMPLEXITY = 20


def complexity_finding(block: Block, short_name: str, text: str) -> Finding:
    """The TAPPS-CC diagnostic of a block over the threshold, at the block's name."""
    # Point at the block's name, which is what an editor user looks for.
    start, end = name_span(text, short_name, block.col) or (block.col, len(text))
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


def low_mi_finding(mi: float) -> Finding:
    """The TAPPS-MI notice of a file whose maintainability index is below 20."""
    return Finding.notice(
        "TAPPS-MI",
        f"Maintainability index {mi:.1f} is below 20 (radon rank B or C)",
        category="maintainability",
        url="https://radon.readthedocs.io/en/latest/intro.html#maintainability-index",
        data={"mi": round(mi, 2)},
    )


class RadonMetrics(TreeAnalyzer):
    """Complexity blocks, raw counts and MI in one walk of the tree (equal to radon's),
    the walk that also feeds the performance heuristics (tree_walk.py)."""

    name = "metrics"

    def analyze(self, source: Source) -> Outcome:
        """The blocks and figures, a TAPPS-CC per block over the threshold, TAPPS-MI."""
        try:
            fast = walked(source).metrics
        except Exception as exc:  # noqa: BLE001 - the line counts are still worth having
            lines = source.lines
            sloc = sum(1 for s in lines if s.strip() and not s.lstrip().startswith("#"))
            loc = len(source.text.splitlines())  # as radon counts lines
            return Outcome(metrics={"loc": loc, "sloc": sloc}, error=crashed(self.name, exc))
        outcome = Outcome()
        blocks = [_block(b, source.lines) for b in fast.blocks]
        for b, block in zip(fast.blocks, blocks, strict=True):
            # A class's CC is the mean of its methods' plus one: its complex methods
            # get their own findings, so the class would only repeat them.
            if b.complexity > source.settings.complexityThreshold and b.kind != "class":
                text = source.lines[block.line] if block.line < len(source.lines) else ""
                outcome.findings.append(complexity_finding(block, b.name, text))
        if fast.mi < 20:
            outcome.findings.append(low_mi_finding(fast.mi))
        outcome.metrics = {
            "blocks": blocks,
            "max_complexity": max((b.complexity for b in fast.blocks), default=0),
            "mi": fast.mi,
            "loc": fast.raw.loc,
            "sloc": fast.raw.sloc,
        }
        return outcome


def _block(b: fastmetrics.FastBlock, lines: list[str]) -> Block:
    """fastmetrics' block with 0-based lines and a code-point column."""
    line = b.lineno - 1
    source = lines[line] if line < len(lines) else ""
    return Block(
        name=b.fullname,
        kind=b.kind,
        line=line,
        col=utf8_byte_to_codepoint(source, b.col),
        end_line=b.endline - 1,
        complexity=b.complexity,
        rank=b.rank,
    )


ANALYZER = RadonMetrics()
