"""The review model: plain data, JSON round-trippable, no LSP types.

Positions are 0-based lines and 0-based columns in Unicode code points;
`tapps_lsp.review.positions` converts them to UTF-16/UTF-8 for the editor.

Two layers:
- `FileResult` is everything determined by a file's content and the
  result-affecting settings: findings and raw metrics. It is what the cache
  stores.
- `Review` adds what depends on the workspace and the scoring settings
  (coverage, structure, weights, thresholds): scores, the gate, and the
  gate finding. It is computed when rendering and never cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

T = TypeVar("T")

# Schema version of FileResult.to_dict(); part of the cache fingerprint.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Edit:
    """Replace [line:col, end_line:end_col) (code points) with `text`."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str


@dataclass(frozen=True)
class Fix:
    """A tool's fix for a finding: edits applied together."""

    message: str
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Finding:
    """One diagnostic: a tool's finding, or a notice of ours, at a code-point range."""

    source: str  # "ruff" | "bandit" | "tapps" | "mypy"
    code: str  # "F401", "B602", "TAPPS-CC", ...
    message: str
    severity: str  # "error" | "warning" | "information" | "hint"
    category: str  # a scoring category, or "file" for skip notices
    line: int
    col: int
    end_line: int
    end_col: int
    url: str | None = None
    tags: tuple[str, ...] = ()  # "unnecessary", "deprecated"
    fix: Fix | None = None
    data: dict[str, Any] = field(default_factory=dict)  # e.g. {"cwe": 78, "confidence": "HIGH"}

    @classmethod
    def notice(
        cls,
        code: str,
        message: str,
        *,
        category: str = "file",
        severity: str = "information",
        url: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        """A finding about the whole file, on line 1 (TAPPS-SKIP, TAPPS-BUDGET, TAPPS-GATE, ...)."""
        return cls(
            source="tapps",
            code=code,
            message=message,
            severity=severity,
            category=category,
            line=0,
            col=0,
            end_line=0,
            end_col=0,
            url=url,
            data=data if data is not None else {},
        )

    def overridden(self, overrides: Mapping[str, str]) -> Finding:
        """This finding with `severityOverrides` applied (itself when nothing changes)."""
        severity = overridden_severity(self.code, self.severity, overrides)
        return self if severity == self.severity else replace(self, severity=severity)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the cache and the reports store."""
        # Spelt out: dataclasses.asdict recurses and deep-copies every value, 5x slower,
        # and a scan or a report converts every finding of every file. Values of `data`
        # are scalars, so a shallow copy is a full one.
        fix = self.fix
        return {
            "source": self.source,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "category": self.category,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
            "url": self.url,
            "tags": list(self.tags),
            "fix": None
            if fix is None
            else {
                "message": fix.message,
                "edits": [
                    {
                        "line": e.line,
                        "col": e.col,
                        "end_line": e.end_line,
                        "end_col": e.end_col,
                        "text": e.text,
                    }
                    for e in fix.edits
                ],
                "safe": fix.safe,
            },
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """The finding `to_dict` wrote."""
        fix = d.get("fix")
        if fix is None and d.keys() == _FINDING_FIELDS:
            values = dict(d)
            values["tags"] = tuple(d["tags"])
            values["data"] = dict(d["data"])
            return _built(cls, values)
        return cls(
            source=d["source"],
            code=d["code"],
            message=d["message"],
            severity=d["severity"],
            category=d["category"],
            line=d["line"],
            col=d["col"],
            end_line=d["end_line"],
            end_col=d["end_col"],
            url=d.get("url"),
            tags=tuple(d.get("tags", ())),
            fix=Fix(
                message=fix["message"],
                edits=tuple(Edit(**e) for e in fix["edits"]),
                safe=fix.get("safe", True),
            )
            if fix
            else None,
            data=dict(d.get("data", {})),
        )


def overridden_severity(code: str, severity: str, overrides: Mapping[str, str]) -> str:
    """The one rule of `severityOverrides`: the override of the longest prefix of `code`.

    The engine applies it to every finding it makes; `convert` to the findings
    made after it (the gate's) when it shows them.
    """
    best = max((p for p in overrides if code.startswith(p)), key=len, default=None)
    return severity if best is None else overrides[best]


@dataclass(frozen=True)
class Block:
    """A function, method or class as radon's cc_visit sees it."""

    name: str  # qualified: "Class.method"
    kind: str  # "function" | "method" | "class"
    line: int  # 0-based line of the def/class
    col: int
    end_line: int
    complexity: int
    rank: str  # radon's A-F


@dataclass
class Metrics:
    """Raw, content-determined numbers the scores are computed from."""

    blocks: list[Block] = field(default_factory=list)
    max_complexity: int = 0
    mi: float | None = None  # maintainability index 0-100; None when not computed
    loc: int = 0
    sloc: int = 0
    security_counts: dict[str, int] = field(
        default_factory=lambda: {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    )
    lint_counts: dict[str, int] = field(default_factory=lambda: {"E": 0, "F": 0, "W": 0})
    type_errors: int | None = None  # None when mypy did not run
    perf_penalties: dict[str, float] = field(default_factory=dict)  # kind -> penalty
    perf_bonuses: dict[str, float] = field(default_factory=dict)  # kind -> bonus
    syntax_error: bool = False
    # "3.12" when the file's syntax is newer than the server's Python (ruff read it,
    # our parse could not): the parse-based categories are not measured.
    needs_python: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the cache and the reports store."""
        # Spelt out for speed, as Finding.to_dict.
        return {
            "blocks": [
                {
                    "name": b.name,
                    "kind": b.kind,
                    "line": b.line,
                    "col": b.col,
                    "end_line": b.end_line,
                    "complexity": b.complexity,
                    "rank": b.rank,
                }
                for b in self.blocks
            ],
            "max_complexity": self.max_complexity,
            "mi": self.mi,
            "loc": self.loc,
            "sloc": self.sloc,
            "security_counts": dict(self.security_counts),
            "lint_counts": dict(self.lint_counts),
            "type_errors": self.type_errors,
            "perf_penalties": dict(self.perf_penalties),
            "perf_bonuses": dict(self.perf_bonuses),
            "syntax_error": self.syntax_error,
            "needs_python": self.needs_python,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metrics:
        """The metrics `to_dict` wrote."""
        # Copy the inner dicts: `d` may be the memory tier's shared entry.
        d = {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}
        d["blocks"] = [
            _built(Block, b) if b.keys() == _BLOCK_FIELDS else Block(**b)
            for b in d.get("blocks", [])
        ]
        return cls(**d)


def _built(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of a frozen dataclass from a dict of all its fields, without `__init__`.

    A cache hit rebuilds every block and finding of a file (a few hundred for a large
    module), and a frozen dataclass's `__init__` sets each field through
    `object.__setattr__`: four times slower. Only for dicts that `to_dict` wrote, whose
    keys the caller has checked; the values are copied, not shared.
    """
    built = object.__new__(cls)
    built.__dict__.update(values)
    return built


_BLOCK_FIELDS = {f.name for f in fields(Block)}
_FINDING_FIELDS = {f.name for f in fields(Finding)}


@dataclass
class FileResult:
    """The content-determined result of reviewing one file's text."""

    findings: list[Finding] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    # Set when the file was not analysed (too large, not UTF-8, binary).
    skipped: str | None = None
    # One message per analyzer that could not run, e.g. {"bandit": "timed out after 20 s"}.
    analyzer_errors: dict[str, str] = field(default_factory=dict)
    # Seconds per analyzer, for profiling; not part of equality.
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the cache stores (with the schema version)."""
        return {
            "schema": SCHEMA_VERSION,
            "findings": [f.to_dict() for f in self.findings],
            "metrics": self.metrics.to_dict(),
            "skipped": self.skipped,
            "analyzer_errors": dict(self.analyzer_errors),
            "timings": dict(self.timings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileResult:
        """The result `to_dict` wrote; ValueError for another schema."""
        if d.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unsupported result schema {d.get('schema')!r}")
        return cls(
            findings=[Finding.from_dict(f) for f in d["findings"]],
            metrics=Metrics.from_dict(d["metrics"]),
            skipped=d.get("skipped"),
            analyzer_errors=dict(d.get("analyzer_errors", {})),
            timings=dict(d.get("timings", {})),
        )


@dataclass(frozen=True)
class ProjectInfo:
    """What a file's project root says about it: computed per project, never cached per file."""

    structure: float = 0.0  # 0-10
    devex: float = 0.0  # 0-10
    # Line rate 0-1 of this file in the coverage data; None when the data does not list it.
    coverage_line_rate: float | None = None
    has_coverage_report: bool = False  # the project has coverage data we could read
    has_test_file: bool = False  # a test_<stem>.py exists (only with coverageHeuristic)
    is_test_file: bool = False  # reviewed as a test: no coverage score, no assert findings
    coverage_source: str = ""  # the data file read, e.g. "coverage.xml"
    coverage_heuristic: bool = False  # the coverageHeuristic setting
    coverage_problem: str = ""  # why data that was there (or named) could not be used


@dataclass
class Review:
    """A scored file: the FileResult plus scores and the quality gate."""

    path: str
    result: FileResult
    scores: dict[str, float]  # category -> quality 0-10 (higher is better)
    overall: float  # 0-100
    passed: bool
    weakest: str  # weakest weighted category
    threshold: float
    min_security: float
    from_cache: bool = False
    content_hash: str = ""
    # Categories that could not be measured, each with the reason shown to users.
    not_measured: dict[str, str] = field(default_factory=dict)
    # Error-severity findings that fail the gate whatever the scores (gateOnErrors).
    gate_errors: tuple[Finding, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        """All findings, the gate finding included."""
        return self.result.findings + ([] if self.passed else [self.gate_finding()])

    def gate_finding(self) -> Finding:
        """The TAPPS-GATE warning on line 1 of a file that fails the gate."""
        # The wording lives in one function (messages.gate_message); the hover on
        # line 1 gives the details.
        from tapps_lsp.review.messages import gate_message

        return Finding.notice("TAPPS-GATE", gate_message(self), category="gate", severity="warning")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of one file in `check --format json` and reports."""
        return {
            "path": self.path,
            "overall": round(self.overall, 2),
            "passed": self.passed,
            "weakest": self.weakest,
            "threshold": self.threshold,
            "minSecurity": self.min_security,
            "scores": {k: round(v, 2) for k, v in self.scores.items()},
            "notMeasured": dict(self.not_measured),
            "fromCache": self.from_cache,
            "skipped": self.result.skipped,
            "analyzerErrors": dict(self.result.analyzer_errors),
            "metrics": self.result.metrics.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
        }
