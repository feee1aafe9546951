"""The TAPPS-CC finding of a block whose cyclomatic complexity is over the threshold.

The numbers themselves (radon's cc blocks, raw counts and MI) come from
`tapps_lsp.review.fastmetrics`, which computes radon's figures in one linear
walk; tests/test_fastmetrics_differential.py compares them with radon.
"""

from __future__ import annotations

import re

from tapps_lsp.review.model import Block, Finding

# Complexity above this is an error rather than a warning (radon rank D and worse).
ERROR_COMPLEXITY = 20


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
