"""Each formula of SCORING.md pinned on small inputs with exact numbers."""

from __future__ import annotations

from typing import Any

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.review import scoring
from tapps_lsp.review.model import Block, FileResult, Metrics, ProjectInfo
from tapps_lsp.settings_merge import merge, weights_notice


def block(cc: int) -> Block:
    return Block("f", "function", 0, 0, 1, cc, "A")


def metrics(**kw: Any) -> Metrics:
    return Metrics(**kw)


@pytest.mark.parametrize(
    ("blocks", "syntax_error", "raw"),
    [
        ([], False, 1.0),  # no blocks
        ([block(1)], False, 0.2),
        ([block(3), block(14)], False, 2.8),  # the worst block counts
        ([block(50)], False, 10.0),
        ([block(80)], False, 10.0),  # capped
        ([block(2)], True, 10.0),  # syntax error
    ],
)
def test_complexity(blocks: list[Block], syntax_error: bool, raw: float) -> None:
    m = metrics(
        blocks=blocks,
        max_complexity=max((b.complexity for b in blocks), default=0),
        syntax_error=syntax_error,
    )
    assert scoring.complexity_raw(m) == pytest.approx(raw)
    assert scoring.complexity(m) == pytest.approx(10 - raw)


@pytest.mark.parametrize(
    ("high", "medium", "low", "expected"),
    [(0, 0, 0, 10.0), (1, 0, 0, 7.0), (0, 2, 9, 8.0), (2, 1, 0, 3.0), (4, 0, 0, 0.0)],
)
def test_security(high: int, medium: int, low: int, expected: float) -> None:
    m = metrics(security_counts={"HIGH": high, "MEDIUM": medium, "LOW": low})
    assert scoring.security(m) == expected


@pytest.mark.parametrize(
    ("mi", "syntax_error", "expected"),
    [(55.72, False, 5.572), (100.0, False, 10.0), (0.0, False, 0.0), (None, False, 5.0)],
)
def test_maintainability(mi: float | None, syntax_error: bool, expected: float) -> None:
    assert scoring.maintainability(metrics(mi=mi, syntax_error=syntax_error)) == pytest.approx(
        expected
    )


def test_maintainability_of_a_syntax_error_is_zero() -> None:
    assert scoring.maintainability(metrics(mi=None, syntax_error=True)) == 0.0


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (ProjectInfo(coverage_line_rate=0.83, has_coverage_report=True), 8.3),
        (ProjectInfo(coverage_line_rate=None, has_coverage_report=True, has_test_file=True), 0.0),
        # Tapps's guess only behind the coverageHeuristic setting; else not measured.
        (ProjectInfo(has_test_file=True, coverage_heuristic=True), 5.0),
        (ProjectInfo(coverage_heuristic=True), 0.0),
        (ProjectInfo(has_test_file=True), None),
        (ProjectInfo(), None),
        # A test file is never scored on its own coverage.
        (ProjectInfo(coverage_line_rate=0.5, has_coverage_report=True, is_test_file=True), None),
    ],
)
def test_coverage(info: ProjectInfo, expected: float | None) -> None:
    assert scoring.coverage(info) == (expected if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("penalties", "bonuses", "expected"),
    [
        ({}, {}, 10.0),
        ({"long_function": 1.5, "nested_loop": 1.5}, {}, 7.0),
        ({"deep_nesting": 2.0}, {"async": 1.0, "generator": 0.5}, 9.5),
        ({}, {"cache": 1.5}, 10.0),  # capped at 10
    ],
)
def test_performance(
    penalties: dict[str, float], bonuses: dict[str, float], expected: float
) -> None:
    m = metrics(perf_penalties=penalties, perf_bonuses=bonuses)
    assert scoring.performance(m) == expected


@pytest.mark.parametrize(
    ("e", "f", "w", "expected"),
    [(0, 0, 0, 10.0), (1, 1, 1, 4.5), (0, 0, 3, 8.5), (2, 2, 0, 0.0)],
)
def test_linting(e: int, f: int, w: int, expected: float) -> None:
    assert scoring.linting(metrics(lint_counts={"E": e, "F": f, "W": w})) == expected


