"""Command line: argument parsing, logging set-up and dispatch; the work lives elsewhere.

tapps-lsp [serve] [--tcp [HOST:]PORT]    the language server (stdio by default)
tapps-lsp check PATH... [options]        review files and folders from the terminal
tapps-lsp cache stats|clear|path         the result cache
tapps-lsp report merge REPORT.json...    join the reports of `check --shard` runs
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from tapps_lsp import __version__
from tapps_lsp.config import LOG_LEVELS, env_log_level

log = logging.getLogger("tapps_lsp")


class _Formats:
    """The report formats as argparse `choices`, read from `tapps_lsp.reports` only when a
    value is checked or the help lists them: importing every renderer would cost each
    server start about 10 ms for options of `check` and `report merge`. (An option with
    these choices needs a `metavar`: argparse lists the choices to build a default one.)"""

    def __iter__(self) -> Iterator[str]:
        from tapps_lsp.reports import FORMATS

        return iter(FORMATS)

    def __contains__(self, value: object) -> bool:
        return value in tuple(self)


FORMATS = _Formats()


class _VersionAction(argparse.Action):
    """`--version`, with the analyzers' versions looked up only when asked for.

    Reading their package metadata costs 130-180 ms: too much for every server start.
    """

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from tapps_lsp.review.versions import tool_versions

        tools = ", ".join(f"{k} {v}" for k, v in tool_versions().items() if k != "tapps-lsp")
        print(f"tapps-lsp {__version__} ({tools})")
        parser.exit()


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    from tapps_lsp.config import JOBS_CEILING  # two per core, at most 32

    if not 0 <= jobs <= JOBS_CEILING:
        raise argparse.ArgumentTypeError(f"expected 0 (one per core) to {JOBS_CEILING}")
    return jobs


# Where `--tcp PORT` listens: this machine only.
LOOPBACK = "127.0.0.1"
_TCP_HELP = (
    "listen on a TCP socket instead of stdio, for one client: PORT (on 127.0.0.1) or "
    "HOST:PORT; 0 picks a free port. Any local user can connect to it (see docs/cli.md)"
)


def _address(value: str) -> tuple[str, int]:
    """`PORT` (on the loopback address) or `HOST:PORT`, `[::1]:PORT` for IPv6."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host = LOOPBACK
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected PORT or HOST:PORT, e.g. 2087 or 127.0.0.1:2087, got {value!r}"
        )
    return host.strip("[]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    """The `tapps-lsp` argument parser: serve, check, report merge, cache."""
    parser = argparse.ArgumentParser(
        prog="tapps-lsp",
        description="A code-review language server for Python: quality scores and lint.",
        epilog="Without a command, the language server runs on stdio. Environment: "
        "TAPPS_LSP_CACHE_DIR (cache directory), TAPPS_LSP_LOG_LEVEL (error, warning, info, "
        "debug; logs go to stderr), TAPPS_LSP_REMOTE_CACHE and TAPPS_LSP_CACHE_KEY (the team "
        "cache on Redis, docs/team-cache.md), REDISCLI_AUTH (its password).",
    )
    parser.add_argument("--version", action=_VersionAction)
    # The same as `serve --tcp`, for `tapps-lsp --tcp PORT`.
    parser.add_argument(
        "--tcp", metavar="[HOST:]PORT", type=_address, dest="top_tcp", help=_TCP_HELP
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="[HOST:]PORT", type=_address, help=_TCP_HELP)

    check = commands.add_parser(
        "check",
        help="review files and folders from the terminal",
        description="Review Python files with the server's engine and cache. Exit status: "
        "0 when every file passes the quality gate, 1 when one fails it, 2 on usage errors "
        "or paths that cannot be read.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="a .py file or a folder")
    check.add_argument(
        "--force",
        action="store_true",
        help="review a named file as Python even when its name does not end in .py",
    )
    check.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        metavar="FORMAT",
        help="report format: %(choices)s (default: text)",
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
    _team_options(check)

    cache = commands.add_parser("cache", help="inspect or clear the result cache")
    cache_commands = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    stats = cache_commands.add_parser("stats", help="entries and bytes per tier")
    stats.add_argument("--json", action="store_true", help="print the stats as JSON")
    cache_commands.add_parser("clear", help="remove every cached result")
    cache_commands.add_parser("path", help="print the cache directory")
    _report_parser(commands)
    return parser


def _shard(value: str) -> tuple[int, int]:
    from tapps_lsp.shard import parse

    try:
        return parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _team_options(check: argparse.ArgumentParser) -> None:
    """`check`'s options for CI: sharding and the team cache (docs/ci.md, docs/team-cache.md)."""
    check.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="review only part K of N of the files (split by a hash of each path relative "
        "to its folder); join the JSON reports with `report merge`",
    )
    check.add_argument(
        "--remote-cache",
        metavar="URL",
        help="the team cache: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://..., with "
        "?cluster=1 for a Redis Cluster (default: TAPPS_LSP_REMOTE_CACHE); entries are "
        "signed with TAPPS_LSP_CACHE_KEY, the password may come from REDISCLI_AUTH",
    )
    check.add_argument(
        "--remote-cache-write",
        action="store_true",
        default=None,
        help="also write results to the team cache (CI, trusted machines; default: read only)",
    )
    check.add_argument(
        "--remote-cache-ttl",
        type=float,
        metavar="DAYS",
        help="days a written entry lives (default: TAPPS_LSP_REMOTE_CACHE_TTL_DAYS or 30)",
    )


