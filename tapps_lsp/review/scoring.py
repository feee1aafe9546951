"""The scoring model of SCORING.md: one function per category, a docstring per formula.

Every category is a quality from 0 to 10, higher is better. The overall score
(0-100) is ten times the weighted sum of the qualities, with the weights
normalised to sum to 1. Scores are computed from a FileResult (cached) plus
what the workspace says (ProjectInfo) and the settings; they are never cached.
"""

from __future__ import annotations

import dataclasses

from tapps_lsp.config import Settings
from tapps_lsp.review.coverage import PRODUCE as PRODUCE_COVERAGE
from tapps_lsp.review.model import FileResult, Finding, Metrics, ProjectInfo, Review
from tapps_lsp.review.target import PARSED_CATEGORIES, server_python

# Test coverage when there is no coverage data, the coverageHeuristic setting is on
# and a test_<stem>.py exists (Tapps's guess).
TEST_FILE_COVERAGE = 5.0
# Maintainability when radon MI could not be computed for a parsable file
# (radon failed or ran out of time): neutral rather than a verdict nobody measured.
UNKNOWN_MAINTAINABILITY = 5.0


def _clamp(value: float) -> float:
    return min(10.0, max(0.0, value))


def complexity_raw(metrics: Metrics) -> float:
    """Raw complexity = min(max block CC / 5, 10); no blocks: 1; syntax error: 10."""
    if metrics.syntax_error:
        return 10.0
    if not metrics.blocks:
        return 1.0
    return min(metrics.max_complexity / 5, 10.0)


def complexity(metrics: Metrics) -> float:
    """Complexity quality = 10 - raw complexity."""
    return 10.0 - complexity_raw(metrics)


def security(metrics: Metrics) -> float:
    """Security = 10 - 3 x HIGH - 1 x MEDIUM bandit issues, clamped at 0 (LOW counts 0)."""
    counts = metrics.security_counts
    return _clamp(10.0 - 3 * counts.get("HIGH", 0) - counts.get("MEDIUM", 0))


def maintainability(metrics: Metrics) -> float:
    """Maintainability = radon MI / 10 (MI is 0-100).

    A syntax error scores 0; a parsable file without an MI (radon failed) scores 5.
    """
    if metrics.syntax_error:
        return 0.0
    if metrics.mi is None:
        return UNKNOWN_MAINTAINABILITY
    return _clamp(metrics.mi / 10)


def coverage(project: ProjectInfo) -> float | None:
    """Test coverage = this file's line rate in the project's coverage data x 10.

    Data that does not list the file: 0. A test file: None (never scored on its
    own coverage). No data: None (not measured), unless the coverageHeuristic
    setting asks for Tapps's guess: 5 when a test_<stem>.py exists, else 0.
    """
    if project.is_test_file:
        return None
    if project.has_coverage_report:
        return _clamp((project.coverage_line_rate or 0.0) * 10)
    if project.coverage_heuristic:
        return TEST_FILE_COVERAGE if project.has_test_file else 0.0
    return None


def coverage_not_measured(project: ProjectInfo) -> str | None:
    """Why test_coverage has no score for this file (shown to users), None when it has one."""
    if project.is_test_file:
        return "a test file is not scored on its own coverage"
    if project.has_coverage_report or project.coverage_heuristic:
        return None
    why = project.coverage_problem or "no coverage data (coverage.xml, .coverage or lcov.info)"
    return f"{why}; run `{PRODUCE_COVERAGE}` in the project to measure it"


# Findings about `assert` statements: not reported in test files, where asserts are the point.
ASSERT_CODES = frozenset({"S101", "B101"})


def as_test_file(result: FileResult) -> FileResult:
    """A test file's result: its `assert` findings (S101/B101) left out, the rest unchanged.

    A copy: the cached result is shared by every file with the same content.
    """
    dropped = [f for f in result.findings if f.code in ASSERT_CODES]
    if not dropped:
        return result
    metrics = dataclasses.replace(
        result.metrics, security_counts=dict(result.metrics.security_counts)
    )
    for finding in dropped:
        level = str(finding.data.get("severity", "LOW")).upper()
        if metrics.security_counts.get(level, 0) > 0:
            metrics.security_counts[level] -= 1
    return dataclasses.replace(
        result,
        findings=[f for f in result.findings if f.code not in ASSERT_CODES],
        metrics=metrics,
    )


def performance(metrics: Metrics) -> float:
    """Performance = 10 - penalties + bonuses, each kind once, clamped to 0..10."""
    return _clamp(10.0 - sum(metrics.perf_penalties.values()) + sum(metrics.perf_bonuses.values()))


def linting(metrics: Metrics) -> float:
    """Linting = 10 - 2 x E - 3 x F - 0.5 x W ruff violations, clamped at 0."""
    c = metrics.lint_counts
    return _clamp(10.0 - 2 * c.get("E", 0) - 3 * c.get("F", 0) - 0.5 * c.get("W", 0))


def type_checking(metrics: Metrics) -> float | None:
    """Type checking = 10 - 0.5 x mypy errors, clamped at 0; None when mypy did not run."""
    if metrics.type_errors is None:
        return None
    return _clamp(10.0 - 0.5 * metrics.type_errors)


