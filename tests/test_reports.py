"""Report formats, rendered from reviews built by hand (no engine needed)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from tapps_lsp.reports import FORMATS, Run, render, summarize
from tapps_lsp.review.model import FileResult, Finding, Review
from tapps_lsp.scans.runner import describe

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)

EMOJI_SOURCE = 's = "😀😀"; import os\n'


def finding(code: str, line: int, col: int, end_col: int, **kw: object) -> Finding:
    defaults: dict[str, object] = {
        "source": "ruff",
        "message": f"message for {code}",
        "severity": "warning",
        "category": "linting",
    }
    defaults.update(kw)
    return Finding(code=code, line=line, col=col, end_line=line, end_col=end_col, **defaults)  # type: ignore[arg-type]


def review(path: str, overall: float, findings: list[Finding], **kw: object) -> Review:
    scores = {"complexity": 9.0, "security": 10.0, "maintainability": 6.0, "test_coverage": 0.0}
    values: dict[str, object] = {
        "path": path,
        "result": FileResult(findings=findings),
        "scores": scores,
        "overall": overall,
        "passed": overall >= 70,
        "weakest": "test_coverage",
        "threshold": 70.0,
        "min_security": 8.5,
    }
    values.update(kw)
    return Review(**values)  # type: ignore[arg-type]


@pytest.fixture
def reviews(tmp_path: Path) -> list[Review]:
    emoji = tmp_path / "emoji.py"
    emoji.write_text(EMOJI_SOURCE, encoding="utf-8")
    hostile = '<script>alert("x")</script> | *bold* [link](http://evil.example) `tick`'
    return [
        review(
            str(emoji),
            55.0,
            [
                # `os` spans code points 17-19; each emoji before it is 2 UTF-16 units.
                finding(
                    "F401",
                    0,
                    17,
                    19,
                    url="https://docs.astral.sh/ruff/rules/unused-import",
                    tags=("unnecessary",),
                ),
                finding("B602", 0, 10, 19, source="bandit", severity="error", category="security"),
            ],
        ),
        review(
            "pkg/clean.py",
            91.5,
            [finding("E711", 3, 4, 8, message=hostile, severity="information")],
            from_cache=True,
        ),
        review(
            "pkg/big.py",
            0.0,
            [],
            result=FileResult(
                findings=[
                    finding(
                        "TAPPS-SKIP",
                        0,
                        0,
                        0,
                        source="tapps",
                        severity="information",
                        category="file",
                    )
                ],
                skipped="larger than 1048576 bytes",
            ),
            passed=False,
        ),
    ]


def test_summary_counts(reviews: list[Review]) -> None:
    s = summarize(reviews, Run(seconds=1.23456, deleted=("gone.py",)))
    assert s["files"] == 3
    assert s["analysed"] == 2 and s["skipped"] == 1
    assert s["fromCache"] == 1
    assert s["meanScore"] == 73.25  # (55 + 91.5) / 2; the skipped file does not count
    assert s["failingGate"] == 2 and s["passed"] == 1
    # The failing files each carry a gate finding (warning).
    assert s["findingsBySeverity"] == {"error": 1, "warning": 3, "information": 2, "hint": 0}
    assert s["findingsByCategory"] == {"file": 1, "gate": 2, "linting": 2, "security": 1}
    assert s["findings"] == 6
    assert s["seconds"] == 1.235
    assert s["deleted"] == ["gone.py"]


def test_json_shape(reviews: list[Review]) -> None:
    data = json.loads(render(reviews, "json", Run(tools={"ruff": "0.17.6"})))
    assert set(data) == {"schemaVersion", "tool", "summary", "files"}
    assert data["schemaVersion"] == 2
    assert data["tool"]["name"] == "tapps-lsp" and data["tool"]["analyzers"] == {"ruff": "0.17.6"}
    assert data["summary"] == summarize(reviews, Run())
    assert [f["path"] for f in data["files"]] == [r.path for r in reviews]
    assert set(data["files"][0]) == set(reviews[0].to_dict())


def test_sarif_is_valid_and_columns_are_utf16(reviews: list[Review]) -> None:
    data = json.loads(render(reviews, "sarif", Run(tools={"ruff": "0.17.6", "bandit": "1.9.4"})))
    jsonschema.Draft4Validator(SCHEMA).validate(data)
    run = data["runs"][0]
    assert run["columnKind"] == "utf16CodeUnits"
    by_rule = {r["ruleId"]: r for r in run["results"]}
    # Code point 17 is preceded by two astral emoji: 17 + 2 UTF-16 units, 1-based.
    assert by_rule["F401"]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 20,
        "endLine": 1,
        "endColumn": 22,
    }
    assert by_rule["B602"]["level"] == "error"
    assert by_rule["E711"]["level"] == "note"
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    f401 = rules[by_rule["F401"]["ruleIndex"]]
    assert f401["helpUri"] == "https://docs.astral.sh/ruff/rules/unused-import"
    # Relative paths are resolved against SRCROOT, absolute ones are file URIs.
    locations = [a["location"] for a in run["artifacts"]]
    assert locations[0]["uri"].startswith("file:///")
    assert locations[1] == {"uri": "pkg/clean.py", "uriBaseId": "SRCROOT"}
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].endswith("/")
    assert {e["name"] for e in run["tool"]["extensions"]} == {"ruff", "bandit"}


def test_sarif_without_readable_text_keeps_code_point_columns(reviews: list[Review]) -> None:
    data = json.loads(render(reviews[:1], "sarif", read_text=lambda path: None))
    jsonschema.Draft4Validator(SCHEMA).validate(data)
    results = {r["ruleId"]: r for r in data["runs"][0]["results"]}
    region = results["F401"]["locations"][0]["physicalLocation"]["region"]
    assert (region["startColumn"], region["endColumn"]) == (18, 20)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.style: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self.ids |= {v for k, v in attrs if k == "id" and v}
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.style if self._in_style else self.text).append(data)


def test_html_is_self_contained_and_escaped(reviews: list[Review]) -> None:
    page = render(reviews, "html", Run(seconds=2.0, deleted=("gone<1>.py",)))
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert not {"link", "img", "iframe", "object", "embed"} & set(parser.tags)
    # One inline script (the filter and sort), which the page's CSP allows by its hash.
    assert parser.tags.count("script") == 1
    assert ("http-equiv", "Content-Security-Policy") in parser.attrs
    assert not [k for k, _ in parser.attrs if k == "src" or k.startswith("on")]
    hrefs = [v or "" for k, v in parser.attrs if k in ("href", "xlink:href")]
    assert hrefs and all(h.startswith("#") and h[1:] in parser.ids for h in hrefs)
    css = "".join(parser.style)
    assert "url(" not in css and "@import" not in css
    # The hostile message is text, not markup.
    text = "".join(parser.text)
    assert '<script>alert("x")</script>' in text
    assert "gone<1>.py" in text
    # The histogram has one bar per band of ten points, plus the category chart.
    assert parser.tags.count("svg") == 2
    assert parser.tags.count("rect") == 10 + 4  # categories: gate, linting, security, file
    assert "Score distribution" in text and "Worst files" in text


def test_markdown_escapes_table_cells(reviews: list[Review]) -> None:
    md = render(reviews, "markdown", Run(seconds=0.5))
    assert md.startswith("# tapps-lsp review\n")
    row = next(line for line in md.splitlines() if "E711" in line)
    # Five cells: only the separators are unescaped pipes.
    assert len(re.findall(r"(?<!\\)\|", row)) == 6
    assert "<script>" not in md and r"\<script\>" in md
    assert "[link]" not in md
    assert "| 3 | 1 | 1 | 73.2 | 2 | 6 |" in md


def test_text_lines(reviews: list[Review]) -> None:
    out = render(reviews, "text", Run(seconds=0.5)).splitlines()
    assert out[0].endswith("emoji.py:1:1: TAPPS-GATE " + reviews[0].gate_finding().message)
    assert out[1].endswith("emoji.py:1:11: B602 message for B602")
    assert "pkg/clean.py:4:5: E711 " in "\n".join(out)
    assert (
        "pkg/clean.py: score 91.5/100, passes the gate (weakest: test_coverage 0.0/10); "
        "from the cache"
    ) in out
    assert "pkg/big.py: skipped: larger than 1048576 bytes" in out
    assert out[-1] == "0.50 s"


def test_every_format_renders_empty() -> None:
    for fmt in FORMATS:
        assert render([], fmt)
    with pytest.raises(ValueError):
        render([], "pdf")


def test_a_workspace_of_one_file_is_one_file() -> None:
    summary = {"files": 1, "fromCache": 0, "failingGate": 0, "meanScore": 80.0}
    assert describe({**summary, "deleted": [], "seconds": 0.1}).startswith("1 file (0 from")
    assert describe({**summary, "files": 2, "deleted": [], "seconds": 0.1}).startswith("2 files")
