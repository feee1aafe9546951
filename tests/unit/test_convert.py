"""Review model -> LSP types: units, severities, tags, lenses, the score table."""

from __future__ import annotations

import re

from lsprotocol import types

from tapps_lsp import convert
from tapps_lsp.config import Settings
from tapps_lsp.review import scoring
from tapps_lsp.review.model import Block, Edit, FileResult, Finding, Metrics, Review
from tapps_lsp.review.positions import UTF8, UTF16, split_lines


def finding(**kw: object) -> Finding:
    base: dict[str, object] = dict(
        source="ruff",
        code="F401",
        message="`os` imported but unused",
        severity="warning",
        category="linting",
        line=0,
        col=0,
        end_line=0,
        end_col=9,
    )
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def review(
    findings: list[Finding], *, passed: bool = True, blocks: list[Block] | None = None
) -> Review:
    return Review(
        path="x.py",
        result=FileResult(findings=findings, metrics=Metrics(blocks=blocks or [])),
        scores={"complexity": 8.0, "security": 10.0, "maintainability": 6.5},
        overall=76.54,
        passed=passed,
        weakest="maintainability",
        threshold=70.0,
        min_security=8.5,
    )


def test_emoji_columns_in_utf16_and_utf8() -> None:
    # "x = '😀'; y" -- the finding covers `y`, after a 4-byte, 2-unit emoji.
    lines = split_lines("x = '😀'; y\n")
    f = finding(line=0, col=9, end_line=0, end_col=10)
    d16 = convert.diagnostic(f, lines, UTF16)
    d8 = convert.diagnostic(f, lines, UTF8)
    assert (d16.range.start.character, d16.range.end.character) == (10, 11)
    assert (d8.range.start.character, d8.range.end.character) == (12, 13)


def test_positions_past_the_end_are_clamped() -> None:
    lines = split_lines("a\r\nbc")
    rng = convert.to_range(lines, 5, 0, 9, 3, UTF16)
    assert rng.start == types.Position(1, 2) and rng.end == types.Position(1, 2)


def test_diagnostic_fields() -> None:
    f = finding(url="https://docs.astral.sh/ruff/rules/unused-import", tags=("unnecessary",))
    d = convert.diagnostic(f, ["import os"], UTF16)
    assert d.code == "F401" and d.source == "ruff"
    assert d.severity == types.DiagnosticSeverity.Warning
    assert d.code_description is not None
    assert d.code_description.href.endswith("unused-import")
    assert d.tags == [types.DiagnosticTag.Unnecessary]


def test_longest_severity_override_wins() -> None:
    f = finding(code="S105", severity="warning")
    overrides = {"S": "hint", "S105": "error"}
    assert convert.severity(f, overrides) == types.DiagnosticSeverity.Error
    assert convert.severity(finding(code="S101"), overrides) == types.DiagnosticSeverity.Hint
    assert convert.severity(finding(code="E1"), overrides) == types.DiagnosticSeverity.Warning


def test_gate_finding_is_a_diagnostic_on_line_1() -> None:
    r = review([], passed=False)
    r.overall = 50.0
    (d,) = convert.diagnostics(r, ["print(1)"], UTF16)
    assert d.code == "TAPPS-GATE" and d.range.start.line == 0
    assert "50.0" in d.message and "maintainability" in d.message


def test_text_edits_use_units() -> None:
    lines = split_lines("s = '𝄞'; import os\n")
    (edit,) = convert.text_edits([Edit(0, 9, 0, 18, "")], lines, UTF16)
    assert edit.range.start.character == 10 and edit.range.end.character == 19


def test_code_lenses() -> None:
    blocks = [
        Block("f", "function", 2, 0, 30, 14, "C"),
        Block("g", "function", 40, 4, 50, 3, "A"),
    ]
    lines = ["x"] * 60
    lenses = convert.code_lenses(review([], blocks=blocks), lines, UTF16, "file:///x.py", 10)
    titles = [(lens.range.start.line, lens.command.title) for lens in lenses if lens.command]
    assert titles == [(0, "Quality 76.5/100 · pass"), (2, "Complexity 14 (rank C)")]


