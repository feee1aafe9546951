"""The JSON report: the stable shape the server's export and CI tools read (docs/cli.md).

    {
      "schemaVersion": 2,                # bumped on any incompatible change
      "tool": {"name": "tapps-lsp", "version": "0.1.0", "analyzers": {"ruff": "0.17.6", ...}},
      "summary": {
        "files", "analysed", "skipped", "deleted": [path...], "fromCache",
        "meanScore" (null when nothing was analysed), "passed", "failingGate",
        "findings", "findingsBySeverity": {"error", "warning", "information", "hint"},
        "findingsByCategory": {category: count}, "seconds" (null when not timed)
      },
      "files": [file entry, ...]         # in the order reviewed (sorted paths for `check`)
    }

A file entry is `Review.to_dict()` (tapps_lsp/review/model.py): path, overall,
passed, weakest, threshold, minSecurity, scores, fromCache, skipped,
analyzerErrors, metrics and findings, with every position made 1-based as
ruff, bandit and radon write them: lines count from 1 and columns are 1-based
code points (ruff's "column"). Version 1 had 0-based lines and columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tapps_lsp import __version__
from tapps_lsp.reports.summary import Run, summarize
from tapps_lsp.review.model import Review

SCHEMA_VERSION = 2

_POSITION_KEYS = ("line", "col", "end_line", "end_col")


def _one_based(entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` with each 0-based position key it has moved to 1-based."""
    for key in _POSITION_KEYS:
        if key in entry:
            entry[key] += 1
    return entry


def file_entry(review: Review) -> dict[str, Any]:
    """One file of the report: `Review.to_dict()` with 1-based lines and columns."""
    entry = review.to_dict()
    for block in entry["metrics"]["blocks"]:
        _one_based(block)
    for finding in entry["findings"]:
        _one_based(finding)
        if finding["fix"] is not None:
            for edit in finding["fix"]["edits"]:
                _one_based(edit)
    return entry


def report_dict(reviews: Sequence[Review], run: Run) -> dict[str, Any]:
    """The report as a JSON-ready dict (docs/cli.md describes every key)."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "tapps-lsp", "version": __version__, "analyzers": dict(run.tools)},
        "summary": summarize(reviews, run),
        "files": [file_entry(r) for r in reviews],
    }


def render_json(reviews: Sequence[Review], run: Run) -> str:
    """The JSON report (report_dict) as one line."""
    # No indent: json only uses its C encoder without one (6x faster on the stdlib).
    return json.dumps(report_dict(reviews, run)) + "\n"