def category_scores(result: FileResult, project: ProjectInfo) -> dict[str, float]:
    """Every measured category's quality: type_checking only when mypy ran, test_coverage
    only with coverage data (or the heuristic) and never for a test file."""
    m = result.metrics
    scores = {
        "complexity": complexity(m),
        "security": security(m),
        "maintainability": maintainability(m),
        "performance": performance(m),
        "linting": linting(m),
        "structure": _clamp(project.structure),
        "devex": _clamp(project.devex),
    }
    if m.needs_python:
        # Syntax newer than the server's Python: our parse measured none of these.
        for category in PARSED_CATEGORIES:
            del scores[category]
    covered = coverage(project)
    if covered is not None:
        scores["test_coverage"] = covered
    typed = type_checking(m)
    if typed is not None:
        scores["type_checking"] = typed
    return scores


def weights_for(scores: dict[str, float], settings: Settings) -> dict[str, float]:
    """The settings' weights of the categories that have a score, normalised to sum to 1.

    A category without a score (type_checking when mypy is off) drops out and
    the others are scaled up, rather than counting as 0 or 10.
    """
    raw = {c: w for c, w in settings.normalised_weights().items() if c in scores and w > 0}
    total = sum(raw.values())
    if total <= 0:
        return {}
    return {c: w / total for c, w in raw.items()}


def overall(scores: dict[str, float], weights: dict[str, float]) -> float:
    """Overall = 10 x sum(weight_c x quality_c) over the weighted categories (0-100)."""
    return 10.0 * sum(w * scores[c] for c, w in weights.items())


def weakest(scores: dict[str, float], weights: dict[str, float]) -> str:
    """The weighted category with the lowest quality (ties: the heavier weight first)."""
    if not weights:
        return ""
    return min(weights, key=lambda c: (scores[c], -weights[c], c))


# Codes of error-severity findings that fail the gate (besides ruff's E9/F63/F7/F82
# and invalid-syntax, which are lint): a parse error ruff did not report.
GATE_ERROR_CODES = frozenset({"TAPPS-SYNTAX"})


def gate_errors(result: FileResult, settings: Settings) -> tuple[Finding, ...]:
    """The findings that fail the gate whatever the scores (setting gateOnErrors).

    Lint findings of error severity, as ruff's severity mapping gives them (syntax
    errors for the project's Python, undefined names, other E9/F63/F7/F82) after
    `severityOverrides`, and a parse error ruff did not report. Security and
    complexity errors have their own scores and limits, so they do not count here.
    """
    if not settings.gateOnErrors:
        return ()
    return tuple(
        f
        for f in result.findings
        if f.severity == "error" and (f.category == "linting" or f.code in GATE_ERROR_CODES)
    )


# A file whose syntax is newer than the server's Python has none of its own categories
# measured, only the project's: `score` holds it to the gate errors alone.


def passes(
    overall_score: float,
    scores: dict[str, float],
    settings: Settings,
    errors: tuple[Finding, ...] = (),
) -> bool:
    """Gate: overall >= qualityThreshold, security >= minSecurity, and no gate error.

    A category that was not measured is not in `scores` and cannot fail it.
    """
    return (
        not errors
        and overall_score >= settings.qualityThreshold
        and scores.get("security", 10.0) >= settings.minSecurity
    )


def score(result: FileResult, project: ProjectInfo, settings: Settings, path: str) -> Review:
    """Score one file. A skipped file has no scores and is not held to the gate."""
    if result.skipped is not None:
        return Review(
            path=path,
            result=result,
            scores={},
            overall=0.0,
            passed=True,
            weakest="",
            threshold=settings.qualityThreshold,
            min_security=settings.minSecurity,
        )
    if project.is_test_file:
        result = as_test_file(result)
    scores = category_scores(result, project)
    weights = weights_for(scores, settings)
    total = overall(scores, weights)
    errors = gate_errors(result, settings)
    return Review(
        path=path,
        result=result,
        scores=scores,
        overall=total,
        passed=not errors
        if result.metrics.needs_python
        else passes(total, scores, settings, errors),
        weakest=weakest(scores, weights),
        threshold=settings.qualityThreshold,
        min_security=settings.minSecurity,
        not_measured=_not_measured(project, settings) | _not_parsed(result, settings),
        gate_errors=errors,
    )


def _not_measured(project: ProjectInfo, settings: Settings) -> dict[str, str]:
    """The weighted categories without a score, and why (test_coverage's only, so far)."""
    why = coverage_not_measured(project)
    if why is None or settings.weights.get("test_coverage", 0.0) <= 0:
        return {}
    return {"test_coverage": why}


def _not_parsed(result: FileResult, settings: Settings) -> dict[str, str]:
    """The weighted parse-based categories of a file with syntax newer than our Python."""
    needs = result.metrics.needs_python
    if not needs:
        return {}
    why = f"needs Python {needs}; the server runs {server_python()}"
    return {c: why for c in PARSED_CATEGORIES if settings.weights.get(c, 0.0) > 0}