def test_score_table_lists_each_category_with_the_weight_the_score_used() -> None:
    r = review([finding()])
    table = convert.score_table(r, Settings())
    assert "Quality 76.5/100 · pass" in table
    # Only these three categories have a score: their weights are scaled to sum to 1,
    # as the overall score scaled them.
    weights = scoring.weights_for(r.scores, Settings())
    assert f"| complexity | 8.0/10 | {weights['complexity']:.0%} |" in table
    assert f"| maintainability | 6.5/10 | {weights['maintainability']:.0%} |" in table
    assert "Gate: overall ≥ 70 and security ≥ 8.5" in table


def test_score_table_lists_categories_of_weight_0_apart() -> None:
    r = review([finding()])
    r.scores["linting"] = 0.0  # linting weighs 0 by default
    table = convert.score_table(r, Settings())
    assert "| linting |" not in table and "0%" not in table
    assert "Not counted in the score (weight 0): linting 0.0/10." in table


def test_score_table_counts_what_problems_shows() -> None:
    findings = [finding(line=i, end_line=i) for i in range(5)]
    failing = review(findings, passed=False)
    failing.overall = 53.84
    shown = convert.diagnostics(failing, ["x"] * 10, UTF16)
    assert len(shown) == 6  # the gate diagnostic is one of them
    table = convert.score_table(failing, Settings())
    assert "6 findings in Problems, the quality gate's included" in table
    assert "Fails the quality gate: 53.8/100 < 70." in table
    assert "1 finding in Problems" in convert.score_table(review([finding()]), Settings())


def test_gate_diagnostic_is_short_and_never_rounds_up_to_the_threshold() -> None:
    r = review([], passed=False)
    r.overall = 69.96
    (d,) = convert.diagnostics(r, ["print(1)"], UTF16)
    assert d.message == "Quality gate failed: 69.9/100 < 70 (weakest: maintainability 6.5)"
    assert convert.quality_title(r) == "Quality 69.9/100 · fail"
    r.scores["security"] = 7.0
    r.overall = 80.0
    (d,) = convert.diagnostics(r, ["print(1)"], UTF16)
    assert d.message == "Quality gate failed: security 7.0 < 8.5 (weakest: maintainability 6.5)"


RUFF_DOC = """## What it does
Checks for unused imports.

## Why is this bad?
Unused imports add a performance overhead at runtime.

More on why.

## Example
```python
import os
```

## References
- [Python documentation](https://docs.python.org/3/reference/simple_stmts.html)
"""


def test_rule_hover_shows_the_message_once_and_a_short_excerpt() -> None:
    f = finding(url="https://docs.astral.sh/ruff/rules/unused-import")
    text = convert.finding_markdown(f, RUFF_DOC)
    assert text.count("imported but unused") == 1
    assert "**What it does:** Checks for unused imports." in text
    assert "**Why:** Unused imports add a performance overhead at runtime." in text
    assert "##" not in text and "More on why" not in text and "import os" not in text
    assert text.endswith(
        "[The rule's full documentation](https://docs.astral.sh/ruff/rules/unused-import)"
    )
    # ruff's backticks stay code.
    assert "`os` imported but unused" in text


def test_rule_hover_escapes_what_tools_say() -> None:
    hostile = "Undefined name ![x](http://evil.example/x.png) <img src=x> [a](http://e) `![](c)`"
    text = convert.finding_markdown(finding(code="F821", message=hostile), None)
    outside_code = re.sub(r"`[^`]*`", "", text)
    assert not re.search(r"(?<!\\)(!\[|<img|\[a\])", outside_code), text
    assert r"\!\[x\](http://evil.example/x.png)" in text
    # Inside a code span nothing is markup.
    assert "`![](c)`" in text
    analyzer = review([])
    analyzer.result.analyzer_errors["mypy"] = "crashed: ![](http://evil.example/y.png)"
    assert "![](" not in convert.score_table(analyzer, Settings())
