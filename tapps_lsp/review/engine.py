"""Review one file's text (or a chunk of files): findings and raw metrics.

The engine is a loop over the analyzers of `analyzers.registry.REGISTRY`
(the `Analyzer` protocol: analyzers/base.py): the TOOL stage (ruff; once per
chunk of files in a scan), the parse, the TREE stage under the file's CPU
budget, then the AFTER stage. It merges their outcomes into one `FileResult`,
applies `severityOverrides` and caps the findings.

Never raises for bad input or a broken tool: a file that cannot be reviewed is
`skipped` with one Information finding, and an analyzer that cannot run leaves
one message in `FileResult.analyzer_errors[name]` while the others still run.

Text read from disk should be decoded with ``errors="surrogateescape"``: text
that is not valid UTF-8 then still reaches `analyze`, which skips it with a
clear message instead of the caller having to.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tapps_lsp.config import Settings
from tapps_lsp.review import target
from tapps_lsp.review.analyzers import LOG, OverBudget, ToolError, cpu_budget, ruff, syntax
from tapps_lsp.review.analyzers.base import Analyzer, Outcome, Source, Stage, crashed
from tapps_lsp.review.analyzers.registry import REGISTRY
from tapps_lsp.review.model import FileResult, Finding
from tapps_lsp.review.positions import split_lines
from tapps_lsp.review.skips import skip_reason, skipped_result

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
        return _analyze(_source(text, for_file(settings, filename), filename), {})


def for_file(settings: Settings, filename: str) -> Settings:
    """The settings of one file: its own Python when pythonVersionPerFile names it."""
    if not settings.pythonVersionPerFile:
        return settings
    version = target.version_for(filename, settings.pythonVersion, settings.pythonVersionPerFile)
    return dataclasses.replace(settings, pythonVersion=version, pythonVersionPerFile={})


def analyze_batch(items: list[tuple[str, str]], settings: Settings) -> list[FileResult]:
    """Like `analyze` for each (filename, text), with one ruff process for the chunk
    (each TOOL-stage analyzer's `analyze_batch`)."""
    return list(iter_batch(items, settings))


def iter_batch(items: list[tuple[str, str]], settings: Settings) -> Iterator[FileResult]:
    """`analyze_batch`, each file's result as soon as it is ready (after the chunk's ruff)."""
    sources: dict[int, Source] = {}
    for i, (filename, text) in enumerate(items):
        if not skip_reason(text, settings):
            sources[i] = _source(text, for_file(settings, filename), filename)
    ready = _batched(list(sources.values()))
    for i, (_filename, text) in enumerate(items):
        source = sources.pop(i, None)
        if source is None:
            yield skipped_result(skip_reason(text, settings) or "")
            continue
        with _no_cycle_collection():
            result = _analyze(source, ready.pop(id(source), {}))
        yield result


def _batched(sources: list[Source]) -> dict[int, dict[str, Outcome]]:
    """id(source) -> analyzer name -> the outcome its TOOL analyzer gave for the chunk."""
    ready: dict[int, dict[str, Outcome]] = {}
    for analyzer in _stage(Stage.TOOL):
        wanted = [s for s in sources if analyzer.wanted(s)]
        for source, outcome in zip(wanted, analyzer.analyze_batch(wanted), strict=True):
            if outcome is not None:
                ready.setdefault(id(source), {})[analyzer.name] = outcome
    return ready


def _stage(stage: Stage) -> list[Analyzer]:
    """The analyzers of one stage, in registry order."""
    return [a for a in REGISTRY if a.stage is stage]


def _source(text: str, settings: Settings, filename: str) -> Source:
    """The analyzers' view of a file; a BOM is not part of the code (editors do not count
    it in columns)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return Source(text, split_lines(text), filename, settings)


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


class _Run:
    """One file's pass through the registry: each analyzer's outcome, timings, errors."""

    def __init__(self, source: Source, ready: dict[str, Outcome]) -> None:
        self.source = source
        self.ready = ready
        self.outcomes: dict[str, Outcome] = {}
        self.timings: dict[str, float] = {}

    def stage(self, stage: Stage) -> None:
        """Run the wanted analyzers of one stage, in registry order."""
        for analyzer in _stage(stage):
            if analyzer.wanted(self.source):
                self.outcomes[analyzer.name] = self.run(analyzer)

    def run(self, analyzer: Analyzer) -> Outcome:
        """One analyzer's outcome (from the chunk's batch when there is one)."""
        ready = self.ready.get(analyzer.name)
        if ready is not None:
            self.timings[analyzer.name] = ready.seconds or 0.0
            return ready
        outcome = self.timed(analyzer.name, lambda: analyzer.analyze(self.source))
        if outcome.seconds is not None:
            self.timings[analyzer.name] = outcome.seconds
        return outcome

    def timed(self, name: str, step: Callable[[], Outcome]) -> Outcome:
        """Run one step; a failure becomes its one message, never an exception.

        OverBudget is not a failure of the step: it ends the file's analysis.
        """
        started = time.perf_counter()
        try:
            return step()
        except ToolError as exc:
            return Outcome(error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a crashing tool must not stop the others
            return Outcome(error=crashed(name, exc))
        finally:
            self.timings[name] = time.perf_counter() - started

    def parse(self) -> None:
        """The tree every TREE-stage analyzer shares."""

        def parse() -> Outcome:
            self.source.tree = syntax.parse(self.source.text, self.source.settings.pythonVersion)
            return Outcome()

        self.outcomes["parse"] = self.timed("parse", parse)

    def errors(self) -> dict[str, str]:
        """Each analyzer's one message, in the order they ran."""
        return {name: o.error for name, o in self.outcomes.items() if o.error is not None}

    def result(self) -> FileResult:
        """The outcomes merged in registry order, notices about the whole file first."""
        result = FileResult(analyzer_errors=self.errors(), timings=self.timings)
        found: list[Finding] = []
        for analyzer in REGISTRY:
            outcome = self.outcomes.get(analyzer.name)
            if outcome is not None:
                found += outcome.findings
                for name, value in outcome.metrics.items():
                    setattr(result.metrics, name, value)
        notices = [f for f in found if f.category == "file"]
        result.findings = notices + [f for f in found if f.category != "file"] if notices else found
        return result


