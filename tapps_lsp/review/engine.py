"""Review one file's text (or a chunk of files): findings and raw metrics.

Never raises for bad input or a broken tool: a file that cannot be reviewed is
`skipped` with one Information finding, and an analyzer that cannot run leaves
one message in `FileResult.analyzer_errors[tool]` while the others still run.

Text read from disk should be decoded with ``errors="surrogateescape"``: text
that is not valid UTF-8 then still reaches `analyze`, which skips it with a
clear message instead of the caller having to.
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tapps_lsp.config import Settings
from tapps_lsp.review import fastmetrics, target
from tapps_lsp.review.analyzers import (
    LOG,
    OverBudget,
    ToolError,
    bandit_security,
    cpu_budget,
    mypy_check,
    performance,
    radon_metrics,
    ruff,
    ruff_security,
    run_tool,
)
from tapps_lsp.review.model import Block, FileResult, Finding
from tapps_lsp.review.positions import split_lines, utf8_byte_to_codepoint

T = TypeVar("T")

# Findings kept per file. Generated code can have a hundred thousand (one F821
# per name of a long expression): tens of megabytes in the cache and in every
# message to the editor. The scores count them all; the most severe are kept.
MAX_FINDINGS = 1000
_SEVERITY_RANK = {"error": 0, "warning": 1, "information": 2, "hint": 3}


def analyze(text: str, settings: Settings, *, filename: str = "file.py") -> FileResult:
    """Findings and metrics for one file's text."""
    reason = skip_reason(text, settings)
    if reason:
        return skipped_result(reason)
    with _no_cycle_collection():
        return _analyze(text, for_file(settings, filename), filename, None)


def for_file(settings: Settings, filename: str) -> Settings:
    """The settings of one file: its own Python when pythonVersionPerFile names it."""
    if not settings.pythonVersionPerFile:
        return settings
    version = target.version_for(filename, settings.pythonVersion, settings.pythonVersionPerFile)
    return dataclasses.replace(settings, pythonVersion=version, pythonVersionPerFile={})


