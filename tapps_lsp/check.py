"""`tapps-lsp check`: review files and folders from the terminal, write a report.

Folders are walked as a workspace scan walks them. Every file found or named
is judged by its own project root (the nearest folder above it with
pyproject.toml, setup.cfg, setup.py or .git): its settings, structure, devex
and coverage, whichever folder the command named. The Reviewer is the
server's, so is the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from tapps_lsp.cache.remote import open_cache
from tapps_lsp.config import Settings
from tapps_lsp.reports import Run, render
from tapps_lsp.reports.text import summary_lines
from tapps_lsp.review.discovery import discover
from tapps_lsp.review.messages import terminal_safe
from tapps_lsp.review.model import Review
from tapps_lsp.review.project import project_root
from tapps_lsp.review.versions import tool_versions
from tapps_lsp.reviewer import Reviewer
from tapps_lsp.scan_pipeline import UNREADABLE
from tapps_lsp.settings_sources import settings_of_folder
from tapps_lsp.shard import select

log = logging.getLogger("tapps_lsp")


def _by_project(
    files: list[Path], extra_exclude: list[str]
) -> list[tuple[Path, Settings, list[Path]]]:
    """(project root, its settings, its files) for the files to review, each file once.

    Every file is judged by its own project root (`project.project_root`, as
    ruff finds a file's configuration), whatever folder named it: `check .`,
    `check src/` and `check src/pkg/mod.py` give that file the same result.
    A file named twice (a folder and a file in it) is reviewed once.
    """
    grouped: dict[Path, list[Path]] = {}
    roots: dict[str, Path] = {}
    seen: set[str] = set()
    for file in files:
        real = os.path.realpath(file)
        if real in seen:
            continue
        seen.add(real)
        folder = os.path.dirname(real)
        root = roots.get(folder)
        if root is None:
            root = roots[folder] = project_root(file)
        grouped.setdefault(root, []).append(file)
    return [(root, _settings_for(root, extra_exclude), group) for root, group in grouped.items()]


# Settings problems already logged by this run.
_SHOWN: set[str] = set()


def _settings_for(root: Path, extra_exclude: list[str]) -> Settings:
    """The folder's own settings, read as the server reads them, plus `--exclude`."""
    # Its files may lower the limits (environment, defaults), never raise them.
    settings, problems = settings_of_folder(root.resolve())
    for problem in problems:
        if problem not in _SHOWN:  # a folder's settings are read once to walk it, once to review
            _SHOWN.add(problem)
            log.warning("%s", problem)
    return dataclasses.replace(settings, exclude=[*settings.exclude, *extra_exclude])


class _Progress:
    """A one-line progress bar on stderr, redrawn at most 20 times a second.

    While it is drawn, `handler` clears the bar before a log line is written and
    draws it again below, so a log line never runs on from the bar.
    """

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.last = 0.0
        self.line = ""
        self.handler = _ClearingHandler(self)

    def advance(self, path: str) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last < 0.05 and self.done < self.total:
            return
        self.last = now
        width = 30
        filled = width * self.done // max(self.total, 1)
        name = terminal_safe(path)
        name = name if len(name) <= 40 else "..." + name[-37:]
        self.line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name}"
        self.draw()

    def draw(self) -> None:
        # Under the handler's lock: worker log lines arrive on another thread.
        with self.handler.lock or contextlib.nullcontext():
            if self.line:
                self.stream.write("\r\x1b[K" + self.line)
                self.stream.flush()

    def clear(self) -> None:
        with self.handler.lock or contextlib.nullcontext():
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def __enter__(self) -> _Progress:
        # Log lines go through our handler while the bar is up (the root's stderr
        # handler would write them straight after the bar).
        root = logging.getLogger()
        self.replaced = [h for h in root.handlers if getattr(h, "stream", None) is self.stream]
        for h in self.replaced:
            root.removeHandler(h)
        if self.replaced:
            self.handler.setFormatter(self.replaced[0].formatter)
            self.handler.setLevel(self.replaced[0].level)
        root.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        for h in self.replaced:
            root.addHandler(h)
        self.clear()


class _ClearingHandler(logging.StreamHandler[TextIO]):
    """Writes a log line on the bar's line, then draws the bar again under it."""

    def __init__(self, progress: _Progress) -> None:
        super().__init__(progress.stream)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self.progress.clear()
        super().emit(record)
        self.progress.draw()


_PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")


def _looks_like_python(path: Path) -> bool:
    """A Python file by its name, or a script whose `#!` line names python."""
    if path.suffix in _PYTHON_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            first = f.read(128).split(b"\n", 1)[0]
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def _usage_error(raw: str, problem: str) -> int:
    print(f"tapps-lsp check: {terminal_safe(raw)}: {problem}", file=sys.stderr)
    return 2


