"""A self-contained HTML report: one file, no fonts, images or links out.

Charts are inline SVG; every piece of text from files and tools is escaped.
One small inline script filters and sorts the file sections; a Content
Security Policy allows that script alone (by its hash), so nothing that got
into the page could run or load anything.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from html import escape
from typing import Any

from tapps_lsp import __version__
from tapps_lsp.reports.summary import (
    Run,
    counted,
    histogram,
    sorted_findings,
    summarize,
    worst,
)
from tapps_lsp.review.messages import code_spans, shown_score, skip_text
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
.tools { display: flex; gap: 1rem; align-items: center; margin: 0.5rem 0; }
.tools input { flex: 1; max-width: 28rem; padding: 0.3rem 0.5rem; }
"""

# Filters the file sections by the text typed (path, codes, messages) and sorts them;
# `report.html#q=words` opens the report filtered.
_SCRIPT = """
(function () {
  var box = document.getElementById("filter"), order = document.getElementById("sort");
  var list = document.getElementById("files"), shown = document.getElementById("shown");
  var items = Array.prototype.slice.call(list.querySelectorAll("details.file"));
  function key(d) {
    var by = order.value;
    if (by === "path") return [d.dataset.path, 0];
    if (by === "findings") return [-Number(d.dataset.findings), d.dataset.path];
    return [Number(d.dataset.score), d.dataset.path];
  }
  function cmp(a, b) {
    var x = key(a), y = key(b);
    for (var i = 0; i < 2; i++) { if (x[i] < y[i]) return -1; if (x[i] > y[i]) return 1; }
    return 0;
  }
  function update() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean), count = 0;
    items.slice().sort(cmp).forEach(function (d) {
      var text = d.textContent.toLowerCase();
      var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      d.hidden = !hit;
      if (hit) count++;
      list.appendChild(d);
    });
    shown.textContent = count + " of " + items.length + " files";
  }
  var asked = /^#q=(.*)$/.exec(location.hash);
  if (asked) box.value = decodeURIComponent(asked[1]);
  box.addEventListener("input", update);
  order.addEventListener("change", update);
  update();
})();
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; img-src 'none'; form-action 'none'"
)


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
            f'fill="{_band_colour(low, threshold)}"><title>{counted(n, "file")} scored '
            f"{label}</title></rect>"
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
            f"<title>{counted(n, escape(category) + ' finding')}</title></rect>"
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 14}">{n}</text>')
    if not items:
        parts.append(f'<text x="{label_w}" y="18">no findings</text>')
    parts.append("</svg>")
    return "".join(parts)


def _card(label: str, value: object) -> str:
    return f'<div class="card"><b>{escape(str(value))}</b>{escape(label)}</div>'


def _gate(review: Review) -> str:
    if review.result.skipped is not None:
        return '<span class="muted">skipped</span>'
    return '<span class="pass">pass</span>' if review.passed else '<span class="fail">fail</span>'


def _message(text: str) -> str:
    """A tool's message: its backtick-quoted spans as code, everything escaped."""
    return "".join(
        f"<code>{escape(part)}</code>" if is_code else escape(part)
        for is_code, part in code_spans(text)
    )


def _file_details(index: int, review: Review) -> str:
    skipped = review.result.skipped
    head = (
        f"<code>{escape(review.path)}</code> &mdash; "
        + (
            f"skipped: {escape(skip_text(skipped))}"
            if skipped is not None
            else f"{shown_score(review.overall, review.threshold)}/100 {_gate(review)}"
        )
        + f' <span class="muted">{counted(len(review.findings), "finding")}</span>'
    )
    # Skipped files sort after every scored one.
    score = 101.0 if skipped is not None else review.overall
    parts = [
        f'<details class="file" id="file-{index}" data-path="{escape(review.path)}" '
        f'data-score="{score:.4f}" data-findings="{len(review.findings)}">'
        f"<summary>{head}</summary>"
    ]
    if review.scores:
        parts.append("<table><tr>")
        parts += [f'<th class="num">{escape(k)}</th>' for k in review.scores]
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
                f"<td><code>{escape(f.code)}</code></td><td>{_message(f.message)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</details>")
    return "".join(parts)


