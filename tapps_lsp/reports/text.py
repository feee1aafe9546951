"""The terminal report: `path:line:col: CODE message`, a score line per file, a summary."""

from __future__ import annotations

from collections.abc import Sequence

from tapps_lsp.reports.summary import Run, counted, sorted_findings, summarize
from tapps_lsp.review.model import Review


def file_lines(review: Review) -> list[str]:
    """One file's findings (1-based line and column, as compilers print them) and its score."""
    lines = [
        f"{review.path}:{f.line + 1}:{f.col + 1}: {f.code} {_one_line(f.message)}"
        for f in sorted_findings(review)
    ]
    lines.append(score_line(review))
    return lines


def score_line(review: Review) -> str:
    if review.result.skipped is not None:
        return f"{review.path}: skipped ({review.result.skipped})"
    gate = "passes the gate" if review.passed else "FAILS the gate"
    weakest = review.scores.get(review.weakest, 0.0)
    cached = ", from cache" if review.from_cache else ""
    return (
        f"{review.path}: score {review.overall:.1f}/100, {gate} "
        f"(weakest: {review.weakest} {weakest:.1f}/10{cached})"
    )


def summary_lines(reviews: Sequence[Review], run: Run) -> list[str]:
    s = summarize(reviews, run)
    mean = f"{s['meanScore']:.1f}/100" if s["meanScore"] is not None else "n/a"
    by_severity = ", ".join(f"{n} {sev}" for sev, n in s["findingsBySeverity"].items())
    lines = [
        f"{counted(s['files'], 'file')} ({s['fromCache']} from cache, {s['skipped']} skipped), "
        f"mean score {mean}, {s['failingGate']} failing the gate",
        f"{counted(s['findings'], 'finding')}: {by_severity}",
    ]
    if s["deleted"]:
        lines.append(f"{len(s['deleted'])} deleted during the review: {', '.join(s['deleted'])}")
    if s["seconds"] is not None:
        lines.append(f"{s['seconds']:.2f} s")
    return lines


def render_text(reviews: Sequence[Review], run: Run) -> str:
    out: list[str] = []
    for review in reviews:
        out.extend(file_lines(review))
    if reviews:
        out.append("")
    out.extend(summary_lines(reviews, run))
    return "\n".join(out) + "\n"


def _one_line(message: str) -> str:
    return " ".join(message.split())