def run_check(
    paths: list[str],
    *,
    fmt: str = "text",
    output: str | None = None,
    no_cache: bool = False,
    jobs: int | None = None,
    exclude: list[str] | None = None,
    force: bool = False,
    shard: tuple[int, int] | None = None,
    remote: dict[str, Any] | None = None,
) -> int:
    """Review `paths` (files and folders), write the report; returns the exit status.

    A file named on the command line that is not Python (by its suffix or its
    `#!` line) is a usage error unless `force` is set.
    """
    # Every file to review; a usage problem stops before any work.
    named = _named_files(paths, exclude or [], force)
    if isinstance(named, int):
        return named
    groups = _by_project(named, exclude or [])
    if shard is not None:  # check --shard K/N: this machine's part of every folder
        groups = [(root, s, select(files, root, shard)) for root, s, files in groups]
    reviews, run = _review(named, groups, no_cache=no_cache, jobs=jobs, remote=remote)
    status = _deliver(render(reviews, fmt, run), output)
    if status:
        return status
    if output or fmt != "text":
        # The report went elsewhere (or is machine-readable): the summary goes to stderr.
        _write(sys.stderr, "\n".join(summary_lines(reviews, run)) + "\n")
    return _status(reviews)


def _status(reviews: list[Review]) -> int:
    """2 when a file could not be read (named on stderr), 1 when one fails the gate, else 0."""
    unreadable = [r.path for r in reviews if (r.result.skipped or "").startswith(UNREADABLE)]
    if unreadable:
        names = ", ".join(terminal_safe(p) for p in unreadable)
        print(f"tapps-lsp check: cannot read {names}", file=sys.stderr)
        return 2
    return 1 if any(not r.passed for r in reviews) else 0


def _named_files(paths: list[str], exclude: list[str], force: bool) -> list[Path] | int:
    """Every file `paths` name or hold, or the status of the first usage error."""
    named: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            return _usage_error(raw, "no such file or folder")
        if path.is_file() and not force and not _looks_like_python(path):
            return _usage_error(
                raw,
                "not a Python file (expected a .py file or a folder; "
                "--force reviews it as Python anyway)",
            )
        if path.is_dir():
            settings = _settings_for(path, exclude)
            named += discover(path, settings.exclude, warn=log.warning)
        elif path.is_file():
            named.append(path)
        else:
            return _usage_error(raw, "not a file or folder")
    return named


def _review(
    named: list[Path],
    groups: list[tuple[Path, Settings, list[Path]]],
    *,
    no_cache: bool,
    jobs: int | None,
    remote: dict[str, Any] | None,
) -> tuple[list[Review], Run]:
    """Review every group's files with one Reviewer, in the order they were named."""
    total = sum(len(files) for _, _, files in groups)
    cache = open_cache(no_cache=no_cache, warn=log.warning, **(remote or {}))
    reviewer = Reviewer(
        cache,
        jobs=jobs if jobs is not None else (groups[0][1].jobs if groups else 0),
    )
    progress = _Progress(total, sys.stderr) if sys.stderr.isatty() and total else None
    deleted: list[str] = []
    started = time.perf_counter()

    async def review_all() -> list[Review]:
        reviews = []
        for root, settings, files in groups:
            reviews += await reviewer.review_files(
                files,
                settings,
                root.resolve(),
                on_result=(lambda r: progress.advance(r.path)) if progress else None,
                on_deleted=deleted.append,
            )
        # In the order the files were named and found, not grouped by project.
        order = {str(file): number for number, file in enumerate(named)}
        return sorted(reviews, key=lambda r: order.get(r.path, len(order)))

    finished = False
    try:
        with progress or contextlib.nullcontext():
            reviews = asyncio.run(review_all())
        finished = True
    finally:
        # After finished work the workers exit on their own, so their last log lines
        # (a tool's time at debug) are not cut off; when interrupted, they are stopped.
        reviewer.shutdown(graceful=finished)
        cache.close()
    run = Run(seconds=time.perf_counter() - started, deleted=tuple(deleted), tools=tool_versions())
    return reviews, run


def _deliver(report: str, output: str | None) -> int:
    """Write `report` to `output`, or to stdout; a status of 2 if it cannot be written."""
    if not output:
        _write(sys.stdout, report)
        return 0
    try:
        with open(output, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(report)
    except OSError as exc:
        return _usage_error(output, f"cannot write: {exc.strerror}")
    return 0


def _write(stream: TextIO, text: str) -> None:
    # File names that are not valid UTF-8 go back out as the bytes they were.
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(text)
    else:
        stream.flush()
        buffer.write(text.encode("utf-8", "surrogateescape"))
        buffer.flush()
