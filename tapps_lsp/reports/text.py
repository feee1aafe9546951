"""The terminal report: `path:line:col: CODE message`, a score line per file, a summary.

Every file name and message goes through `terminal_safe`: an ESC or OSC sequence
in a name from the workspace is shown as `\\x1b`, never acted on by the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from tapps_lsp.reports.summary import Run, counted, sorted_findings, summarize
from tapps_lsp.review.messages import shown_score, skip_text, terminal_safe
from tapps_lsp.review.model import Review


def file_lines(review: Review) -> list[str]:
    """One file's findings (1-based line and column, as compilers print them) and its score."""
    path = terminal_safe(review.path)
    lines = [
        f"{path}:{f.line + 1}:{f.col + 1}: {terminal_safe(f.code)} {_one_line(f.message)}"
        for f in sorted_findings(review)
    ]
    lines.append(score_line(review))
    return lines


def score_line(review: Review) -> str:
    """`path: score 67.6/100, FAILS the gate (weakest: devex 3.0/10); from the cache`."""
    path = terminal_safe(review.path)
    if review.result.skipped is not None:
        return f"{path}: skipped: {_one_line(skip_text(review.result.skipped))}"
    gate = "passes the gate" if review.passed else "FAILS the gate"
    weakest = review.scores.get(review.weakest, 0.0)
    cached = "; from the cache" if review.from_cache else ""
    return (
        f"{path}: score {shown_score(review.overall, review.threshold)}/100, {gate} "
        f"(weakest: {review.weakest} {weakest:.1f}/10){cached}"
    )


def summary_lines(reviews: Sequence[Review], run: Run) -> list[str]:
    """The closing summary of a terminal report, a line each."""
    s = summarize(reviews, run)
    mean = f"{s['meanScore']:.1f}/100" if s["meanScore"] is not None else "n/a"
    by_severity = ", ".join(f"{n} {sev}" for sev, n in s["findingsBySeverity"].items())
    lines = [
        f"{counted(s['files'], 'file')} ({s['fromCache']} from cache, {s['skipped']} skipped), "
        f"mean score {mean}, {s['failingGate']} failing the gate",
        f"{counted(s['findings'], 'finding')}: {by_severity}",
    ]
    for category, reasons in s["notMeasured"].items():
        for item in reasons:
            lines.append(
                f"{category} not measured in {counted(item['files'], 'file')}: "
                f"{_one_line(item['reason'])}"
            )
    if s["deleted"]:
        deleted = ", ".join(terminal_safe(p) for p in s["deleted"])
        lines.append(f"{len(s['deleted'])} deleted during the review: {deleted}")
    if s["seconds"] is not None:
        lines.append(f"{s['seconds']:.2f} s")
    return lines


def render_text(reviews: Sequence[Review], run: Run) -> str:
    """The terminal report: each finding as path:line:col, then the summary."""
    out: list[str] = []
    for review in reviews:
        out.extend(file_lines(review))
    if reviews:
        out.append("")
    out.extend(summary_lines(reviews, run))
    return "\n".join(out) + "\n"


def _one_line(message: str) -> str:
    return terminal_safe(" ".join(message.split()))
