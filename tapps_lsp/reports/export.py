"""Writing a report where a client asks (`tapps.exportReport`), within bounds.

By default the report goes to `<cache dir>/reports/`. A client may name a
path (absolute, relative to the scanned folder, or a `file:` URI), but only
inside a workspace folder or that reports folder, with the suffix of the
format, and not onto anything but a regular file: a client cannot make the
server write over arbitrary files. The write is atomic (temporary file +
rename), so a symlink planted after the check is replaced, never followed.

Every refusal is a `ValueError` whose text is meant for the user; the
command handler turns it into a JSON-RPC error. The functions here touch the
disk: call them in a thread.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tapps_lsp.folders import uri_to_path
from tapps_lsp.reports import EXPORT_FORMATS, REPORT_FORMATS, render
from tapps_lsp.reports.summary import Run
from tapps_lsp.review.model import Review


@dataclass(frozen=True)
class Destination:
    """Where reports may go: the workspace folders, the reports folder (None when the
    cache directory was refused, with the reason), and the scanned folder."""

    base: Path
    roots: list[Path]
    reports: Path
    refused: str | None = None


def suffixes(fmt: str) -> tuple[str, ...]:
    """The file suffixes of an export format; ValueError for a format we cannot export."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    return REPORT_FORMATS[fmt].suffixes


def resolve_report_path(
    fmt: str, requested: str | None, *, base: Path, allowed: list[Path], default: Path
) -> Path:
    """Where a report may be written (see the module docstring); ValueError says why not."""
    if requested is None:
        return default
    if requested.startswith("file:"):
        named = uri_to_path(requested)
        if named is None:
            raise ValueError(f"{requested} is not a local file URI")
    else:
        named = Path(requested)
    path = Path(os.path.realpath(base / named))
    if not any(path == root or root in path.parents for root in allowed):
        raise ValueError(
            f"{requested}: a report may only be written inside a workspace folder or {allowed[-1]}"
        )
    if not path.name.lower().endswith(suffixes(fmt)):
        raise ValueError(
            f"{requested}: a {fmt} report needs one of the suffixes " + ", ".join(suffixes(fmt))
        )
    if path.exists() and not path.is_file():
        raise ValueError(f"{requested} exists and is not a regular file")
    return path


def report_path(fmt: str, requested: str | None, where: Destination) -> Path:
    """The path of a report of the scanned folder: the one requested, else the default."""
    if where.refused and requested is None:  # other users could read or redirect it there
        raise ValueError(
            f"the cache directory was refused ({where.refused}): give the report a path "
            "in a workspace folder"
        )
    name = f"tapps-report-{where.base.name or 'workspace'}{suffixes(fmt)[0]}"
    reports = [] if where.refused else [Path(os.path.realpath(where.reports))]
    return resolve_report_path(
        fmt,
        requested,
        base=where.base,
        allowed=[*where.roots, *reports],
        default=where.reports / name,
    )


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from exc


def export(
    reviews: Sequence[Review],
    fmt: str,
    requested: str | None,
    where: Destination,
    *,
    run: Run,
    read_text: Callable[[str], str | None],
) -> Path:
    """Render the reviews in `fmt` and write them where allowed; the path written."""
    path = report_path(fmt, requested, where)
    # SARIF reads the files (`read_text`) for its UTF-16 columns.
    write_atomic(path, render(reviews, fmt, run, read_text=read_text))
    return path
