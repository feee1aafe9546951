"""The JSON report: the stable shape the server's export and CI tools read (docs/cli.md).

    {
      "version": 1,                      # bumped on any incompatible change
      "tool": {"name": "tapps-lsp", "version": "0.1.0", "analyzers": {"ruff": "0.17.6", ...}},
      "summary": {
        "files", "analysed", "skipped", "deleted": [path...], "fromCache",
        "meanScore" (null when nothing was analysed), "passed", "failingGate",
        "findings", "findingsBySeverity": {"error", "warning", "information", "hint"},
        "findingsByCategory": {category: count}, "seconds" (null when not timed)
      },
      "files": [Review.to_dict(), ...]   # in the order reviewed (sorted paths for `check`)
    }

A file entry is `Review.to_dict()` (tapps_lsp/review/model.py): path, overall,
passed, weakest, threshold, minSecurity, scores, fromCache, skipped,
analyzerErrors, metrics and findings; finding positions are 0-based lines
and 0-based code-point columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tapps_lsp import __version__
from tapps_lsp.reports.summary import Run, summarize
from tapps_lsp.review.model import Review

REPORT_VERSION = 1


def report_dict(reviews: Sequence[Review], run: Run) -> dict[str, Any]:
    return {
        "version": REPORT_VERSION,
        "tool": {"name": "tapps-lsp", "version": __version__, "analyzers": dict(run.tools)},
        "summary": summarize(reviews, run),
        "files": [r.to_dict() for r in reviews],
    }


def render_json(reviews: Sequence[Review], run: Run) -> str:
    # No indent: json only uses its C encoder without one (6x faster on the stdlib).
    return json.dumps(report_dict(reviews, run)) + "\n"