def analyze_batch(items: list[tuple[str, str]], settings: Settings) -> list[FileResult]:
    """Like `analyze` for each (filename, text), with one ruff process for the chunk.

    Measured on the first 40 standard-library modules (1 MiB): one ruff over temp
    files takes 0.06 s, one ruff per file on stdin 0.20 s (2 cores).
    """
    results: list[FileResult | None] = [None] * len(items)
    todo: list[int] = []
    for i, (_, text) in enumerate(items):
        reason = skip_reason(text, settings)
        if reason:
            results[i] = skipped_result(reason)
        else:
            todo.append(i)
    lint: list[list[Finding] | None] = [None] * len(items)
    share: list[float | None] = [None] * len(items)
    # One ruff run per Python the files target (one, unless pythonVersionPerFile).
    groups: dict[str, tuple[Settings, list[int]]] = {}
    for i in todo:
        own = for_file(settings, items[i][0])
        groups.setdefault(own.pythonVersion, (own, []))[1].append(i)
    for own, group in groups.values():
        started = time.perf_counter()
        try:
            batch = ruff.check_batch([items[i] for i in group], own)
        except ToolError:
            # Let each file find out on its own, so one bad file does not fail all.
            continue
        seconds = (time.perf_counter() - started) / len(group)
        for i, findings in zip(group, batch, strict=True):
            lint[i], share[i] = findings, seconds
    for own, group in groups.values():
        for i in group:
            filename, text = items[i]
            with _no_cycle_collection():
                results[i] = _analyze(text, own, filename, lint[i], ruff_seconds=share[i])
    return [r for r in results if r is not None]


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Hold the cycle collector off while one file is analyzed.

    A file's tree is hundreds of thousands of fresh objects, and each 700 of them
    made the collector walk the young ones again: on a 1 MB file, `ast.parse`
    took 0.79 s with it and 0.38 s without (measured on 2 cores). Plain reference
    counting still frees everything that is not a cycle at once; the few cycles
    (bandit's parent links) are collected after the file, when it runs again.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
    return FileResult(findings=[_file_notice("TAPPS-SKIP", reason)], skipped=reason)


def _file_notice(code: str, message: str) -> Finding:
    """An Information finding about the whole file, on line 0."""
    return Finding(
        source="tapps",
        code=code,
        message=message,
        severity="information",
        category="file",
        line=0,
        col=0,
        end_line=0,
        end_col=0,
    )


def _analyze(
    text: str,
    settings: Settings,
    filename: str,
    lint: list[Finding] | None,
    *,
    ruff_seconds: float | None = None,
) -> FileResult:
    result = FileResult()
    if text.startswith("\ufeff"):
        # A BOM is not part of the code; editors do not count it in columns.
        text = text[1:]
    lines = split_lines(text)

    if lint is None:
        outcome = _timed(result, "ruff", lambda: ruff.check_text(text, filename, settings))
        lint = outcome if isinstance(outcome, list) else None
    elif ruff_seconds is not None:
        result.timings["ruff"] = ruff_seconds
    if settings.securityEngine == "bandit" or lint is None:
        # Loaded once per process, outside the budget: it is not this file's cost.
        bandit_security.warm_up()
    try:
        with cpu_budget(settings.fileBudget):
            _measure(result, text, lines, lint, settings)
    except OverBudget:
        result = _budget_result(result, lint, settings)
    else:
        _newer_syntax(result, text, filename, settings, linted=lint is not None)
        if settings.mypyEnabled:
            typed = _timed(
                result, "mypy", lambda: mypy_check.check(text, filename, lines, settings)
            )
            if isinstance(typed, list):
                result.findings += typed
                result.metrics.type_errors = len(typed)

    if settings.severityOverrides:
        result.findings = [_override(f, settings.severityOverrides) for f in result.findings]
    result.findings = _capped(result.findings)
    if LOG.isEnabledFor(logging.DEBUG):
        spent = ", ".join(f"{tool} {seconds:.3f} s" for tool, seconds in result.timings.items())
        LOG.debug("analysed %s: %d findings (%s)", filename, len(result.findings), spent)
    return result


def _capped(findings: list[Finding]) -> list[Finding]:
    """At most MAX_FINDINGS findings: file notices first, then by severity, in order."""
    if len(findings) <= MAX_FINDINGS:
        return findings
    order = sorted(
        range(len(findings)),
        key=lambda i: (
            findings[i].category != "file",
            _SEVERITY_RANK.get(findings[i].severity, len(_SEVERITY_RANK)),
            i,
        ),
    )
    kept = sorted(order[: MAX_FINDINGS - 1])
    notice = _file_notice(
        "TAPPS-MORE",
        f"{len(findings) - len(kept):,} more findings in this file are not shown: at most "
        f"{MAX_FINDINGS:,} are kept per file, the most severe first. The scores count them all.",
    )
    return [notice, *(findings[i] for i in kept)]


def _measure(
    result: FileResult, text: str, lines: list[str], lint: list[Finding] | None, settings: Settings
) -> None:
    """The in-process part of a review: parse, security split, metrics, performance."""
    metrics = result.metrics
    tree = _timed(result, "parse", lambda: _parse(text, settings.pythonVersion))
    if lint is not None:
        if settings.securityEngine == "ruff":
            lint = _ruff_security(result, lint, tree, lines)
        result.findings += lint
        metrics.lint_counts = ruff.lint_counts(lint)

    if not isinstance(tree, ast.Module):
        metrics.syntax_error = True
        metrics.loc = len(text.splitlines())  # as radon counts lines
        if not any(f.code in ruff.SYNTAX_CODES for f in result.findings):
            result.findings.append(_syntax_finding(tree, lines, settings.pythonVersion))
        return
    _metrics(result, text, tree, lines, settings)
    perf = _timed(result, "performance", lambda: performance.analyze(tree, lines))
    if isinstance(perf, performance.Performance):
        result.findings += perf.findings
        metrics.perf_penalties, metrics.perf_bonuses = perf.penalties, perf.bonuses
    # With the ruff engine, bandit stands in when ruff could not run, so a
    # broken ruff never reads as a clean security score.
    if settings.securityEngine == "bandit" or lint is None:
        security = _timed(
            result,
            "bandit",
            # Last of the tree's users: bandit annotates the nodes it visits.
            lambda: bandit_security.scan(text, lines, tree),
        )
        if isinstance(security, tuple):
            result.findings += security[0]
            metrics.security_counts = security[1]


def _budget_result(
    measured: FileResult, lint: list[Finding] | None, settings: Settings
) -> FileResult:
    """A file whose analysis ran out of CPU: not scored, its lint findings kept.

    What was measured before the budget ran out is dropped, so that the result
    does not depend on how far the analysis got on this machine.
    """
    reason = (
        f"File not scored: its analysis needed more than {settings.fileBudget:g} s of CPU "
        "(setting fileBudget); generated code, huge literals and very long statements "
        "are the usual cause. "
        "Lint findings are shown; complexity, maintainability, security and "
        "performance are not measured."
    )
    kept = ruff_security.lint_only(lint) if lint is not None else []
    return FileResult(
        findings=[_file_notice("TAPPS-BUDGET", reason), *kept],
        skipped=reason,
        analyzer_errors=dict(measured.analyzer_errors),
        timings=dict(measured.timings),
    )


def _ruff_security(
    result: FileResult, lint: list[Finding], tree: object, lines: list[str]
) -> list[Finding]:
    """Move ruff's `S` findings to security (only for a file that parses, as with bandit)."""
    if not isinstance(tree, ast.Module):
        return ruff_security.lint_only(lint)
    started = time.perf_counter()
    lint, security, counts = ruff_security.split(
        lint + ruff_security.imports(tree, lines), tree, lines
    )
    result.findings += security
    result.metrics.security_counts = counts
    result.timings["security"] = time.perf_counter() - started
    return lint


def _metrics(
    result: FileResult, text: str, tree: ast.Module, lines: list[str], settings: Settings
) -> None:
    """Complexity blocks, raw counts and MI in one walk of the tree (equal to radon's)."""
    metrics = result.metrics
    fast = _timed(result, "metrics", lambda: fastmetrics.compute(text, tree))
    if not isinstance(fast, fastmetrics.FastMetrics):
        metrics.loc = len(text.splitlines())  # as radon counts lines
        metrics.sloc = sum(1 for s in lines if s.strip() and not s.lstrip().startswith("#"))
        return
    for b in fast.blocks:
        line = b.lineno - 1
        source = lines[line] if line < len(lines) else ""
        block = Block(
            name=b.fullname,
            kind=b.kind,
            line=line,
            col=utf8_byte_to_codepoint(source, b.col),
            end_line=b.endline - 1,
            complexity=b.complexity,
            rank=b.rank,
        )
        metrics.blocks.append(block)
        # A class's CC is the mean of its methods' plus one: its complex methods
        # get their own findings, so the class would only repeat them.
        if b.complexity > settings.complexityThreshold and b.kind != "class":
            result.findings.append(radon_metrics.complexity_finding(block, b.name, source))
    metrics.max_complexity = max((b.complexity for b in fast.blocks), default=0)
    metrics.mi, metrics.loc, metrics.sloc = fast.mi, fast.raw.loc, fast.raw.sloc
    if fast.mi < 20:
        result.findings.append(_low_mi_finding(fast.mi))


_TOO_DEEP = "too deeply nested for Python's parser"


def _parse(text: str, python: str = "") -> ast.Module | SyntaxError:
    """The tree, parsed as the project's Python (`python`, "3.9") would where ours can."""
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences are ruff's to report, not stderr's.
            warnings.simplefilter("ignore")
            return ast.parse(text, feature_version=target.feature_version(python))
    except SyntaxError as exc:
        return exc
    except (RecursionError, MemoryError):
        return SyntaxError(_TOO_DEEP)


def _syntax_finding(exc: SyntaxError | object, lines: list[str], python: str = "") -> Finding:
    """A parse error that ruff did not report (ruff missing, or newer syntax than ours)."""
    line = max((getattr(exc, "lineno", None) or 1) - 1, 0)
    line = min(line, len(lines) - 1)
    col = max((getattr(exc, "offset", None) or 1) - 1, 0)
    col = min(col, len(lines[line]))
    message = getattr(exc, "msg", None) or str(exc)
    return Finding(
        source="tapps",
        code="TAPPS-SYNTAX",
        message=(
            f"Syntax error for Python {_parsed_as(python)}: {message} "
            "(complexity, maintainability, security and performance not measured)"
        ),
        severity="error",
        category="complexity",
        line=line,
        col=col,
        end_line=line,
        end_col=len(lines[line]),
    )


def _parsed_as(python: str) -> str:
    """The Python our parse stood for: the project's when ours could, else ours."""
    version = target.feature_version(python)
    return f"{version[0]}.{version[1]}" if version else target.server_python()


def _newer_syntax(
    result: FileResult, text: str, filename: str, settings: Settings, *, linted: bool
) -> None:
    """A file our Python cannot parse but ruff reads: is its syntax just newer than ours?

    ruff, told the project's Python, found no syntax error; told ours, it names the
    Python its syntax needs. Then the parse-based categories are not measured (the
    scores leave them out) and one notice says how to measure them, in place of the
    TAPPS-SYNTAX error. Anything else stays a syntax error.
    """
    if not (linted and result.metrics.syntax_error):
        return
    server = target.server_python()
    ours = target.ruff_target(server)
    syntax = next((f for f in result.findings if f.code == "TAPPS-SYNTAX"), None)
    if syntax is None or ours is None or _TOO_DEEP in syntax.message:
        return  # nesting too deep for our parser is no newer syntax
    argv = [ruff.binary(), "check", "--isolated", "--no-cache", "--output-format", "json"]
    argv += ["--select", "E902", "--target-version", ours, "--stdin-filename", filename, "-"]
    try:
        done = run_tool(
            "ruff", argv, stdin=text.encode("utf-8", "surrogatepass"), timeout=settings.toolTimeout
        )
    except ToolError:
        return
    needs = target.newer_syntax(target.parse_rows(done.stdout))
    if needs is None or target.version_tuple(needs) <= target.SERVER:  # type: ignore[operator]
        return
    result.metrics.syntax_error = False
    result.metrics.needs_python = needs
    notice = _file_notice(
        "TAPPS-PYTHON",
        f"Python {needs} syntax: {', '.join(target.PARSED_CATEGORIES)} not measured (needs "
        f"Python {needs}; the server runs {server}). To measure them, install tapps-lsp in a "
        f"Python {needs} or newer (`pipx install --python python{needs} tapps-lsp`) and run "
        "the server with it (VS Code: `tapps.interpreter`; Neovim: `g:tapps_python`).",
    )
    result.findings = [notice, *(f for f in result.findings if f.code != "TAPPS-SYNTAX")]


def _low_mi_finding(mi: float) -> Finding:
    return Finding(
        source="tapps",
        code="TAPPS-MI",
        message=f"Maintainability index {mi:.1f} is below 20 (radon rank B or C)",
        severity="information",
        category="maintainability",
        line=0,
        col=0,
        end_line=0,
        end_col=0,
        url="https://radon.readthedocs.io/en/latest/intro.html#maintainability-index",
        data={"mi": round(mi, 2)},
    )


def _override(finding: Finding, overrides: dict[str, str]) -> Finding:
    """Apply the longest matching code prefix of settings.severityOverrides."""
    best = max((p for p in overrides if finding.code.startswith(p)), key=len, default=None)
    if best is None or overrides[best] == finding.severity:
        return finding
    return dataclasses.replace(finding, severity=overrides[best])


def _timed(result: FileResult, tool: str, fn: Callable[[], T]) -> T | ToolError | None:
    """Run one analyzer step; a failure becomes the tool's one message, never an exception.

    OverBudget is not a failure of the step: it ends the file's analysis.
    """
    started = time.perf_counter()
    try:
        return fn()
    except ToolError as exc:
        result.analyzer_errors.setdefault(tool, str(exc))
        return exc
    except Exception as exc:  # noqa: BLE001 - a crashing tool must not stop the others
        result.analyzer_errors.setdefault(tool, f"{tool} crashed: {type(exc).__name__}: {exc}")
        return None
    finally:
        result.timings[tool] = time.perf_counter() - started


def warm_up() -> None:
    """Prepare what every review needs, once per process (worker initializer).

    Bandit is not loaded here: with the default security engine no review
    needs it, and in every worker it would hold about 5 MB for nothing.
    """
    try:
        ruff.binary()
    except ToolError:
        pass  # reported per file by the ruff step