def test_type_checking() -> None:
    assert scoring.type_checking(metrics(type_errors=None)) is None
    assert scoring.type_checking(metrics(type_errors=3)) == 8.5
    assert scoring.type_checking(metrics(type_errors=40)) == 0.0


def perfect_result(**kw: Any) -> FileResult:
    return FileResult(
        metrics=metrics(blocks=[block(5)], max_complexity=5, mi=80.0, **kw),
    )


def test_overall_with_default_weights() -> None:
    # complexity 9, security 10, maintainability 8, coverage 5, performance 10,
    # structure 4, devex 6:
    # 10 x (.18x9 + .27x10 + .24x8 + .13x5 + .08x10 + .05x4 + .05x6) = 81.9
    info = ProjectInfo(structure=4.0, devex=6.0, coverage_line_rate=0.5, has_coverage_report=True)
    review = scoring.score(perfect_result(), info, Settings(), "a.py")
    assert review.scores["complexity"] == 9.0
    assert review.overall == pytest.approx(81.9)
    assert review.passed
    assert review.weakest == "structure"
    assert "type_checking" not in review.scores


def test_weights_are_normalised() -> None:
    settings, problems = merge({"weights": {"complexity": 2, "security": 2}})
    assert problems == ["tapps.weights sum to 4, not 1: each is divided by 4"]
    result = perfect_result(security_counts={"HIGH": 1, "MEDIUM": 0, "LOW": 0})
    review = scoring.score(result, ProjectInfo(), settings, "a.py")
    # (9 + 7) / 2 x 10
    assert review.overall == pytest.approx(80.0)
    assert review.weakest == "security"


def test_weights_notice() -> None:
    assert weights_notice(Settings()) is None
    assert weights_notice(merge({"weights": {"complexity": 2, "security": 2}})[0]) == (
        "tapps.weights sum to 4, not 1: each is divided by 4"
    )
    assert weights_notice(merge({"weights": {"complexity": 0}})[0]) == (
        "tapps.weights are all 0; using the default weights"
    )
    # merge reports it with the other problems, so the server and the CLI tell the user once.
    assert merge({"weights": {"complexity": 2, "security": 2}})[1] == [
        "tapps.weights sum to 4, not 1: each is divided by 4"
    ]
    assert merge({"weights": {"complexity": 0.5, "security": 0.5}})[1] == []


def test_unscored_type_checking_drops_out_of_the_weights() -> None:
    settings, _ = merge({"weights": {"complexity": 1, "type_checking": 1}})
    without = scoring.score(perfect_result(), ProjectInfo(), settings, "a.py")
    assert without.overall == pytest.approx(90.0)
    with_mypy = scoring.score(perfect_result(type_errors=4), ProjectInfo(), settings, "a.py")
    assert with_mypy.overall == pytest.approx((9 + 8) / 2 * 10)


@pytest.mark.parametrize(
    ("overall_score", "security_score", "passed"),
    [(70.0, 8.5, True), (69.99, 10.0, False), (90.0, 8.4, False)],
)
def test_gate(overall_score: float, security_score: float, passed: bool) -> None:
    scores = {"security": security_score}
    assert scoring.passes(overall_score, scores, Settings()) is passed


def test_failing_file_gets_one_gate_finding_naming_the_weakest_category() -> None:
    result = perfect_result(security_counts={"HIGH": 1, "MEDIUM": 0, "LOW": 0})
    review = scoring.score(result, ProjectInfo(has_coverage_report=True), Settings(), "a.py")
    assert not review.passed  # security 7 < 8.5
    gate = [f for f in review.findings if f.code == "TAPPS-GATE"]
    assert len(gate) == 1
    assert gate[0].line == 0
    # coverage (the data does not list the file), structure and devex all score 0:
    # the heaviest of them is named
    assert "test_coverage" in gate[0].message
    assert "security 7.0 < 8.5" in gate[0].message


def test_skipped_file_has_no_scores_and_passes() -> None:
    review = scoring.score(FileResult(skipped="too large"), ProjectInfo(), Settings(), "a.py")
    assert review.scores == {}
    assert review.passed