_TOOLS = (
    '<div class="tools"><input id="filter" type="search" '
    'placeholder="Filter files: path, code or message" aria-label="Filter files">'
    '<label>Sort by <select id="sort"><option value="score">score, lowest first</option>'
    '<option value="findings">findings, most first</option>'
    '<option value="path">path</option></select></label>'
    '<span id="shown" class="muted"></span></div>'
)


def _cards(s: dict[str, Any]) -> list[str]:
    """The summary's figures as cards."""
    mean = f"{s['meanScore']:.1f}" if s["meanScore"] is not None else "n/a"
    cards = [
        _card("files", s["files"]),
        _card("mean score", mean),
        _card("failing the gate", s["failingGate"]),
        _card("results from the cache", s["fromCache"]),
        _card("findings", s["findings"]),
    ]
    if s["seconds"] is not None:
        cards.append(_card("seconds", f"{s['seconds']:.2f}"))
    return cards


def _worst_rows(reviews: Sequence[Review]) -> str:
    """Table rows of the worst files, each linking to its details."""
    index = {id(r): i for i, r in enumerate(reviews)}
    return "".join(
        f'<tr><td><a href="#file-{index[id(r)]}"><code>{escape(r.path)}</code></a></td>'
        f'<td class="num">{shown_score(r.overall, r.threshold)}</td><td>{_gate(r)}</td>'
        f"<td>{escape(r.weakest)} ({r.scores.get(r.weakest, 0.0):.1f})</td></tr>"
        for r in worst(reviews)
    )


def _deleted(paths: list[str]) -> str:
    """The files deleted during the review, or nothing."""
    if not paths:
        return ""
    return (
        "<p>Deleted during the review: "
        + ", ".join(f"<code>{escape(p)}</code>" for p in paths)
        + "</p>"
    )


def _not_measured(not_measured: dict[str, list[dict[str, Any]]]) -> str:
    """One paragraph per reason a category was not measured."""
    return "".join(
        f"<p>Not measured: {escape(category)} in {item['files']} of the files: "
        f"{escape(item['reason'])}.</p>"
        for category, reasons in not_measured.items()
        for item in reasons
    )


def render_html(reviews: Sequence[Review], run: Run) -> str:
    """The report as one self-contained HTML page (inline style and script, strict CSP)."""
    s = summarize(reviews, run)
    threshold = reviews[0].threshold if reviews else 70.0
    min_security = reviews[0].min_security if reviews else 8.5
    severity_rows = "".join(
        f'<tr><td class="sev-{escape(sev)}">{escape(sev)}</td><td class="num">{n}</td></tr>'
        for sev, n in s["findingsBySeverity"].items()
    )
    tools = ", ".join(
        f"{escape(k)} {escape(v)}" for k, v in sorted(run.tools.items()) if k != "tapps-lsp"
    )
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(run.title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{escape(run.title)}</h1>",
            f'<p class="muted">tapps-lsp {escape(__version__)}',
            f"{' &middot; ' + tools if tools else ''}</p>",
            f'<div class="cards">{"".join(_cards(s))}</div>',
            _deleted(s["deleted"]),
            _not_measured(s["notMeasured"]),
            '<div class="charts"><section><h2>Score distribution</h2>',
            _histogram_svg(reviews, threshold),
            f'<p class="muted">Quality gate: overall &ge; {threshold:g} and security &ge; '
            f"{min_security:g}</p></section>",
            "<section><h2>Findings by category</h2>",
            _category_svg(s["findingsByCategory"]),
            "<h3>By severity</h3><table>",
            severity_rows,
            "</table></section></div>",
            '<h2>Worst files</h2><table><tr><th>File</th><th class="num">Score</th>',
            "<th>Gate</th><th>Weakest category</th></tr>",
            _worst_rows(reviews),
            "</table><h2>Files</h2>",
            _TOOLS,
            '<div id="files">',
            "".join(_file_details(i, r) for i, r in enumerate(reviews)),
            f"</div><script>{_SCRIPT}</script>",
            "</body></html>\n",
        ]
    )
