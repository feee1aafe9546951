"""Every analyzer the engine runs, in the order their findings are listed.

The engine runs them by stage (TOOL, TREE, AFTER; `base.Stage`) and, within a
stage, in this order; a result lists their findings in this order (notices
about the whole file first). A new analyzer is a module implementing
`base.Analyzer` plus one line here, and a scoring rule for what it measures
(review/scoring.py).
"""

from __future__ import annotations

from tapps_lsp.review.analyzers import (
    bandit_security,
    mypy_check,
    performance,
    radon_metrics,
    ruff,
    ruff_security,
    syntax,
)
from tapps_lsp.review.analyzers.base import Analyzer

REGISTRY: tuple[Analyzer, ...] = (
    ruff_security.ANALYZER,  # TREE: ruff's `S` findings scored as bandit's (listed first)
    ruff.ANALYZER,  # TOOL: lint
    syntax.ANALYZER,  # AFTER: a file that does not parse
    radon_metrics.ANALYZER,  # TREE: complexity, maintainability, raw counts
    performance.ANALYZER,  # TREE: performance heuristics
    bandit_security.ANALYZER,  # TREE: last of the tree's users (bandit annotates nodes)
    mypy_check.ANALYZER,  # AFTER: type errors, when mypyEnabled
)
