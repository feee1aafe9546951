"""The numbers every report shows: one summary computed in one place."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tapps_lsp.config import SEVERITIES
from tapps_lsp.review.model import Finding, Review


@dataclass(frozen=True)
class Run:
    """What a run adds to its reviews."""

    seconds: float | None = None
    # Files that disappeared between discovery and analysis.
    deleted: tuple[str, ...] = ()
    # Tool name -> version, as `review.versions.tool_versions()` gives them.
    tools: dict[str, str] = field(default_factory=dict)
    title: str = "tapps-lsp review"


def counted(count: int, noun: str) -> str:
    """ "1 file", "2 files": a count and its noun, in the plural when it is not 1."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summarize(reviews: Sequence[Review], run: Run | None = None) -> dict[str, Any]:
    """The summary object of the JSON report (keys are part of its stable shape).

    `meanScore` averages the files that were analysed (skipped files have no
    meaningful score); `findings*` count every finding shown, gate findings
    included.
    """
    run = run or Run()
    analysed = [r for r in reviews if r.result.skipped is None]
    severities, categories = _finding_counts(reviews)
    mean = sum(r.overall for r in analysed) / len(analysed) if analysed else None
    passed = sum(1 for r in reviews if r.passed)
    return {
        "files": len(reviews),
        "analysed": len(analysed),
        "skipped": len(reviews) - len(analysed),
        "deleted": list(run.deleted),
        "fromCache": sum(1 for r in reviews if r.from_cache),
        "meanScore": round(mean, 2) if mean is not None else None,
        "passed": passed,
        "failingGate": len(reviews) - passed,
        "findings": sum(severities.values()),
        "findingsBySeverity": {s: severities.get(s, 0) for s in SEVERITIES},
        "findingsByCategory": dict(sorted(categories.items())),
        "notMeasured": not_measured(reviews),
        "seconds": round(run.seconds, 3) if run.seconds is not None else None,
    }


def _finding_counts(reviews: Sequence[Review]) -> tuple[Counter[str], Counter[str]]:
    """How many findings the reviews have, by severity and by category."""
    severities: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for review in reviews:
        for finding in review.findings:
            severities[finding.severity] += 1
            categories[finding.category] += 1
    return severities, categories


def not_measured(reviews: Sequence[Review]) -> dict[str, list[dict[str, Any]]]:
    """Per category that some files could not be scored on: each reason, once, with how
    many files it applies to (most first). Reports say it once, not once per file."""
    reasons: dict[str, Counter[str]] = {}
    for review in reviews:
        for category, why in review.not_measured.items():
            reasons.setdefault(category, Counter())[why] += 1
    return {
        category: [{"reason": why, "files": n} for why, n in counted_reasons.most_common()]
        for category, counted_reasons in sorted(reasons.items())
    }


def worst(reviews: Sequence[Review], count: int = 10) -> list[Review]:
    """The analysed files with the lowest overall scores, worst first."""
    analysed = [r for r in reviews if r.result.skipped is None]
    return sorted(analysed, key=lambda r: (r.overall, r.path))[:count]


def histogram(reviews: Sequence[Review], bins: int = 10) -> list[int]:
    """Counts of analysed files per score band of width 100/bins (100 falls in the last)."""
    counts = [0] * bins
    for review in reviews:
        if review.result.skipped is None:
            band = min(int(review.overall * bins / 100), bins - 1)
            counts[max(band, 0)] += 1
    return counts


def sorted_findings(review: Review) -> list[Finding]:
    """A file's findings in reading order."""
    return sorted(review.findings, key=lambda f: (f.line, f.col, f.code))
