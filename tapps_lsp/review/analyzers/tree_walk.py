"""One walk of a file's tree for the metrics and the performance heuristics.

fastmetrics' walk computes radon's numbers and feeds the performance
heuristics (`fastperf.Walker`) as it goes, so the tree is walked once for
both. Whichever analyzer asks first runs it; the other reads the result kept
in `Source.shared`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tapps_lsp.review import fastmetrics
from tapps_lsp.review.analyzers.base import Source
from tapps_lsp.review.fastperf import Performance, Walker

_KEY = "walk"


@dataclass(frozen=True, slots=True)
class Walked:
    """What the one walk gave: radon's numbers and the performance heuristics' result."""

    metrics: fastmetrics.FastMetrics
    performance: Performance


def walked(source: Source) -> Walked:
    """The walk of a file that parses, run on first use. Raises what the walk raises."""
    found = source.shared.get(_KEY)
    if isinstance(found, Walked):
        return found
    tree = source.module
    assert tree is not None  # TREE-stage analyzers run for files that parse
    walker = Walker(source.lines)
    metrics = fastmetrics.compute(source.text, tree, walker)
    result = Walked(metrics, walker.finish())
    source.shared[_KEY] = result
    return result
