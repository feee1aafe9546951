"""Why a file's text is not reviewed, and the result it gets instead.

Apart from the engine so that the server can say it (and skip sending such text to
a worker) without importing the analyzers.
"""

from __future__ import annotations

from tapps_lsp.config import Settings
from tapps_lsp.review.model import FileResult, Finding


def skip_reason(text: str, settings: Settings) -> str | None:
    """Why this text is not reviewed (too large, binary, not UTF-8), or None."""
    if len(text) * 4 > settings.maxFileSize:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > settings.maxFileSize:
            return (
                f"File skipped: {size:,} bytes is over the size limit of "
                f"{settings.maxFileSize:,} bytes (setting maxFileSize)"
            )
    if "\x00" in text:
        return "File skipped: binary content (NUL bytes)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        column = exc.start - text.rfind("\n", 0, exc.start)
        return f"File skipped: not valid UTF-8 (line {line}, column {column})"
    return None


def skipped_result(reason: str) -> FileResult:
    """The result for a file that is not reviewed: one Information finding on line 0."""
    return FileResult(findings=[Finding.notice("TAPPS-SKIP", reason)], skipped=reason)
