"""Command line: argument parsing, logging set-up and dispatch; the work lives elsewhere.

tapps-lsp [serve [--tcp HOST:PORT]]      the language server (stdio by default)
tapps-lsp check PATH... [options]        review files and folders from the terminal
tapps-lsp cache stats|clear|path         the result cache
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tapps_lsp import __version__
from tapps_lsp.config import Settings, env_log_level, merge

log = logging.getLogger("tapps_lsp")

_LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}
_LOG_LEVELS["debug"] = logging.DEBUG
_FORMATS = ("text", "json", "sarif", "markdown", "html")
# Files and folders that mark the root of a project a lone file belongs to.
_ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def _version() -> str:
    from tapps_lsp.cache import tool_versions

    tools = ", ".join(f"{k} {v}" for k, v in tool_versions().items() if k != "tapps-lsp")
    return f"tapps-lsp {__version__} ({tools})"


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 0 <= jobs <= 256:
        raise argparse.ArgumentTypeError("expected 0 (one per core) to 256")
    return jobs


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:2087, got {value!r}")
    return host.strip("[]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapps-lsp",
        description="A code-review language server for Python: quality scores and lint.",
        epilog="Without a command, the language server runs on stdio. Environment: "
        "TAPPS_LSP_CACHE_DIR (cache directory), TAPPS_LSP_LOG_LEVEL (error, warning, info, "
        "debug; logs go to stderr).",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument(
        "--tcp", metavar="HOST:PORT", type=_address, help="listen on a TCP socket instead"
    )

    check = commands.add_parser(
        "check",
        help="review files and folders from the terminal",
        description="Review Python files with the server's engine and cache. Exit status: "
        "0 when every file passes the quality gate, 1 when one fails it, 2 on usage errors "
        "or paths that cannot be read.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="a .py file or a folder")
    check.add_argument(
        "--format", choices=_FORMATS, default="text", help="report format (default: text)"
    )
    check.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")
    check.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the result cache"
    )
    check.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="worker processes (default: the jobs setting, 0 = one per core)",
    )
    check.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files matching this gitignore-style glob, relative to each folder "
        "(repeatable; added to the exclude setting)",
    )

    cache = commands.add_parser("cache", help="inspect or clear the result cache")
    cache_commands = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    stats = cache_commands.add_parser("stats", help="entries and bytes per tier")
    stats.add_argument("--json", action="store_true", help="print the stats as JSON")
    cache_commands.add_parser("clear", help="remove every cached result")
    cache_commands.add_parser("path", help="print the cache directory")
    return parser


def setup_logging() -> None:
    """Logs go to stderr only: stdout carries the LSP stream or the report."""
    name = env_log_level()
    level = _LOG_LEVELS.get(name)
    logging.basicConfig(
        stream=sys.stderr,
        level=level or logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if level is None:
        log.warning(
            "TAPPS_LSP_LOG_LEVEL=%r is not one of %s; using info", name, ", ".join(_LOG_LEVELS)
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    setup_logging()
    if args.command in (None, "serve"):
        return _serve(getattr(args, "tcp", None))
    if args.command == "check":
        return _check(args)
    return _cache(args)


def _serve(tcp: tuple[str, int] | None) -> int:
    try:
        from tapps_lsp.setup import create_server
    except ImportError as exc:
        print(f"tapps-lsp: the language server cannot start: {exc}", file=sys.stderr)
        return 1
    server = create_server()
    try:
        if tcp is not None:
            server.start_tcp(*tcp)
        else:
            server.start_io()
    except SystemExit as exc:  # the server exits with its protocol status
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _cache(args: argparse.Namespace) -> int:
    from tapps_lsp.cache import ResultCache
    from tapps_lsp.cache.cli import cmd_clear, cmd_path, cmd_stats

    cache = ResultCache(warn=log.warning)
    try:
        if args.cache_command == "stats":
            print(cmd_stats(cache, as_json=args.json))
        elif args.cache_command == "clear":
            print(cmd_clear(cache))
        else:
            print(cmd_path(cache))
    finally:
        cache.close()
    return 0


# ---- check ---------------------------------------------------------------------------------


def _project_root(file: Path) -> Path:
    """The nearest folder above a lone file that looks like a project root, else its folder."""
    folder = file.resolve().parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
            return candidate
    return folder


def _settings_for(root: Path, extra_exclude: list[str]) -> Settings:
    """The folder's own settings, read as the server reads them, plus `--exclude`."""
    from tapps_lsp.settings_sources import read_folder_sources

    sources, problems = asyncio.run(read_folder_sources(root.resolve()))
    settings, more = merge(*sources, origin=str(root))
    for problem in problems + more:
        log.warning("%s", problem)
    return dataclasses.replace(settings, exclude=[*settings.exclude, *extra_exclude])


