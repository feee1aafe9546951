"""The `Analyzer` protocol: what every analyzer is given and what it gives back.

An analyzer gets a `Source` (one file's text and lines, its name, its own
settings, and the facts analyzers share: the parsed tree and ruff's findings)
and returns an `Outcome` (findings, the `Metrics` fields it measured, an error).
The engine runs the analyzers of `registry.REGISTRY` in three stages:

- `Stage.TOOL`: tool processes, before anything in-process (ruff). A chunk of
  files may be analysed in one process (`analyze_batch`).
- `Stage.TREE`: in-process work on the tree, under the file's CPU budget
  (`fileBudget`); a file over its budget keeps only its TOOL findings.
- `Stage.AFTER`: tool processes once the file is measured within its budget
  (mypy, the newer-syntax probe). Tool processes are bounded by `toolTimeout`.

The engine times each analyzer (`FileResult.timings[name]`), turns an exception
into its one message (`FileResult.analyzer_errors[name]`) and merges the
outcomes in registry order. Adding an analyzer: docs/architecture.md.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from tapps_lsp.config import Settings
from tapps_lsp.review.model import Finding


class Stage(IntEnum):
    """When an analyzer runs: before, under or after the file's CPU budget."""

    TOOL = 0
    TREE = 1
    AFTER = 2


@dataclass
class Source:
    """One file as the analyzers see it, and the facts they share."""

    text: str  # without a byte order mark
    lines: list[str]
    # The file's name: what rules read from it (`__init__.py`, `.pyi`, a module name).
    filename: str
    # The file's own settings (its Python when pythonVersionPerFile names it).
    settings: Settings
    # Set by the engine before the TREE stage: the module, or why it does not parse.
    tree: ast.Module | SyntaxError | None = None
    # Set by the ruff analyzer: ruff's findings, `S` codes included; None when ruff
    # could not run.
    lint: list[Finding] | None = None
    # What TREE-stage analyzers compute once and share (tree_walk.py: the one walk of
    # the tree); freed with the tree.
    shared: dict[str, object] = field(default_factory=dict)

    @property
    def module(self) -> ast.Module | None:
        """The parsed module, or None when the file does not parse."""
        return self.tree if isinstance(self.tree, ast.Module) else None


@dataclass
class Outcome:
    """What one analyzer found in one file."""

    findings: list[Finding] = field(default_factory=list)
    # `Metrics` field -> value, e.g. {"security_counts": {...}}; scoring.py reads them.
    metrics: dict[str, object] = field(default_factory=dict)
    # The one message for the user when the analyzer could not run (or ran in part).
    error: str | None = None
    # Seconds spent, when the analyzer measured them itself (a share of a batch).
    seconds: float | None = None


class Analyzer(Protocol):
    """One analyzer. Subclass it to inherit the defaults of the optional methods."""

    name: str  # its key in FileResult.timings and FileResult.analyzer_errors
    stage: Stage

    def wanted(self, source: Source) -> bool:
        """Whether it runs for this file (asked when its stage starts)."""
        ...

    def analyze(self, source: Source) -> Outcome:
        """Analyse one file. A ToolError or any exception becomes its one message."""
        ...

    def analyze_batch(self, sources: list[Source]) -> list[Outcome | None]:
        """TOOL stage: outcomes for a chunk of wanted files, None where each must run alone."""
        return [None] * len(sources)

    def prepare(self, source: Source) -> None:
        """Load what this file's analysis needs, before the CPU budget starts."""
        return None

    def warm_up(self) -> None:
        """Prepare what every review needs, once per process (cheap things only)."""
        return None


class TreeAnalyzer(Analyzer):
    """An analyzer of the parsed tree: in-process, under the file's CPU budget, for a
    file that parses."""

    stage = Stage.TREE

    def wanted(self, source: Source) -> bool:
        """For a file that parses."""
        return source.module is not None


def crashed(name: str, exc: BaseException) -> str:
    """The message of an analyzer that raised something other than ToolError."""
    return f"{name} crashed: {type(exc).__name__}: {exc}"
