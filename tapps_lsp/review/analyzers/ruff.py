"""ruff: the binary installed beside tapps-lsp, never one from the workspace.

The one place that builds ruff's command lines (check, the newer-syntax probe,
fix-all, rule) and runs them, through `run_tool`: each is logged, has a
timeout and runs in our private directory. `--isolated` makes ruff ignore every
configuration file, so only our settings apply.

As an analyzer (`Ruff`): one file goes to ruff on stdin; a batch goes as temp
files in our private directory (one ruff process for the whole chunk, which ruff
parallelises). ruff reports 1-based rows and 1-based code-point columns.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from functools import cache
from typing import Any

from tapps_lsp.config import Settings
from tapps_lsp.review.analyzers import ToolError, first_lines, private_dir, run_tool
from tapps_lsp.review.analyzers.base import Analyzer, Outcome, Source, Stage
from tapps_lsp.review.model import Edit, Finding, Fix
from tapps_lsp.review.positions import ruff_to_internal
from tapps_lsp.review.target import ruff_target

# ruff's own name for a parse error (older versions reported code null or E999).
SYNTAX_CODES = frozenset({"invalid-syntax", "E999"})

# Prefixes that are errors: syntax errors and undefined names (SCORING.md).
_ERROR_PREFIXES = ("E9", "F63", "F7", "F82")

# Findings about code that does nothing; editors render them faded.
_UNNECESSARY = frozenset({"F401", "F811", "F841", "F842"})


@cache
def binary() -> str:
    """The ruff executable of the environment tapps-lsp runs in."""
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        pass
    candidate = os.path.join(sys.prefix, "bin", "ruff")
    if os.access(candidate, os.X_OK):
        return candidate
    raise ToolError("ruff is not installed beside tapps-lsp")


def _argv(settings: Settings) -> list[str]:
    """`ruff check` with the review's rules and options, for JSON output."""
    argv = [binary(), "check", "--isolated", "--no-cache", "--output-format", "json"]
    if settings.lintSelect:
        argv += ["--select", ",".join(settings.lintSelect)]
    if settings.securityEngine == "ruff":
        # flake8-bandit in the same run; ruff_security turns them into security findings.
        argv += ["--extend-select", "S"]
    if settings.lintIgnore:
        argv += ["--ignore", ",".join(settings.lintIgnore)]
    target = ruff_target(settings.pythonVersion)
    if target:
        # Syntax the project's Python rejects becomes an invalid-syntax error.
        argv += ["--target-version", target]
    return argv + ["--line-length", str(settings.lineLength)]


def _name(filename: str) -> str:
    """The name ruff sees: the file's own (rules look at it, e.g. `__init__.py`, `.pyi`),
    but always a Python one (ruff would read `x.ipynb` as a notebook's JSON). A name that
    is not UTF-8 gets U+FFFD for its bad bytes: ruff reports names lossily, and the
    batch finds a file's findings by the name ruff reports."""
    name = os.path.basename(filename).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = name or "file"
    return name if name.endswith((".py", ".pyi")) else name + ".py"


def check_text(text: str, filename: str, settings: Settings) -> list[Finding]:
    """Lint one file's text (given on stdin)."""
    name = _name(filename)
    argv = _argv(settings) + ["--stdin-filename", name, "-"]
    done = run_tool(
        "ruff", argv, stdin=text.encode("utf-8", "surrogatepass"), timeout=settings.toolTimeout
    )
    rows = _parse(done.returncode, done.stdout, done.stderr)
    return [_finding(row) for row in rows]


