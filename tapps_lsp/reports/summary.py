"""The numbers every report shows: one summary computed in one place."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
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


class Totals:
    """The summary's counts, added up one review at a time.

    A scan streams its reviews through `add` and keeps none of them: what the
    summary says of 200,000 files costs the same memory as of one.
    """

    def __init__(self) -> None:
        self.files = 0
        self.analysed = 0
        self.from_cache = 0
        self.passed = 0
        self.score_sum = 0.0
        self.severities: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()
        self.reasons: dict[str, Counter[str]] = {}

    def add(self, review: Review) -> None:
        """Count one review."""
        self.files += 1
        if review.result.skipped is None:
            self.analysed += 1
            self.score_sum += review.overall
        self.from_cache += review.from_cache
        self.passed += review.passed
        for finding in review.findings:
            self.severities[finding.severity] += 1
            self.categories[finding.category] += 1
        for category, why in review.not_measured.items():
            self.reasons.setdefault(category, Counter())[why] += 1

    def summary(self, run: Run | None = None) -> dict[str, Any]:
        """The summary object of the JSON report (keys are part of its stable shape).

        `meanScore` averages the files that were analysed (skipped files have no
        meaningful score); `findings*` count every finding shown, gate findings
        included.
        """
        run = run or Run()
        mean = self.score_sum / self.analysed if self.analysed else None
        return {
            "files": self.files,
            "analysed": self.analysed,
            "skipped": self.files - self.analysed,
            "deleted": list(run.deleted),
            "fromCache": self.from_cache,
            "meanScore": round(mean, 2) if mean is not None else None,
            "passed": self.passed,
            "failingGate": self.files - self.passed,
            "findings": sum(self.severities.values()),
            "findingsBySeverity": {s: self.severities.get(s, 0) for s in SEVERITIES},
            "findingsByCategory": dict(sorted(self.categories.items())),
            "notMeasured": {
                category: [{"reason": why, "files": n} for why, n in reasons.most_common()]
                for category, reasons in sorted(self.reasons.items())
            },
            "seconds": round(run.seconds, 3) if run.seconds is not None else None,
        }


def summarize(reviews: Iterable[Review], run: Run | None = None) -> dict[str, Any]:
    """The summary object of the JSON report for `reviews` (see `Totals.summary`)."""
    totals = Totals()
    for review in reviews:
        totals.add(review)
    return totals.summary(run)


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
