"""`tapps-lsp report merge`: join the JSON reports of `check --shard K/N` runs into one.

Each file entry is turned back into a `Review` (positions back to 0-based, the
gate finding kept as written), so every format renders the merged set exactly
as it renders an unsharded run: same files, findings and totals. Files are in
path order, as `check` lists a folder. Reports of different engine versions,
or naming one file twice, are refused: their union would not be one run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapps_lsp.reports import Run, render
from tapps_lsp.reports.json_report import SCHEMA_VERSION
from tapps_lsp.review.model import FileResult, Finding, Metrics, Review

# A report larger than this is not one of ours (the stdlib's is ~40 MB).
MAX_REPORT_BYTES = 1 << 30
_POSITION_KEYS = ("line", "col", "end_line", "end_col")


class MergeError(ValueError):
    """A report that cannot be merged; the message names the file and why."""


@dataclass
class _Merged(Review):
    """A review read back from a report: its gate finding is the one the report has."""

    gate: Finding | None = None

    def gate_finding(self) -> Finding:
        return self.gate if self.gate is not None else super().gate_finding()


def _zero_based(entry: dict[str, Any]) -> dict[str, Any]:
    out = dict(entry)
    for key in _POSITION_KEYS:
        if key in out:
            out[key] -= 1
    return out


def _finding(data: dict[str, Any]) -> Finding:
    data = _zero_based(data)
    if data.get("fix") is not None:
        fix = dict(data["fix"])
        fix["edits"] = [_zero_based(edit) for edit in fix["edits"]]
        data["fix"] = fix
    return Finding.from_dict(data)


def review_of(entry: dict[str, Any]) -> Review:
    """The Review a JSON report's file entry was written from."""
    findings = [_finding(f) for f in entry["findings"]]
    gate = next((f for f in findings if f.code == "TAPPS-GATE"), None)
    metrics = dict(entry["metrics"])
    metrics["blocks"] = [_zero_based(block) for block in metrics.get("blocks", [])]
    result = FileResult(
        findings=[f for f in findings if f.code != "TAPPS-GATE"],
        metrics=Metrics.from_dict(metrics),
        skipped=entry.get("skipped"),
        analyzer_errors=dict(entry.get("analyzerErrors") or {}),
    )
    return _Merged(
        path=entry["path"],
        result=result,
        scores=dict(entry["scores"]),
        overall=float(entry["overall"]),
        passed=bool(entry["passed"]),
        weakest=entry["weakest"],
        threshold=float(entry["threshold"]),
        min_security=float(entry["minSecurity"]),
        from_cache=bool(entry.get("fromCache")),
        not_measured=dict(entry.get("notMeasured") or {}),
        gate=gate,
    )


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as reader:
            data = reader.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise MergeError(f"{path}: cannot read it ({exc.strerror})") from exc
    if len(data) > MAX_REPORT_BYTES:
        raise MergeError(f"{path}: larger than {MAX_REPORT_BYTES} bytes; not a report")
    try:
        report = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise MergeError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(report, dict) or report.get("schemaVersion") != SCHEMA_VERSION:
        raise MergeError(
            f"{path}: not a tapps-lsp JSON report of schema {SCHEMA_VERSION} "
            "(write it with check --format json)"
        )
    return report


def merge_reports(paths: Sequence[str]) -> tuple[list[Review], Run]:
    """The reviews and the run of several JSON reports, as one run."""
    reviews: dict[str, Review] = {}
    deleted: list[str] = []
    seconds: list[float] = []
    tools: dict[str, str] | None = None
    for path in paths:
        report = _load(path)
        analyzers = dict(report.get("tool", {}).get("analyzers", {}))
        if tools is not None and analyzers != tools:
            raise MergeError(f"{path}: written by other analyzer versions than {paths[0]}")
        tools = analyzers
        summary = report.get("summary", {})
        deleted += summary.get("deleted", [])
        if isinstance(summary.get("seconds"), int | float):
            seconds.append(float(summary["seconds"]))
        for entry in report.get("files", []):
            try:
                review = review_of(entry)
            except (KeyError, TypeError, ValueError) as exc:
                raise MergeError(f"{path}: a file entry of another shape ({exc!r})") from exc
            if review.path in reviews:
                raise MergeError(f"{path}: {review.path} is also in an earlier report")
            reviews[review.path] = review
    ordered = [reviews[p] for p in sorted(reviews)]
    # Shards run side by side: the run took as long as the slowest.
    run = Run(
        seconds=max(seconds) if seconds else None,
        deleted=tuple(sorted(set(deleted))),
        tools=tools or {},
    )
    return ordered, run


def run_merge(paths: Sequence[str], fmt: str, output: str | None) -> int:
    """`report merge`: print or write the merged report; 0, or 2 with a message."""
    import sys

    try:
        reviews, run = merge_reports(paths)
    except MergeError as exc:
        print(f"tapps-lsp report merge: {exc}", file=sys.stderr)
        return 2
    text = render(reviews, fmt, run)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        print(f"tapps-lsp report merge: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