def check_batch(items: list[tuple[str, str]], settings: Settings) -> list[list[Finding]]:
    """Lint several files with one ruff process; results in the order of `items`.

    Raises ToolError when ruff fails for the chunk as a whole.
    """
    with tempfile.TemporaryDirectory(dir=private_dir()) as tmp:
        paths = []
        for i, (filename, text) in enumerate(items):
            # One folder per file keeps each file's own name without collisions.
            folder = os.path.join(tmp, str(i))
            os.mkdir(folder)
            path = os.path.join(folder, _name(filename))
            with open(path, "wb") as f:
                f.write(text.encode("utf-8", "surrogatepass"))
            paths.append(path)
        done = run_tool("ruff", _argv(settings) + paths, stdin=None, timeout=settings.toolTimeout)
        rows = _parse(done.returncode, done.stdout, done.stderr)
        index = {os.path.realpath(p): i for i, p in enumerate(paths)}
        out: list[list[Finding]] = [[] for _ in items]
        for row in rows:
            at = index.get(os.path.realpath(row.get("filename") or ""))
            if at is not None:
                out[at].append(_finding(row))
        return out


def probe_syntax(text: str, filename: str, target: str, timeout: float) -> bytes:
    """ruff's JSON rows for `text` told Python `target` ("py311"), syntax errors only."""
    argv = [binary(), "check", "--isolated", "--no-cache", "--output-format", "json"]
    argv += ["--select", "E902", "--target-version", target, "--stdin-filename", filename, "-"]
    return run_tool(
        "ruff", argv, stdin=text.encode("utf-8", "surrogatepass"), timeout=timeout
    ).stdout


def fix_argv(settings: Settings, filename: str) -> list[str]:
    """ruff's fix-all on stdin with the rules and options the review used."""
    argv = [binary(), "check", "--fix-only", "--isolated", "--no-cache", "--quiet"]
    if settings.lintSelect:
        argv += ["--select", ",".join(settings.lintSelect)]
    if settings.lintIgnore:
        argv += ["--ignore", ",".join(settings.lintIgnore)]
    return argv + ["--line-length", str(settings.lineLength), "--stdin-filename", filename, "-"]


def fix_all(text: str, settings: Settings, filename: str) -> str | None:
    """The text with every safe fix applied (ruff iterates to a fixed point); None when
    ruff failed. Raises ToolError when ruff cannot run or times out."""
    done = run_tool(
        "ruff",
        fix_argv(settings, filename),
        stdin=text.encode("utf-8", "surrogatepass"),
        timeout=settings.toolTimeout,
    )
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "surrogatepass")


def rule_explanation(code: str, timeout: float = 10.0) -> str:
    """`ruff rule CODE`'s explanation ("" when ruff knows no such rule).

    Raises ToolError when ruff cannot run or times out."""
    argv = [binary(), "rule", code, "--output-format", "json"]
    done = run_tool("ruff", argv, stdin=None, timeout=timeout)
    if done.returncode != 0:
        return ""
    try:
        rule = json.loads(done.stdout)
    except ValueError:
        return ""
    return str(rule.get("explanation", "")) if isinstance(rule, dict) else ""


def _parse(returncode: int, stdout: bytes, stderr: bytes) -> list[dict[str, Any]]:
    # 0: no violations, 1: violations; anything else is ruff failing.
    if returncode not in (0, 1):
        raise ToolError(f"ruff exited with {returncode}: {first_lines(stderr) or 'no message'}")
    try:
        rows = json.loads(stdout or b"[]")
    except ValueError:
        raise ToolError("ruff printed output that is not JSON") from None
    if not isinstance(rows, list):
        raise ToolError("ruff printed unexpected JSON")
    return rows


def severity_for(code: str) -> str:
    """Default severity of a ruff code (SCORING.md), before user overrides."""
    if code in SYNTAX_CODES or code.startswith(_ERROR_PREFIXES):
        return "error"
    if code.startswith(("F", "E")):
        return "warning"
    return "information"


