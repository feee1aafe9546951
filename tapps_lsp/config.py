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
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tapps_lsp.safe_io import brief

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
    pythonVersionPerFile: dict[str, str] = field(
        default_factory=dict,
        metadata=_doc(
            "The Python of some files, as ruff's `per-file-target-version`: "
            '{"tests/test_match.py": "3.10"}, globs matched against the end of the path, the '
            "first match winning. Empty: read from the project's ruff configuration.",
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
    # The team cache (docs/team-cache.md): user settings only (USER_ONLY).
    remoteCacheUrl: str = field(
        default="",
        metadata=_doc(
            "Team cache: a redis:// or rediss:// URL (`?cluster=1` for a Redis Cluster); "
            "user settings only. Needs TAPPS_LSP_CACHE_KEY.",
            restart=True,
        ),
    )
    remoteCacheWrite: bool = field(
        default=False,
        metadata=_doc("Team cache: also write results (CI, trusted machines); user settings only."),
    )
    remoteCacheTtlDays: float = field(
        default=30.0,
        metadata=_doc("Team cache: days a written result lives; user settings only."),
    )
    remoteCacheBudgetMs: int = field(
        default=20,
        metadata=_doc("Team cache: the longest a save waits for it; user settings only."),
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
    "maxFileSize": (1, 64 << 20),
    "toolTimeout": (0.1, 120),
    "fileBudget": (0.05, 30),
    "remoteCacheTtlDays": (0.001, 3650),
    "remoteCacheBudgetMs": (0, 10_000),
    "jobs": (0, 32),  # and at most two per core: JOBS_CEILING
}

FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _default(name: str) -> Any:
    f = FIELDS[name]
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


# ---- what a workspace may set ------------------------------------------------------------
#
# A workspace folder's own files (`[tool.tapps-lsp]`, `.tapps-agents/config.yaml`) are
# untrusted input: a cloned repository writes them. The user's own sources (editor user
# settings sent as initializationOptions / workspace/configuration, the environment,
# command-line flags) are not.

# Limits that protect the machine. A workspace may lower them, never raise them.
MACHINE_LIMITS: frozenset[str] = frozenset({"maxFileSize", "fileBudget", "toolTimeout", "jobs"})

# Keys a workspace may not set at all: only the user's own sources may.
USER_ONLY: frozenset[str] = frozenset(
    # A repository must not point the server at its own Redis (issue 16).
    {"remoteCacheUrl", "remoteCacheWrite", "remoteCacheTtlDays", "remoteCacheBudgetMs"}
)

CPU_COUNT = os.cpu_count() or 1
# At most two workers per core, and never more than 32.
JOBS_CEILING = min(int(_BOUNDS["jobs"][1]), 2 * CPU_COUNT)

# The most items a list or mapping setting keeps, and the longest string any setting keeps.
MAX_ITEMS = 500
MAX_STRING = 256
# Problems shown per settings load; the others are counted in one more message.
MAX_PROBLEMS = 5

# The ceilings in words, for docs/configuration.md (JOBS_CEILING depends on the machine).
_CEILINGS = {
    "maxFileSize": "at most 64 MiB",
    "fileBudget": "at most 30",
    "toolTimeout": "at most 120",
    "jobs": "at most 2 per core and 32 in all",
}

# The environment variable that sets each machine limit (TAPPS_LSP_MAX_FILE_SIZE, ...).
ENV_LIMITS: dict[str, str] = {
    key: "TAPPS_LSP_" + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()
    for key in sorted(MACHINE_LIMITS)
}


@dataclass(frozen=True)
class Source:
    """One layer of settings: its values, where they come from, whether a workspace wrote them.

    `origin` prefixes the source's problems (e.g. the file's path); `workspace`
    marks a file of the workspace folder, which may lower MACHINE_LIMITS only
    and may not set USER_ONLY keys.
    """

    values: Any
    origin: str = ""
    workspace: bool = False


# `_check`'s answer for a value of which nothing can be used.
_UNSET: Any = object()


def _show(value: Any, limit: int = 80) -> str:
    """A value from a settings source, bounded for a message."""
    try:
        return brief(value, limit)
    except ValueError:  # an int too long to convert to text
        return f"<{type(value).__name__}>"


def _names(keys: list[Any], shown: int = 5) -> str:
    """The first few of many keys, each cut short, and how many more there are."""
    names = ", ".join(_show(str(k), 40).strip("'\"") for k in keys[:shown])
    return names + (f" and {len(keys) - shown:,} more" if len(keys) > shown else "")


def _wrong_type(kind: type, value: Any) -> tuple[Any, str]:
    name = "list of strings" if kind is list else kind.__name__
    return _UNSET, f"expected {name}, got {type(value).__name__} {_show(value)}"


def _check(name: str, value: Any) -> tuple[Any, str | None]:
    """Validate one value: (value to use, problem or None).

    The value is `_UNSET` when none of it can be used (`merge` then names the
    default); a value cut to size or to its ceiling comes with a
    problem saying so. Untrusted values are shown with `brief`, never whole.
    """
    kind = type(_default(name))
    if kind is bool:
        return (value, None) if isinstance(value, bool) else _wrong_type(kind, value)
    if kind in (int, float):
        return _check_number(name, value, kind)
    if kind is str:
        return _check_string(name, value)
    if kind is list:
        return _check_list(value)
    return _check_mapping(name, value)


def _check_number(name: str, value: Any, kind: type) -> tuple[Any, str | None]:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _wrong_type(kind, value)
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            return _wrong_type(kind, value)
        value = int(value)
    elif kind is float:
        try:
            value = float(value)
        except OverflowError:  # an int too large for a float
            value = math.inf if value > 0 else -math.inf
    lo, hi = _BOUNDS.get(name, (-math.inf, math.inf))
    if name == "jobs":
        hi = JOBS_CEILING
    if name in MACHINE_LIMITS and value > hi:
        return kind(hi), f"{_show(value)} is above the ceiling {_bound(hi)}; using it"
    if not lo <= value <= hi:
        return _UNSET, f"{_show(value)} is outside {_bound(lo)}..{_bound(hi)}"
    return value, None


def _bound(number: float) -> str:
    """A bound as people write it: 67108864 and 0.1, not 6.71089e+07."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _check_string(name: str, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return _wrong_type(str, value)
    if name in _ENUMS and value not in _ENUMS[name]:
        return _UNSET, f"{_show(value)} is not one of {', '.join(_ENUMS[name])}"
    if len(value) > MAX_STRING:
        return _UNSET, f"{len(value):,} characters, over the limit of {MAX_STRING}"
    if name == "pythonVersion" and value and not _PYTHON.fullmatch(value):
        return _UNSET, f'{_show(value)} is not a Python version like "3.12"'
    return value, None


def _check_list(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _wrong_type(list, value)
    kept = [v for v in value if len(v) <= MAX_STRING]
    why = []
    if len(kept) < len(value):
        why.append(f"{len(value) - len(kept):,} longer than {MAX_STRING} characters")
    if len(kept) > MAX_ITEMS:
        why.append(f"{len(kept) - MAX_ITEMS:,} after the first {MAX_ITEMS}")
        kept = kept[:MAX_ITEMS]
    if why:
        dropped = len(value) - len(kept)
        return kept, f"{dropped:,} of {len(value):,} items dropped ({'; '.join(why)})"
    return list(value), None


# A Python version as pythonVersion takes it.
_PYTHON = re.compile(r"3\.\d{1,2}")


def _check_mapping(name: str, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, Mapping):
        return _wrong_type(dict, value)
    if name == "weights":
        return _check_weights(value)
    if name == "pythonVersionPerFile":
        bad = [k for k, v in value.items() if not isinstance(v, str) or not _PYTHON.fullmatch(v)]
        if bad:
            return _UNSET, f'Python for {_names(bad)} is not a version like "3.12"'
    if name == "severityOverrides":
        bad = [k for k, v in value.items() if not isinstance(v, str) or v not in SEVERITIES]
        if bad:
            return _UNSET, f"severity for {_names(bad)} is not one of " + ", ".join(SEVERITIES)
    kept = {k: v for k, v in value.items() if isinstance(k, str) and len(k) <= MAX_STRING}
    why = []
    if len(kept) < len(value):
        why.append(f"{len(value) - len(kept):,} with keys longer than {MAX_STRING} characters")
    if len(kept) > MAX_ITEMS:
        why.append(f"{len(kept) - MAX_ITEMS:,} after the first {MAX_ITEMS}")
        kept = dict(list(kept.items())[:MAX_ITEMS])
    if why:
        dropped = len(value) - len(kept)
        return kept, f"{dropped:,} of {len(value):,} entries dropped ({'; '.join(why)})"
    return kept, None


def _check_weights(value: Mapping[Any, Any]) -> tuple[Any, str | None]:
    bad = [
        k
        for k, v in value.items()
        if k not in CATEGORIES
        or not isinstance(v, int | float)
        or isinstance(v, bool)
        or not 0 <= v < math.inf
    ]
    if bad:
        return _UNSET, f"unknown category or bad weight for {_names(bad)}"
    merged = {c: 0.0 for c in CATEGORIES}
    merged.update({k: float(v) for k, v in value.items()})
    return merged, None


def merge(
    *sources: Source | Mapping[str, Any] | None, origin: str = "settings"
) -> tuple[Settings, list[str]]:
    """Build Settings from sources, later ones winning; returns (settings, problems).

    A bare mapping is one of the user's own sources. Each problem names the
    key and what is used instead, e.g.
    ``tapps.qualityThreshold: expected float, got str 'high'; using the default 70.0``.
    Unknown keys are reported too (a typo should not pass silently), in one
    message per source. A workspace `Source` may only lower MACHINE_LIMITS
    (below what the user's sources or the defaults set) and may not set
    USER_ONLY keys. `cap_problems` bounds what is shown of the problems.
    """
    values: dict[str, Any] = {}
    lowered: dict[str, tuple[Any, Any, str]] = {}
    problems: list[str] = []
    for source in sources:
        if source is None:
            continue
        layer = source if isinstance(source, Source) else Source(source)
        if layer.values is None or (isinstance(layer.values, Mapping) and not layer.values):
            continue
        if not isinstance(layer.values, Mapping):
            kind = type(layer.values).__name__
            problems.append(f"{layer.origin or origin}: expected an object, got {kind}")
            continue
        _apply(layer, values, lowered, problems)
    _lower_limits(values, lowered, problems)
    settings = Settings(**values)
    notice = weights_notice(settings) if "weights" in values else None
    return settings, problems + ([notice] if notice else [])


def _apply(
    source: Source,
    values: dict[str, Any],
    lowered: dict[str, tuple[Any, Any, str]],
    problems: list[str],
) -> None:
    """Check each key of one source into `values` (a workspace's limits into `lowered`)."""
    prefix = f"{source.origin}: " if source.origin else ""
    unknown: list[str] = []
    refused: list[str] = []
    for key, raw in flatten(source.values).items():
        if key not in FIELDS:
            if key not in CLIENT_ONLY_KEYS:
                unknown.append(key)
            continue
        if source.workspace and key in USER_ONLY:
            refused.append(key)
            continue
        value, problem = _check(key, raw)
        if value is _UNSET:
            problems.append(f"{prefix}tapps.{key}: {problem}; using the default {_default(key)!r}")
        elif source.workspace and key in MACHINE_LIMITS:
            # Compared with the user's value once every source is in (`_lower_limits`).
            lowered[key] = (value, raw, source.origin)
        else:
            if problem:
                problems.append(f"{prefix}tapps.{key}: {problem}")
            values[key] = value
    if len(unknown) == 1:
        problems.append(f"{prefix}tapps.{_names(unknown)}: unknown setting, ignored")
    elif unknown:
        problems.append(f"{prefix}{len(unknown):,} unknown settings ignored: {_names(unknown)}")
    if refused:
        problems.append(
            f"{prefix}{_names(refused)}: only your own settings (editor user settings, "
            "environment, command line) may set this, not a workspace; ignored"
        )


def _amount(key: str, value: float) -> float:
    """A limit's value as an amount: jobs 0 means one worker per core."""
    return CPU_COUNT if key == "jobs" and value == 0 else value


def _lower_limits(
    values: dict[str, Any], lowered: Mapping[str, tuple[Any, Any, str]], problems: list[str]
) -> None:
    """Apply a workspace's machine limits that are not above the user's (or the default)."""
    for key, (value, raw, origin) in lowered.items():
        in_force = values.get(key, _default(key))
        if _amount(key, raw) <= _amount(key, in_force):
            values[key] = value
            continue
        shown = f"{in_force!r}" + (" (one per core)" if key == "jobs" and in_force == 0 else "")
        problems.append(
            f"{origin}: tapps.{key} = {_show(raw)} refused: a workspace may lower this limit, "
            f"never raise it; using {shown}. To raise it, use your editor's user settings "
            f"or {ENV_LIMITS[key]}"
        )


def cap_problems(problems: list[str], limit: int = MAX_PROBLEMS) -> list[str]:
    """At most `limit` problems, and one line counting the rest."""
    if len(problems) <= limit:
        return problems
    rest = len(problems) - limit
    return problems[:limit] + [f"{rest:,} more settings problems not shown"]


def env_source(environ: Mapping[str, str] = os.environ) -> tuple[Source, list[str]]:
    """The machine limits set in the environment (ENV_LIMITS), and the problems met."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, variable in ENV_LIMITS.items():
        text = environ.get(variable, "").strip()
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            problems.append(f"{variable}: {_show(text)} is not a number; ignored")
            continue
        values[key] = int(number) if number.is_integer() else number
    return Source(values, "environment"), problems


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
        if name in MACHINE_LIMITS:
            notes.append(f"a machine limit: {_CEILINGS[name]}; a workspace may only lower it")
        if name in USER_ONLY:
            notes.append("user-only: a workspace may not set it")
        if notes:
            doc += f" ({'; '.join(notes)})"
        rows.append(f"| `tapps.{name}` | {_type_name(name)} | `{default}` | {doc} |")
    return "\n".join(rows) + "\n"