def _analyze(source: Source, ready: dict[str, Outcome]) -> FileResult:
    """One file through the three stages; the budget covers the parse and the TREE stage."""
    run = _Run(source, ready)
    run.stage(Stage.TOOL)
    for analyzer in _stage(Stage.TREE):
        analyzer.prepare(source)
    settings = source.settings
    try:
        with cpu_budget(settings.fileBudget):
            run.parse()
            run.stage(Stage.TREE)
    except OverBudget:
        result = _budget_result(run, settings)
    else:
        run.stage(Stage.AFTER)
        result = run.result()
    # Free the tree now, inside the collector's pause: a scan's chunk keeps its sources.
    source.tree = source.lint = None
    source.shared.clear()
    if settings.severityOverrides:
        result.findings = [f.overridden(settings.severityOverrides) for f in result.findings]
    result.findings = _capped(result.findings)
    if LOG.isEnabledFor(logging.DEBUG):
        spent = ", ".join(f"{tool} {seconds:.3f} s" for tool, seconds in result.timings.items())
        LOG.debug("analysed %s: %d findings (%s)", source.filename, len(result.findings), spent)
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
    notice = Finding.notice(
        "TAPPS-MORE",
        f"{len(findings) - len(kept):,} more findings in this file are not shown: at most "
        f"{MAX_FINDINGS:,} are kept per file, the most severe first. The scores count them all.",
    )
    return [notice, *(findings[i] for i in kept)]


def _budget_result(run: _Run, settings: Settings) -> FileResult:
    """A file whose analysis ran out of CPU: not scored, its lint findings kept.

    What was measured in the budget is dropped, so that the result does not depend
    on how far the analysis got on this machine: only the TOOL stage's findings
    stay, without ruff's `S` ones (security was not measured).
    """
    reason = (
        f"File not scored: its analysis needed more than {settings.fileBudget:g} s of CPU "
        "(setting fileBudget); generated code, huge literals and very long statements "
        "are the usual cause. "
        "Lint findings are shown; complexity, maintainability, security and "
        "performance are not measured."
    )
    tools = [run.outcomes[a.name] for a in _stage(Stage.TOOL) if a.name in run.outcomes]
    kept = ruff.lint_only(f for outcome in tools for f in outcome.findings)
    return FileResult(
        findings=[Finding.notice("TAPPS-BUDGET", reason), *kept],
        skipped=reason,
        analyzer_errors=run.errors(),
        timings=dict(run.timings),
    )


def warm_up() -> None:
    """Prepare what every review needs, once per process (worker initializer).

    Bandit is not loaded here: with the default security engine no review
    needs it, and in every worker it would hold about 5 MB for nothing.
    """
    for analyzer in REGISTRY:
        analyzer.warm_up()