def _finding(row: dict[str, Any]) -> Finding:
    """One of ruff's JSON rows as a linting finding."""
    code = row.get("code") or "invalid-syntax"
    loc, end = row.get("location") or {}, row.get("end_location") or {}
    line, col = ruff_to_internal(loc.get("row", 1), loc.get("column", 1))
    end_line, end_col = ruff_to_internal(
        end.get("row", loc.get("row", 1)), end.get("column", loc.get("column", 1))
    )
    message = row.get("message") or code
    return Finding(
        source="ruff",
        code=code,
        message=message,
        severity=severity_for(code),
        category="linting",
        line=line,
        col=col,
        end_line=end_line,
        end_col=end_col,
        url=row.get("url"),
        tags=("unnecessary",) if code in _UNNECESSARY else (),
        fix=_fix(row.get("fix"), message),
        data={"name": row["name"]} if row.get("name") else {},
    )


def _fix(fix: dict[str, Any] | None, message: str) -> Fix | None:
    """A row's fix; "display-only" fixes are not meant to be applied."""
    # "display-only" fixes are not meant to be applied.
    if not fix or fix.get("applicability") not in ("safe", "unsafe"):
        return None
    edits = []
    for e in fix.get("edits") or []:
        line, col = ruff_to_internal(e["location"]["row"], e["location"]["column"])
        end_line, end_col = ruff_to_internal(e["end_location"]["row"], e["end_location"]["column"])
        edits.append(Edit(line, col, end_line, end_col, e.get("content") or ""))
    return Fix(
        message=fix.get("message") or message,
        edits=tuple(edits),
        safe=fix.get("applicability") == "safe",
    )


def lint_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Violations per family for the linting score: E (syntax errors included), F, W."""
    counts = {"E": 0, "F": 0, "W": 0}
    for f in findings:
        family = "E" if f.code in SYNTAX_CODES else f.code[:1]
        if family in counts:
            counts[family] += 1
    return counts


def is_security(code: str) -> bool:
    """Whether `code` is one of ruff's flake8-bandit rules (S101, ...; not SIM, SLF)."""
    return code.startswith("S") and code[1:].isdigit()


def lint_only(findings: Iterable[Finding]) -> list[Finding]:
    """Ruff's findings without its `S` ones (security is measured apart, or not at all)."""
    return [f for f in findings if not is_security(f.code)]


class Ruff(Analyzer):
    """Lint: ruff's findings, and `Source.lint` for the analyzers built on ruff's rules."""

    name = "ruff"
    stage = Stage.TOOL

    def wanted(self, source: Source) -> bool:
        """Always: lint is every file's."""
        return True

    def warm_up(self) -> None:
        """Find the binary once per process."""
        try:
            binary()
        except ToolError:
            pass  # reported per file

    def analyze(self, source: Source) -> Outcome:
        """One file, on stdin."""
        source.lint = check_text(source.text, source.filename, source.settings)
        return _outcome(source)

    def analyze_batch(self, sources: list[Source]) -> list[Outcome | None]:
        """One ruff process per Python the files target (one, unless pythonVersionPerFile).

        Measured on the first 40 standard-library modules (1 MiB): one ruff over temp
        files takes 0.06 s, one ruff per file on stdin 0.20 s (2 cores).
        """
        out: list[Outcome | None] = [None] * len(sources)
        groups: dict[str, list[int]] = {}
        for i, source in enumerate(sources):
            groups.setdefault(source.settings.pythonVersion, []).append(i)
        for group in groups.values():
            started = time.perf_counter()
            try:
                found = check_batch(
                    [(sources[i].filename, sources[i].text) for i in group],
                    sources[group[0]].settings,
                )
            except ToolError:
                continue  # each file finds out on its own, so one bad file does not fail all
            seconds = (time.perf_counter() - started) / len(group)
            for i, lint in zip(group, found, strict=True):
                sources[i].lint = lint
                out[i] = _outcome(sources[i], seconds)
        return out


def _outcome(source: Source, seconds: float | None = None) -> Outcome:
    """The lint findings shown: the `S` ones are security's with the ruff engine."""
    lint = source.lint or []
    if source.settings.securityEngine == "ruff":
        lint = lint_only(lint)
    return Outcome(lint, {"lint_counts": lint_counts(lint)}, seconds=seconds)


ANALYZER = Ruff()
