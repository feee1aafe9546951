"""A self-contained HTML report: one file, no scripts, fonts, images or links out.

Charts are inline SVG; every piece of text from files and tools is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from tapps_lsp import __version__
from tapps_lsp.reports.summary import Run, histogram, sorted_findings, summarize, worst
from tapps_lsp.review.model import Review

_STYLE = """
:root { --fail: #c0392b; --warn: #d68910; --pass: #1e8449; --muted: #666; --line: #ddd; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
  max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; margin: 1.5rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 1rem; min-width: 8rem; }
.card b { display: block; font-size: 1.6rem; }
.charts { display: flex; flex-wrap: wrap; gap: 2rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: 0.25rem 0.5rem; text-align: left;
  vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.fail { color: var(--fail); font-weight: 600; }
.pass { color: var(--pass); }
.sev-error { color: var(--fail); } .sev-warning { color: var(--warn); }
details { border: 1px solid var(--line); border-radius: 6px; margin: 0.4rem 0;
  padding: 0.3rem 0.8rem; }
summary { cursor: pointer; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
svg text { font-size: 11px; fill: #333; }
"""


def _band_colour(low: float, threshold: float) -> str:
    if low >= threshold:
        return "#1e8449"
    return "#d68910" if low >= threshold - 20 else "#c0392b"


def _histogram_svg(reviews: Sequence[Review], threshold: float) -> str:
    counts = histogram(reviews)
    width, height, pad = 520, 200, 28
    bar = (width - 2 * pad) / len(counts)
    top = max(counts) or 1
    parts = [
        f'<svg role="img" aria-label="Score distribution" width="{width}" '
        f'height="{height + 2 * pad}" viewBox="0 0 {width} {height + 2 * pad}">'
    ]
    for i, n in enumerate(counts):
        low = i * 100 / len(counts)
        h = height * n / top
        x = pad + i * bar
        y = pad + height - h
        label = f"{low:g}-{low + 100 / len(counts):g}"
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" height="{h:.1f}" '
            f'fill="{_band_colour(low, threshold)}"><title>{n} files scored {label}</title></rect>'
        )
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{n}</text>')
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{pad + height + 14}" '
            f'text-anchor="middle">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _category_svg(by_category: dict[str, int]) -> str:
    items = sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))
    row, label_w, bar_w = 22, 130, 300
    height = max(row * len(items), row)
    top = max((n for _, n in items), default=0) or 1
    parts = [
        f'<svg role="img" aria-label="Findings by category" width="{label_w + bar_w + 50}" '
        f'height="{height + 10}" viewBox="0 0 {label_w + bar_w + 50} {height + 10}">'
    ]
    for i, (category, n) in enumerate(items):
        y = 5 + i * row
        w = bar_w * n / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(category)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="#2e86c1">'
            f"<title>{n} {escape(category)} findings</title></rect>"
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 14}">{n}</text>')
    if not items:
        parts.append(f'<text x="{label_w}" y="18">no findings</text>')
    parts.append("</svg>")
    return "".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _card(label: str, value: object) -> str:
    return f'<div class="card"><b>{escape(str(value))}</b>{escape(label)}</div>'


def _gate(review: Review) -> str:
    if review.result.skipped is not None:
        return '<span class="muted">skipped</span>'
    return '<span class="pass">pass</span>' if review.passed else '<span class="fail">fail</span>'


def _file_details(index: int, review: Review) -> str:
    head = (
        f"<code>{escape(review.path)}</code> &mdash; "
        + (
            f"skipped ({escape(review.result.skipped)})"
            if review.result.skipped is not None
            else f"{review.overall:.1f}/100 {_gate(review)}"
        )
        + f' <span class="muted">{_count(len(review.findings), "finding")}'
        + (", from cache" if review.from_cache else "")
        + "</span>"
    )
    parts = [f'<details id="file-{index}"><summary>{head}</summary>']
    if review.scores:
        parts.append("<table><tr>")
        parts += [f"<th>{escape(k)}</th>" for k in review.scores]
        parts.append("</tr><tr>")
        parts += [f'<td class="num">{v:.1f}</td>' for v in review.scores.values()]
        parts.append("</tr></table>")
    for tool, message in sorted(review.result.analyzer_errors.items()):
        parts.append(f'<p class="fail">{escape(tool)}: {escape(message)}</p>')
    findings = sorted_findings(review)
    if findings:
        parts.append(
            '<table><tr><th class="num">Line</th><th class="num">Col</th><th>Severity</th>'
            "<th>Code</th><th>Message</th></tr>"
        )
        for f in findings:
            parts.append(
                f'<tr><td class="num">{f.line + 1}</td><td class="num">{f.col + 1}</td>'
                f'<td class="sev-{escape(f.severity)}">{escape(f.severity)}</td>'
                f"<td><code>{escape(f.code)}</code></td><td>{escape(f.message)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</details>")
    return "".join(parts)


def render_html(reviews: Sequence[Review], run: Run) -> str:
    s = summarize(reviews, run)
    threshold = reviews[0].threshold if reviews else 70.0
    mean = f"{s['meanScore']:.1f}" if s["meanScore"] is not None else "n/a"
    index = {id(r): i for i, r in enumerate(reviews)}
    cards = [
        _card("files", s["files"]),
        _card("mean score", mean),
        _card("failing the gate", s["failingGate"]),
        _card("from cache", s["fromCache"]),
        _card("findings", s["findings"]),
    ]
    if s["seconds"] is not None:
        cards.append(_card("seconds", f"{s['seconds']:.2f}"))
    severity_rows = "".join(
        f'<tr><td class="sev-{escape(sev)}">{escape(sev)}</td><td class="num">{n}</td></tr>'
        for sev, n in s["findingsBySeverity"].items()
    )
    worst_rows = "".join(
        f'<tr><td><a href="#file-{index[id(r)]}"><code>{escape(r.path)}</code></a></td>'
        f'<td class="num">{r.overall:.1f}</td><td>{_gate(r)}</td>'
        f"<td>{escape(r.weakest)} ({r.scores.get(r.weakest, 0.0):.1f})</td></tr>"
        for r in worst(reviews)
    )
    deleted = (
        "<p>Deleted during the review: "
        + ", ".join(f"<code>{escape(p)}</code>" for p in s["deleted"])
        + "</p>"
        if s["deleted"]
        else ""
    )
    tools = ", ".join(
        f"{escape(k)} {escape(v)}" for k, v in sorted(run.tools.items()) if k != "tapps-lsp"
    )
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(run.title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{escape(run.title)}</h1>",
            f'<p class="muted">tapps-lsp {escape(__version__)}',
            f"{' &middot; ' + tools if tools else ''}</p>",
            f'<div class="cards">{"".join(cards)}</div>',
            deleted,
            '<div class="charts"><section><h2>Score distribution</h2>',
            _histogram_svg(reviews, threshold),
            f'<p class="muted">Quality gate: overall &ge; {threshold:g}</p></section>',
            "<section><h2>Findings by category</h2>",
            _category_svg(s["findingsByCategory"]),
            "<h3>By severity</h3><table>",
            severity_rows,
            "</table></section></div>",
            "<h2>Worst files</h2><table><tr><th>File</th><th class='num'>Score</th>",
            "<th>Gate</th><th>Weakest category</th></tr>",
            worst_rows,
            "</table><h2>Files</h2>",
            "".join(_file_details(i, r) for i, r in enumerate(reviews)),
            "</body></html>\n",
        ]
    )
