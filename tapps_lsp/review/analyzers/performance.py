"""Performance heuristics on the AST (SCORING.md, performance).

Penalties (each kind counted once per file, the worst instance wins):
long functions, deep nesting, a loop nested in a loop, a comprehension with
many calls. Bonuses (each once): functools caching, `async def`, generators.
Every offending function or loop also gets an Information finding.

Loops here are `for`/`while` statements; comprehensions are judged by their
call count, so `sum(x for x in row)` inside a loop is not a nested loop.

The heuristics themselves are in review/fastperf.py, fed by the walk of the
tree that also gives the metrics (tree_walk.py).
"""

from __future__ import annotations

from tapps_lsp.review.analyzers.base import Outcome, Source, TreeAnalyzer
from tapps_lsp.review.analyzers.tree_walk import walked


class Heuristics(TreeAnalyzer):
    """The performance heuristics as an analyzer: findings, penalties and bonuses."""

    name = "performance"

    def analyze(self, source: Source) -> Outcome:
        """The heuristics on the file's tree, from the walk the metrics share."""
        found = walked(source).performance
        metrics: dict[str, object] = {
            "perf_penalties": found.penalties,
            "perf_bonuses": found.bonuses,
        }
        return Outcome(found.findings, metrics)


ANALYZER = Heuristics()