class _Progress:
    """A one-line progress bar on stderr, redrawn at most 20 times a second."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.last = 0.0

    def advance(self, path: str) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last < 0.05 and self.done < self.total:
            return
        self.last = now
        width = 30
        filled = width * self.done // max(self.total, 1)
        name = path if len(path) <= 40 else "..." + path[-37:]
        self.stream.write(
            f"\r\x1b[K[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name}"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()


def _check(args: argparse.Namespace) -> int:
    from tapps_lsp.cache import ResultCache
    from tapps_lsp.reports import Run, render
    from tapps_lsp.reports.text import summary_lines
    from tapps_lsp.review.discovery import discover
    from tapps_lsp.review.engine import tool_versions
    from tapps_lsp.review.model import Review
    from tapps_lsp.reviewer import UNREADABLE, Reviewer

    # (root, settings, files) per argument; a usage problem stops before any work.
    groups: list[tuple[Path, Settings, list[Path]]] = []
    for raw in args.paths:
        path = Path(raw)
        if not path.exists():
            print(f"tapps-lsp check: {raw}: no such file or folder", file=sys.stderr)
            return 2
        if path.is_dir():
            settings = _settings_for(path, args.exclude)
            files = discover(path, settings.exclude, warn=log.warning)
            groups.append((path, settings, files))
        elif path.is_file():
            root = _project_root(path)
            groups.append((root, _settings_for(root, args.exclude), [path]))
        else:
            print(f"tapps-lsp check: {raw}: not a file or folder", file=sys.stderr)
            return 2
    total = sum(len(files) for _, _, files in groups)
    cache = (
        ResultCache.memory_only(warn=log.warning)
        if args.no_cache
        else ResultCache(warn=log.warning)
    )
    jobs = args.jobs if args.jobs is not None else groups[0][1].jobs
    reviewer = Reviewer(
        cache,
        jobs=jobs,
        log=lambda level, message: log.log(_LOG_LEVELS.get(level, logging.INFO), "%s", message),
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
        return reviews

    try:
        reviews = asyncio.run(review_all())
    finally:
        if progress:
            progress.close()
        reviewer.shutdown()
        cache.close()
    run = Run(seconds=time.perf_counter() - started, deleted=tuple(deleted), tools=tool_versions())
    report = render(reviews, args.format, run)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(report)
        except OSError as exc:
            print(f"tapps-lsp check: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        _write(sys.stdout, report)
    if args.output or args.format != "text":
        # The report went elsewhere (or is machine-readable): the summary goes to stderr.
        _write(sys.stderr, "\n".join(summary_lines(reviews, run)) + "\n")
    unreadable = [r.path for r in reviews if (r.result.skipped or "").startswith(UNREADABLE)]
    if unreadable:
        print(f"tapps-lsp check: cannot read {', '.join(unreadable)}", file=sys.stderr)
        return 2
    return 1 if any(not r.passed for r in reviews) else 0


def _write(stream: TextIO, text: str) -> None:
    # File names that are not valid UTF-8 go back out as the bytes they were.
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(text)
    else:
        stream.flush()
        buffer.write(text.encode("utf-8", "surrogateescape"))
        buffer.flush()