def _report_parser(commands: Any) -> None:
    report = commands.add_parser("report", help="work with JSON reports")
    actions = report.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    merge = actions.add_parser(
        "merge",
        help="join the JSON reports of `check --shard` runs into one report",
        description="Join JSON reports (check --format json) of the shards of one tree into "
        "one report with the files, findings and totals of an unsharded run.",
    )
    merge.add_argument("reports", nargs="+", metavar="REPORT.json")
    merge.add_argument(
        "--format",
        choices=FORMATS,
        default="json",
        metavar="FORMAT",
        help="report format: %(choices)s (default: json)",
    )
    merge.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")


class _TerminalFormatter(logging.Formatter):
    """Log lines with control characters escaped, line by line (file names in them come
    from the workspace: an ESC or OSC sequence must not reach a terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        from tapps_lsp.review.messages import terminal_safe

        return "\n".join(terminal_safe(line) for line in super().format(record).split("\n"))


def setup_logging() -> None:
    """Logs go to stderr only: stdout carries the LSP stream or the report."""
    name = env_log_level()
    level = LOG_LEVELS.get(name)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level or logging.INFO, handlers=[handler])
    if level is None:
        log.warning(
            "TAPPS_LSP_LOG_LEVEL=%r is not one of %s; using info", name, ", ".join(LOG_LEVELS)
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `tapps-lsp` command line; returns the exit status."""
    if not (sys.argv[1:] if argv is None else argv):
        # How the editors start the server: nothing to parse, so no parser to build
        # (about 10 ms of every start, issue 17).
        setup_logging()
        return _serve(None)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    setup_logging()
    if args.command in (None, "serve"):
        return _serve(getattr(args, "tcp", None) or args.top_tcp)
    if args.top_tcp is not None:
        print(f"tapps-lsp: --tcp is for the server, not for {args.command}", file=sys.stderr)
        return 2
    if args.command == "check":
        from tapps_lsp.check import run_check

        try:
            return run_check(
                args.paths,
                fmt=args.format,
                output=args.output,
                no_cache=args.no_cache,
                jobs=args.jobs,
                exclude=args.exclude,
                force=args.force,
                shard=args.shard,
                remote={
                    "url": args.remote_cache,
                    "write": args.remote_cache_write,
                    "ttl_days": args.remote_cache_ttl,
                },
            )
        except KeyboardInterrupt:  # the workers are already stopped
            return 130
    if args.command == "report":
        from tapps_lsp.reports.merge import run_merge

        return run_merge(args.reports, args.format, args.output)
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
    from tapps_lsp.cache.cli import cmd_clear, cmd_path, cmd_stats
    from tapps_lsp.cache.remote import open_cache

    cache = open_cache(warn=log.warning)
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
