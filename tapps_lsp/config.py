"""The one settings schema: typed, defaulted, a docstring per key.

The same camelCase keys are read from the VS Code settings (``tapps.*``),
``initializationOptions``, ``workspace/configuration`` (section ``tapps``),
``[tool.tapps-lsp]`` in pyproject.toml, and, for weights and thresholds,
``.tapps-agents/config.yaml``. A bad value never crashes anything: it is
reported by key and replaced by the default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CATEGORIES = (
    "complexity",
    "security",
    "maintainability",
    "test_coverage",
    "performance",
    "linting",
    "type_checking",
    "structure",
    "devex",
)

DEFAULT_WEIGHTS: dict[str, float] = {
    "complexity": 0.18,
    "security": 0.27,
    "maintainability": 0.24,
    "test_coverage": 0.13,
    "performance": 0.08,
    "structure": 0.05,
    "devex": 0.05,
    "linting": 0.0,
    "type_checking": 0.0,
}

SEVERITIES = ("error", "warning", "information", "hint")


def _doc(text: str, *, affects_results: bool = False, restart: bool = False) -> Any:
    return {"doc": text, "affects_results": affects_results, "restart": restart}


@dataclass(frozen=True)
class Settings:
    """Settings of one workspace folder (or of a `check` run)."""

    run: str = field(
        default="onSave",
        metadata=_doc(
            'When to review: "onSave" (on open and save) or "onType" (also while typing, '
            "debounced by `debounceMs`)."
        ),
    )
    debounceMs: int = field(
        default=300, metadata=_doc('Delay after the last keystroke before an "onType" review.')
    )
    qualityThreshold: float = field(
        default=70.0, metadata=_doc("Overall score (0-100) a file needs to pass the quality gate.")
    )
    minSecurity: float = field(
        default=8.5, metadata=_doc("Security score (0-10) a file needs to pass the quality gate.")
    )
    gateOnErrors: bool = field(
        default=True,
        metadata=_doc(
            "Fail the quality gate for a file with an error-severity lint finding (a syntax "
            "error for the project's Python, an undefined name, another ruff E9/F63/F7/F82), "
            "whatever its scores."
        ),
    )
    complexityThreshold: int = field(
        default=10,
        metadata=_doc(
            "Cyclomatic complexity above which a block gets a diagnostic and a code lens.",
            affects_results=True,
        ),
    )
    weights: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        metadata=_doc(
            "Weight of each category in the overall score; normalised when they do not sum to 1. "
            "Keys: " + ", ".join(CATEGORIES) + "."
        ),
    )
    lintSelect: list[str] = field(
        default_factory=lambda: ["E", "F", "W"],
        metadata=_doc("Ruff rule codes or prefixes to enable.", affects_results=True),
    )
    lintIgnore: list[str] = field(
        default_factory=lambda: ["E501"],
        metadata=_doc("Ruff rule codes or prefixes to disable.", affects_results=True),
    )
    lineLength: int = field(
        default=100, metadata=_doc("Line length given to ruff.", affects_results=True)
    )
    pythonVersion: str = field(
        default="",
        metadata=_doc(
            'The Python the project targets, e.g. "3.12": syntax it rejects is an error. '
            "Empty: read from the project root (ruff's `target-version`, else "
            "`requires-python`); none there: the server's own Python.",
            affects_results=True,
        ),
    )
    severityOverrides: dict[str, str] = field(
        default_factory=dict,
        metadata=_doc(
            'Diagnostic severity per code prefix, e.g. {"W": "hint", "S105": "error"}; '
            "the longest matching prefix wins. Values: " + ", ".join(SEVERITIES) + ".",
            affects_results=True,
        ),
    )
    securityEngine: str = field(
        default="ruff",
        metadata=_doc(
            'Security analyzer: "bandit" (exact, in-process) or "ruff" (flake8-bandit '
            "rules in the lint run, scored with bandit's severities; see docs/scoring.md).",
            affects_results=True,
        ),
    )
    mypyEnabled: bool = field(
        default=False,
        metadata=_doc(
            "Run mypy (the one installed beside tapps-lsp) for the type_checking category.",
            affects_results=True,
        ),
    )
    maxFileSize: int = field(
        default=1_048_576,
        metadata=_doc(
            "Files larger than this many bytes are skipped with one informational diagnostic.",
            affects_results=True,
        ),
    )
    toolTimeout: float = field(
        default=20.0,
        metadata=_doc(
            "Seconds a tool process (ruff, mypy) may run on one file before it is stopped."
        ),
    )
    fileBudget: float = field(
        default=1.0,
        metadata=_doc(
            "CPU seconds the in-process analysis (parse, metrics, security, performance) may "
            "use on one file. A file over it is not scored: it gets one informational "
            "diagnostic and its lint findings only.",
            affects_results=True,
        ),
    )
    exclude: list[str] = field(
        default_factory=list,
        metadata=_doc(
            "Glob patterns (gitignore syntax, relative to the folder) left out of workspace "
            "reviews, on top of .gitignore, virtual environments, node_modules and build folders."
        ),
    )
    coverageFile: str = field(
        default="",
        metadata=_doc(
            "Coverage data to score test_coverage from (Cobertura XML, coverage.py's "
            "`.coverage` or lcov), relative to the file's project root; it must lie inside the "
            "workspace. Empty: the newest of coverage.xml, lcov.info and .coverage at the "
            "project root (in that order when written within seconds of each other)."
        ),
    )
    coverageHeuristic: bool = field(
        default=False,
        metadata=_doc(
            "Without coverage data, score test_coverage the way TappsCodingAgents guesses it "
            "(5 when a test_<name>.py exists, else 0) instead of leaving it not measured."
        ),
    )
    testPatterns: list[str] = field(
        default_factory=list,
        metadata=_doc(
            "More test files, beside test_*.py, *_test.py, conftest.py and files under tests/: "
            "globs matched against the end of the path (`*_spec.py`, `it/*.py`). Test files "
            "are not scored on coverage and get no assert findings (S101, B101)."
        ),
    )
    jobs: int = field(
        default=0,
        metadata=_doc("Worker processes for reviews; 0 means one per core.", restart=True),
    )
    logLevel: str = field(
        default="info",
        metadata=_doc('Server log level: "error", "warning", "info" or "debug".'),
    )

    def digest(self) -> str:
        """A digest of the settings that change a file's content-determined result."""
        relevant = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("affects_results")
        }
        blob = json.dumps(relevant, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def normalised_weights(self) -> dict[str, float]:
        """Weights scaled to sum to 1 (all-zero weights fall back to the defaults)."""
        total = sum(self.weights.values())
        if total <= 0:
            return dict(DEFAULT_WEIGHTS)
        return {k: v / total for k, v in self.weights.items()}


_ENUMS: dict[str, tuple[str, ...]] = {
    "run": ("onSave", "onType"),
    "securityEngine": ("bandit", "ruff"),
    "logLevel": ("error", "warning", "info", "debug"),
}

_BOUNDS: dict[str, tuple[float, float]] = {
    "debounceMs": (0, 10_000),
    "qualityThreshold": (0, 100),
    "minSecurity": (0, 10),
    "complexityThreshold": (1, 1000),
    "lineLength": (1, 1000),
    "maxFileSize": (1, 1 << 31),
    "toolTimeout": (0.1, 600),
    "fileBudget": (0.05, 600),
    "jobs": (0, 256),
}

FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _default(name: str) -> Any:
    f = FIELDS[name]
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _check(name: str, value: Any) -> tuple[Any, str | None]:
    """Validate one value; returns (value to use, problem or None)."""
    default = _default(name)
    kind = type(default)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind in (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and kind is int and not float(value).is_integer():
            ok = False
        if ok:
            value = kind(value)
            lo, hi = _BOUNDS.get(name, (float("-inf"), float("inf")))
            if not lo <= value <= hi:
                return default, f"{value!r} is outside {lo:g}..{hi:g}"
    elif kind is str:
        ok = isinstance(value, str)
        if ok and name in _ENUMS and value not in _ENUMS[name]:
            return default, f"{value!r} is not one of {', '.join(_ENUMS[name])}"
        if ok and name == "pythonVersion" and value and not re.fullmatch(r"3\.\d{1,2}", value):
            return default, f'{value!r} is not a Python version like "3.12"'
    elif kind is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:  # dict
        ok = isinstance(value, Mapping)
        if ok and name == "weights":
            bad = [
                k
                for k, v in value.items()
                if k not in CATEGORIES
                or not isinstance(v, int | float)
                or isinstance(v, bool)
                or v < 0
            ]
            if bad:
                return default, f"unknown category or bad weight for {', '.join(map(str, bad))}"
            merged = {c: 0.0 for c in CATEGORIES}
            merged.update({k: float(v) for k, v in value.items()})
            return merged, None
        if ok and name == "severityOverrides":
            bad = [k for k, v in value.items() if v not in SEVERITIES]
            if bad:
                return default, f"severity for {', '.join(map(str, bad))} is not one of " + (
                    ", ".join(SEVERITIES)
                )
            value = dict(value)
    if not ok:
        return default, f"expected {kind.__name__}, got {type(value).__name__} {value!r}"
    return value, None


def merge(
    *sources: Mapping[str, Any] | None, origin: str = "settings"
) -> tuple[Settings, list[str]]:
    """Build Settings from sources, later ones winning; returns (settings, problems).

    Each problem names the key and the default used instead, e.g.
    ``tapps.qualityThreshold: 'high' is not a number; using the default 70.0``.
    Unknown keys are reported too (a typo should not pass silently).
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for source in sources:
        if not source:
            continue
        if not isinstance(source, Mapping):
            problems.append(f"{origin}: expected an object, got {type(source).__name__}")
            continue
        for key, raw in flatten(source).items():
            if key not in FIELDS:
                if key not in CLIENT_ONLY_KEYS:
                    problems.append(f"tapps.{key}: unknown setting, ignored")
                continue
            value, problem = _check(key, raw)
            if problem:
                problems.append(f"tapps.{key}: {problem}; using the default {_default(key)!r}")
                continue
            values[key] = value
    settings = Settings(**values)
    notice = weights_notice(settings) if "weights" in values else None
    return settings, problems + ([notice] if notice else [])


def weights_notice(settings: Settings) -> str | None:
    """The one message to show when the configured weights are not used as given."""
    total = sum(settings.weights.values())
    if abs(total - 1.0) < 1e-9:
        return None
    if total <= 0:
        return "tapps.weights are all 0; using the default weights"
    return f"tapps.weights sum to {total:g}, not 1: each is divided by {total:g}"


# Keys that belong to an editor client and are not server settings.
CLIENT_ONLY_KEYS = frozenset({"interpreter", "trace", "trace.server", "path", "enable"})


def flatten(source: Mapping[str, Any]) -> dict[str, Any]:
    """Accept `{"lint": {"select": [...]}}` and `{"lintSelect": [...]}` alike.

    Editors send nested objects for dotted VS Code keys (`tapps.trace.server`),
    so a nested object whose parent is not itself a setting is flattened to
    camelCase (`lint.select` -> `lintSelect`).
    """
    out: dict[str, Any] = {}
    for key, value in source.items():
        key = str(key)
        if isinstance(value, Mapping) and key not in FIELDS and key not in CLIENT_ONLY_KEYS:
            for sub, subvalue in value.items():
                out[key + str(sub)[:1].upper() + str(sub)[1:]] = subvalue
        else:
            out[key] = value
    return out


def from_tapps_agents(data: Any) -> dict[str, Any]:
    """Map `.tapps-agents/config.yaml` onto our keys (scoring weights and thresholds)."""
    if not isinstance(data, Mapping):
        return {}
    scoring = data.get("scoring")
    if not isinstance(scoring, Mapping):
        return {}
    out: dict[str, Any] = {}
    if "weights" in scoring:
        out["weights"] = scoring["weights"]
    thresholds = scoring.get("thresholds")
    if isinstance(thresholds, Mapping):
        for theirs, ours in (
            ("overall", "qualityThreshold"),
            ("overall_min", "qualityThreshold"),
            ("security", "minSecurity"),
            ("security_min", "minSecurity"),
            ("complexity", "complexityThreshold"),
        ):
            if theirs in thresholds:
                out[ours] = thresholds[theirs]
    for theirs, ours in (
        ("quality_threshold", "qualityThreshold"),
        ("min_security", "minSecurity"),
    ):
        if theirs in scoring:
            out[ours] = scoring[theirs]
    return out


def env_log_level() -> str:
    """`TAPPS_LSP_LOG_LEVEL`, lower-cased, default info."""
    return os.environ.get("TAPPS_LSP_LOG_LEVEL", "info").lower()


def _type_name(name: str) -> str:
    default = _default(name)
    if name in _ENUMS:
        return " \\| ".join(f'`"{v}"`' for v in _ENUMS[name])
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "string[]"}.get(
        type(default), "object"
    )


def markdown_table() -> str:
    """The settings reference of docs/configuration.md, generated from the schema."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, f in FIELDS.items():
        default = json.dumps(_default(name))
        doc = f.metadata["doc"].replace("|", "\\|")
        notes = []
        if f.metadata.get("affects_results"):
            notes.append("changes the cache key")
        if f.metadata.get("restart"):
            notes.append("needs a server restart")
        if notes:
            doc += f" ({'; '.join(notes)})"
        rows.append(f"| `tapps.{name}` | {_type_name(name)} | `{default}` | {doc} |")
    return "\n".join(rows) + "\n"
