"""Reports of a set of reviews: text (the CLI), JSON, Markdown, SARIF 2.1.0, HTML.

Every format is a pure function of the reviews and a `Run` (what the run
adds: seconds, files deleted during the scan, tool versions). Only SARIF
reads files, to give columns in the UTF-16 units its consumers expect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapps_lsp.reports.html_report import render_html
from tapps_lsp.reports.json_report import render_json
from tapps_lsp.reports.markdown import render_markdown
from tapps_lsp.reports.sarif import render_sarif
from tapps_lsp.reports.summary import Run, summarize
from tapps_lsp.reports.text import render_text
from tapps_lsp.review.model import Review

FORMATS = ("text", "json", "markdown", "sarif", "html")


def render(
    reviews: Sequence[Review],
    fmt: str,
    run: Run | None = None,
    *,
    read_text: Callable[[str], str | None] | None = None,
) -> str:
    """The report of `reviews` in `fmt` (one of FORMATS).

    `read_text(path)` gives a file's current text for SARIF's UTF-16 columns;
    by default the file is read from disk.
    """
    run = run or Run()
    if fmt == "sarif":
        return render_sarif(reviews, run, read_text=read_text)
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderer(reviews, run)


_RENDERERS: dict[str, Callable[[Sequence[Review], Run], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
}

__all__ = ["FORMATS", "Run", "render", "summarize"]
