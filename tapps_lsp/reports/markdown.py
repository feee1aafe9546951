"""The Markdown report: a summary, the worst files, and each file's findings.

Text from files and tools is escaped so that no message can open a link,
an image or raw HTML in a renderer.
"""

from __future__ import annotations

from collections.abc import Sequence

from tapps_lsp.reports.summary import Run, sorted_findings, summarize, worst
from tapps_lsp.review.messages import md_escape as escape
from tapps_lsp.review.messages import md_inline as inline
from tapps_lsp.review.messages import shown_score, skip_text
from tapps_lsp.review.model import Review


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render_markdown(reviews: Sequence[Review], run: Run) -> str:
    """The report as Markdown: the summary, then each file with findings."""
    s = summarize(reviews, run)
    mean = f"{s['meanScore']:.1f}" if s["meanScore"] is not None else "n/a"
    out = [
        f"# {escape(run.title)}",
        "",
        _row("Files", "From cache", "Skipped", "Mean score", "Failing the gate", "Findings"),
        _row("---:", "---:", "---:", "---:", "---:", "---:"),
        _row(s["files"], s["fromCache"], s["skipped"], mean, s["failingGate"], s["findings"]),
        "",
    ]
    if s["seconds"] is not None:
        out += [f"Reviewed in {s['seconds']:.2f} s.", ""]
    if s["deleted"]:
        out += ["Deleted during the review: " + ", ".join(escape(p) for p in s["deleted"]), ""]
    for category, reasons in s["notMeasured"].items():
        out += [
            f"Not measured: {escape(category)} in {item['files']} of the files: "
            f"{escape(item['reason'])}."
            for item in reasons
        ] + [""]
    out += ["## Findings by severity", "", _row("Severity", "Count"), _row("---", "---:")]
    out += [_row(sev, n) for sev, n in s["findingsBySeverity"].items()]
    out += ["", "## Findings by category", "", _row("Category", "Count"), _row("---", "---:")]
    out += [_row(escape(cat), n) for cat, n in s["findingsByCategory"].items()]
    out += ["", "## Worst files", "", _row("File", "Score", "Gate", "Weakest category")]
    out.append(_row("---", "---:", "---", "---"))
    for review in worst(reviews):
        out.append(
            _row(
                escape(review.path),
                shown_score(review.overall, review.threshold),
                "pass" if review.passed else "**fail**",
                f"{escape(review.weakest)} ({review.scores.get(review.weakest, 0.0):.1f})",
            )
        )
    out += ["", "## Files", ""]
    for review in reviews:
        out += _file_section(review)
    return "\n".join(out).rstrip() + "\n"


def _file_section(review: Review) -> list[str]:
    if review.result.skipped is not None:
        head = f"### {escape(review.path)}: skipped: {escape(skip_text(review.result.skipped))}"
    else:
        gate = "passes the gate" if review.passed else "**fails the gate**"
        score = shown_score(review.overall, review.threshold)
        head = f"### {escape(review.path)}: {score}/100, {gate}"
    out = [head, ""]
    if review.scores:
        out.append(", ".join(f"{escape(k)} {v:.1f}" for k, v in review.scores.items()))
        out.append("")
    findings = sorted_findings(review)
    if findings:
        out += [
            _row("Line", "Col", "Severity", "Code", "Message"),
            _row("---:", "---:", "---", "---", "---"),
        ]
        for f in findings:
            out.append(_row(f.line + 1, f.col + 1, f.severity, escape(f.code), inline(f.message)))
        out.append("")
    return out
