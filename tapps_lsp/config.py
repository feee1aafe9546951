"""The one settings schema: typed, defaulted, a docstring per key, and each key's limits.

The same camelCase keys are read from the VS Code settings (``tapps.*``),
``initializationOptions``, ``workspace/configuration`` (section ``tapps``),
``[tool.tapps-lsp]`` in pyproject.toml, and, for weights and thresholds,
``.tapps-agents/config.yaml``. A bad value never crashes anything: it is
reported by key and replaced by the default. Validation is in
`settings_check`, merging the sources in `settings_merge`, reading a
workspace's files in `settings_sources`, the docs table in `settings_docs`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
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


# The log levels by their names in logLevel and TAPPS_LSP_LOG_LEVEL: the one table.
LOG_LEVELS = {
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}

ENUMS: dict[str, tuple[str, ...]] = {
    "run": ("onSave", "onType"),
    "securityEngine": ("bandit", "ruff"),
    "logLevel": tuple(LOG_LEVELS),
}

BOUNDS: dict[str, tuple[float, float]] = {
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


def default_value(name: str) -> Any:
    """The default of setting `name` (a fresh copy for a list or a mapping)."""
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
JOBS_CEILING = min(int(BOUNDS["jobs"][1]), 2 * CPU_COUNT)

# The most items a list or mapping setting keeps, and the longest string any setting keeps.
MAX_ITEMS = 500
MAX_STRING = 256

# The environment variable that sets each machine limit (TAPPS_LSP_MAX_FILE_SIZE, ...).
ENV_LIMITS: dict[str, str] = {
    key: "TAPPS_LSP_" + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()
    for key in sorted(MACHINE_LIMITS)
}

# Keys that belong to an editor client and are not server settings.
CLIENT_ONLY_KEYS = frozenset({"interpreter", "trace", "trace.server", "path", "enable"})


def env_log_level() -> str:
    """`TAPPS_LSP_LOG_LEVEL`, lower-cased, default info."""
    return os.environ.get("TAPPS_LSP_LOG_LEVEL", "info").lower()
