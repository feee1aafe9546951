"""Reports of a set of reviews: text (the CLI), JSON, Markdown, SARIF 2.1.0, HTML.

Every format is a pure function of the reviews and a `Run` (what the run
adds: seconds, files deleted during the scan, tool versions). Only SARIF
reads files, to give columns in the UTF-16 units its consumers expect.

`REPORT_FORMATS` is the one registry of formats (name, file suffixes, renderer):
the CLI's `--format` choices, `report merge`, the export command's formats and
suffixes (reports/export.py) read it, and a test keeps the Neovim plugin's
completion list (editors/nvim/lua/tapps/commands.lua) equal to its exportable
formats. A new format is a renderer module plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tapps_lsp.reports.summary import Run, summarize
from tapps_lsp.review.model import Review

ReadText = Callable[[str], str | None]


# Each renderer is imported when a report of its format is written: the language server
# imports this package for the summary of a scan long before (or without) any report.
def _text(reviews: Sequence[Review], run: Run, _read: ReadText | None) -> str:
    from tapps_lsp.reports.text import render_text

    return render_text(reviews, run)


def _json(reviews: Sequence[Review], run: Run, _read: ReadText | None) -> str:
    from tapps_lsp.reports.json_report import render_json

    return render_json(reviews, run)


def _sarif(reviews: Sequence[Review], run: Run, read: ReadText | None) -> str:
    from tapps_lsp.reports.sarif import render_sarif

    return render_sarif(reviews, run, read_text=read)


def _markdown(reviews: Sequence[Review], run: Run, _read: ReadText | None) -> str:
    from tapps_lsp.reports.markdown import render_markdown

    return render_markdown(reviews, run)


def _html(reviews: Sequence[Review], run: Run, _read: ReadText | None) -> str:
    from tapps_lsp.reports.html_report import render_html

    return render_html(reviews, run)


@dataclass(frozen=True)
class ReportFormat:
    """One report format: its name, the file suffixes an exported report may have (none:
    not exported, e.g. the terminal's text), and its renderer."""

    name: str
    suffixes: tuple[str, ...]
    renderer: Callable[[Sequence[Review], Run, ReadText | None], str]


REPORT_FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("text", (), _text),
        ReportFormat("json", (".json",), _json),
        ReportFormat("sarif", (".sarif", ".json"), _sarif),
        ReportFormat("markdown", (".md", ".markdown"), _markdown),
        ReportFormat("html", (".html", ".htm"), _html),
    )
}
# Every format, in the order --help lists them.
FORMATS = tuple(REPORT_FORMATS)
# The formats a report can be exported to (written to a file of its suffix).
EXPORT_FORMATS = tuple(name for name, f in REPORT_FORMATS.items() if f.suffixes)


def render(
    reviews: Sequence[Review],
    fmt: str,
    run: Run | None = None,
    *,
    read_text: ReadText | None = None,
) -> str:
    """The report of `reviews` in `fmt` (one of FORMATS).

    `read_text(path)` gives a file's current text for SARIF's UTF-16 columns;
    by default the file is read from disk.
    """
    report = REPORT_FORMATS.get(fmt)
    if report is None:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return report.renderer(reviews, run or Run(), read_text)


__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "REPORT_FORMATS",
    "ReadText",
    "ReportFormat",
    "Run",
    "render",
    "summarize",
]
