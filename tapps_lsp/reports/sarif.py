"""SARIF 2.1.0 (the OASIS standard code-scanning services read).

Columns: SARIF's default `columnKind` is `utf16CodeUnits` and its lines and
columns are 1-based, while our positions are 0-based code points. The file's
current text converts them (`tapps_lsp.review.positions`); when the text
cannot be read the code-point column is kept, which equals the UTF-16 one
unless the line holds characters outside the Basic Multilingual Plane.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tapps_lsp import __version__
from tapps_lsp.reports.summary import Run, sorted_findings, summarize
from tapps_lsp.review.model import Finding, Review
from tapps_lsp.review.positions import UTF16, split_lines, to_units

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVELS = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}
_SRCROOT = "SRCROOT"


def _read_from_disk(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            return f.read()
    except OSError:
        return None


def _uri(path: str) -> tuple[str, str | None]:
    """(uri, uriBaseId): relative paths stay relative to SRCROOT, the current folder."""
    posix = Path(path).as_posix()
    # Undecodable file names keep their original bytes, percent-encoded.
    encoded = quote(posix.encode("utf-8", "surrogateescape"))
    if Path(path).is_absolute():
        return "file://" + ("" if encoded.startswith("/") else "/") + encoded, None
    return encoded, _SRCROOT


class _Columns:
    """Code-point -> 1-based UTF-16 columns of one file."""

    def __init__(self, text: str | None):
        self.lines = split_lines(text) if text is not None else None

    def column(self, line: int, col: int) -> int:
        if self.lines is None or not 0 <= line < len(self.lines):
            return col + 1
        return to_units(self.lines[line], col, UTF16) + 1


def _region(finding: Finding, columns: _Columns) -> dict[str, int]:
    start_col = columns.column(finding.line, finding.col)
    end_line, end_col = finding.end_line, finding.end_col
    if (end_line, end_col) < (finding.line, finding.col):
        end_line, end_col = finding.line, finding.col
    return {
        "startLine": finding.line + 1,
        "startColumn": start_col,
        "endLine": end_line + 1,
        "endColumn": columns.column(end_line, end_col),
    }


def sarif_dict(
    reviews: Sequence[Review],
    run: Run,
    *,
    read_text: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """The SARIF 2.1.0 log of `reviews` as a dict; `read_text` reads a file's text for columns."""
    read = read_text or _read_from_disk
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    artifacts: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    relative = False
    for review in reviews:
        uri, base = _uri(review.path)
        relative = relative or base is not None
        location: dict[str, Any] = {"uri": uri, "index": len(artifacts)}
        if base:
            location["uriBaseId"] = base
        artifacts.append(_artifact(review, location))
        notifications += _analyzer_errors(review, location)
        findings = sorted_findings(review)
        columns = _Columns(read(review.path) if findings else None)
        for finding in findings:
            if finding.code not in rule_index:
                rule_index[finding.code] = len(rules)
                rules.append(_rule(finding))
            results.append(_result(finding, rule_index[finding.code], location, columns))
    for path in run.deleted:
        notifications.append(
            {"level": "note", "message": {"text": f"{path} was deleted during the review"}}
        )
    sarif_run: dict[str, Any] = {
        "tool": _tool(rules, run),
        "columnKind": "utf16CodeUnits",
        "artifacts": artifacts,
        "results": results,
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "properties": {"summary": summarize(reviews, run)},
    }
    if relative:
        sarif_run["originalUriBaseIds"] = {_SRCROOT: {"uri": Path.cwd().as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [sarif_run]}


def _artifact(review: Review, location: dict[str, Any]) -> dict[str, Any]:
    """A file's artifact entry: where it is and its scores."""
    return {
        "location": {k: v for k, v in location.items() if k != "index"},
        "properties": {
            "overall": round(review.overall, 2),
            "passed": review.passed,
            "weakest": review.weakest,
            "scores": {k: round(v, 2) for k, v in review.scores.items()},
            "skipped": review.result.skipped,
        },
    }


def _analyzer_errors(review: Review, location: dict[str, Any]) -> list[dict[str, Any]]:
    """One error notification per analyzer that failed on the file."""
    return [
        {
            "level": "error",
            "message": {"text": f"{tool}: {message}"},
            "locations": [{"physicalLocation": {"artifactLocation": location}}],
        }
        for tool, message in sorted(review.result.analyzer_errors.items())
    ]


def _result(
    finding: Finding, rule_index: int, location: dict[str, Any], columns: _Columns
) -> dict[str, Any]:
    """One finding as a SARIF result."""
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _LEVELS.get(finding.severity, "note"),
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": location,
                    "region": _region(finding, columns),
                }
            }
        ],
        "properties": {
            "category": finding.category,
            "source": finding.source,
            "severity": finding.severity,
        },
    }


def _tool(rules: list[dict[str, Any]], run: Run) -> dict[str, Any]:
    """The driver (tapps-lsp and its rules) and the tools it ran as extensions."""
    return {
        "driver": {"name": "tapps-lsp", "version": __version__, "rules": rules},
        "extensions": [
            {"name": name, "version": version}
            for name, version in sorted(run.tools.items())
            if name != "tapps-lsp"
        ],
    }


def _rule(finding: Finding) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": finding.code,
        "shortDescription": {"text": finding.message},
        "defaultConfiguration": {"level": _LEVELS.get(finding.severity, "note")},
        "properties": {"source": finding.source, "category": finding.category},
    }
    if finding.url:
        rule["helpUri"] = finding.url
    elif finding.source == "tapps":
        rule["help"] = {"text": "How tapps-lsp scores and what it reports: docs/scoring.md."}
    return rule


def render_sarif(
    reviews: Sequence[Review],
    run: Run,
    *,
    read_text: Callable[[str], str | None] | None = None,
) -> str:
    """The SARIF 2.1.0 log of `reviews` as one line of JSON."""
    # No indent: json only uses its C encoder without one.
    return json.dumps(sarif_dict(reviews, run, read_text=read_text)) + "\n"
