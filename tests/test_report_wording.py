"""What reports say and how: 1-based positions, scores that never round up to the gate,
one skip message, the HTML report's captions, code, filter and sort (issue 15)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.reports import Run, render
from tapps_lsp.review import engine
from tapps_lsp.review.messages import shown_score, terminal_safe
from tapps_lsp.review.model import Block, Edit, FileResult, Finding, Fix, Metrics, Review

RUFF = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "ruff"


def _review(path: str, overall: float, result: FileResult, **kw: object) -> Review:
    values: dict[str, object] = {
        "path": path,
        "result": result,
        "scores": {"complexity": 9.0, "security": 10.0, "maintainability": 6.0},
        "overall": overall,
        "passed": overall >= 70,
        "weakest": "maintainability",
        "threshold": 70.0,
        "min_security": 8.5,
    }
    values.update(kw)
    return Review(**values)  # type: ignore[arg-type]


def _finding(code: str, line: int, col: int, message: str = "", **kw: object) -> Finding:
    values: dict[str, object] = {
        "source": "ruff",
        "code": code,
        "message": message or f"message for {code}",
        "severity": "warning",
        "category": "linting",
        "line": line,
        "col": col,
        "end_line": line,
        "end_col": col + 2,
    }
    values.update(kw)
    return Finding(**values)  # type: ignore[arg-type]


# ---- JSON: 1-based positions, a schema version --------------------------------------------


def test_json_positions_are_one_based_as_ruff_writes_them(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n\ndef f():\n    import os\n    return 1\n", encoding="utf-8")
    text = source.read_text(encoding="utf-8")
    result = engine.analyze(text, Settings(), filename=str(source))
    review = _review(str(source), 90.0, result)
    data = json.loads(render([review], "json", Run()))
    assert data["schemaVersion"] == 2
    ours = {f["code"]: f for f in data["files"][0]["findings"] if f["source"] == "ruff"}
    theirs = json.loads(
        subprocess.run(
            [str(RUFF), "check", "--select", "F401", "--output-format", "json", str(source)],
            capture_output=True,
            check=False,
        ).stdout
    )
    assert len(theirs) == 1
    (f401,) = theirs
    assert (ours["F401"]["line"], ours["F401"]["col"]) == (
        f401["location"]["row"],
        f401["location"]["column"],
    )
    assert (ours["F401"]["end_line"], ours["F401"]["end_col"]) == (
        f401["end_location"]["row"],
        f401["end_location"]["column"],
    )
    # The function `f` starts on line 3 (radon's lineno), column 1.
    (block,) = data["files"][0]["metrics"]["blocks"]
    assert (block["name"], block["line"], block["col"], block["end_line"]) == ("f", 3, 1, 5)


def test_json_fix_edits_are_one_based_too() -> None:
    fix = Fix("Remove unused import", (Edit(3, 0, 4, 0, ""),))
    result = FileResult(
        findings=[_finding("F401", 3, 4, fix=fix)],
        metrics=Metrics(blocks=[Block("g", "function", 0, 0, 9, 2, "A")]),
    )
    (entry,) = json.loads(render([_review("a.py", 90.0, result)], "json"))["files"]
    (finding,) = entry["findings"]
    assert (finding["line"], finding["col"], finding["end_line"], finding["end_col"]) == (
        4,
        5,
        4,
        7,
    )
    assert finding["fix"]["edits"] == [
        {"line": 4, "col": 1, "end_line": 5, "end_col": 1, "text": ""}
    ]
    assert entry["metrics"]["blocks"][0]["line"] == 1


def test_the_schema_in_docs_is_the_one_written() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert '"schemaVersion": 2' in doc
    assert "1-based" in doc.split("## JSON")[1].split("## SARIF")[0]


# ---- scores against the gate -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [(69.96, "69.9"), (69.95, "69.9"), (67.6, "67.6"), (67.59, "67.6"), (70.0, "70.0")],
)
def test_a_failing_score_is_never_rounded_up_to_the_threshold(value: float, shown: str) -> None:
    assert shown_score(value, 70.0) == shown


def test_every_format_shows_a_score_just_under_the_gate_as_failing() -> None:
    # With a second file, so that the mean (59.98) shows as 60.0.
    reviews = [_review("edge.py", 69.96, FileResult()), _review("low.py", 50.0, FileResult())]
    for fmt in ("text", "markdown", "html"):
        out = render(reviews, fmt, Run())
        assert "70.0" not in out, fmt
        assert "69.9" in out, fmt
    text = render(reviews[:1], "text", Run())
    # Said once: no "overall 69.9 < 70" after "threshold 70".
    assert "edge.py:1:1: TAPPS-GATE Quality gate failed: 69.9/100 < 70 (weakest: " in text
    assert text.count("< 70") == 1


def test_from_the_cache_is_not_part_of_the_weakest_category() -> None:
    review = _review("c.py", 80.0, FileResult(), from_cache=True)
    line = render([review], "text", Run()).splitlines()[0]
    assert line == "c.py: score 80.0/100, passes the gate (weakest: maintainability 6.0/10); " + (
        "from the cache"
    )


# ---- skipped files -------------------------------------------------------------------------


def test_a_skip_is_said_once_with_line_and_column() -> None:
    text = "x = 1\n# caf" + b"\xe9".decode("utf-8", "surrogateescape") + "\n"
    result = engine.analyze(text, Settings(), filename="latin1.py")
    assert result.skipped == "File skipped: not valid UTF-8 (line 2, column 6)"
    review = _review("latin1.py", 0.0, result, scores={}, passed=True, weakest="")
    out = render([review], "text", Run())
    assert "latin1.py: skipped: not valid UTF-8 (line 2, column 6)" in out.splitlines()
    assert "skipped (File skipped" not in out and "skipped: File skipped" not in out
    markdown = render([review], "markdown", Run())
    assert "latin1.py: skipped: not valid UTF-8 (line 2, column 6)" in markdown
    head = render([review], "html", Run()).split("<summary>")[1].split("</summary>")[0]
    assert "skipped: not valid UTF-8 (line 2, column 6)" in head and "File skipped" not in head


# ---- HTML ----------------------------------------------------------------------------------


def _html_reviews() -> list[Review]:
    message = "`os` imported but unused; `<b>` stays text"
    return [
        _review("one.py", 55.0, FileResult(findings=[_finding("F401", 0, 7, message)])),
        _review("two.py", 91.5, FileResult(), from_cache=True),
        _review("three.py", 75.0, FileResult(findings=[_finding("E711", 1, 0)] * 3)),
    ]


def test_html_words_and_alignment() -> None:
    page = render(_html_reviews(), "html", Run())
    assert "<title>1 file scored 50-60</title>" in page
    assert "1 files" not in page
    assert "Quality gate: overall &ge; 70 and security &ge; 8.5" in page
    # Score headers are aligned as their numbers are.
    assert '<th class="num">complexity</th>' in page
    # ruff's backticks are code, and what is inside them is escaped.
    assert "<code>os</code> imported but unused; <code>&lt;b&gt;</code> stays text" in page
    assert "`" not in page.split('<div id="files">')[1].split("<script>")[0]
    # No file is said to come from the cache (the card counts them).
    assert page.count("from the cache") == 1 and "from cache" not in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_html_filter_and_sort_run_in_a_browser(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(_html_reviews(), "html", Run()), encoding="utf-8")

    def dom(fragment: str = "") -> str:
        out = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                page.as_uri() + fragment,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return out.stdout

    # The script ran (the CSP allowed it): files sorted by score, lowest first.
    shown = dom()
    assert '<span id="shown" class="muted">3 of 3 files</span>' in shown
    order = [shown.index(f'data-path="{name}"') for name in ("one.py", "three.py", "two.py")]
    assert order == sorted(order)
    # A filter from the address hides the other files.
    filtered = dom("#q=E711")
    assert '<span id="shown" class="muted">1 of 3 files</span>' in filtered
    assert 'data-path="one.py" data-score="55.0000" data-findings="2" hidden=""' in filtered


# ---- text on a terminal --------------------------------------------------------------------


def test_control_characters_from_the_workspace_never_reach_the_terminal() -> None:
    name = "evil\x1b]0;pwned\x07\x1b[2J.py"
    review = _review(name, 50.0, FileResult(findings=[_finding("F401", 0, 0, "bad\x1b[31m")]))
    out = render([review], "text", Run(deleted=(name,)))
    assert "\x1b" not in out and "\x07" not in out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J.py:1:1: F401 bad\\x1b[31m" in out
    assert terminal_safe("tab\tkept, caf\udce9 kept, \udc9b escaped") == (
        "tab\tkept, caf\udce9 kept, \\x9b escaped"
    )


# ---- docs that must stay true ----------------------------------------------------------------


def test_scoring_doc_says_module_level_nesting_is_penalised_as_it_is() -> None:
    nested = (
        "for a in b:\n    if a:\n        while a:\n            with a:\n                if a:\n"
    )
    result = engine.analyze(nested + "                    pass\n", Settings(), filename="m.py")
    (nest,) = [f for f in result.findings if f.code == "TAPPS-PERF-NEST"]
    assert nest.message == "Nesting depth 5 in module (more than 4 levels)"
    assert result.metrics.perf_penalties.get("deep_nesting") == 1.0
    doc = (Path(__file__).resolve().parents[1] / "docs" / "scoring.md").read_text("utf-8")
    (row,) = [line for line in doc.splitlines() if "levels deep" in line]
    assert "in one function, or in the module's top-level code" in row
