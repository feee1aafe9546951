"""Merging settings sources, later ones winning, under the rules for a workspace's own files.

A workspace folder's own files (`[tool.tapps-lsp]`, `.tapps-agents/config.yaml`)
are untrusted input: a cloned repository writes them. They may lower the
MACHINE_LIMITS, never raise them, and may not set the USER_ONLY keys. The
user's own sources (editor user settings, the environment, command-line
flags) may set anything the schema accepts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tapps_lsp.config import (
    CLIENT_ONLY_KEYS,
    CPU_COUNT,
    ENV_LIMITS,
    FIELDS,
    MACHINE_LIMITS,
    USER_ONLY,
    Settings,
    default_value,
)
from tapps_lsp.settings_check import UNSET, check, key_names, show_value

# Problems shown per settings load; the others are counted in one more message.
MAX_PROBLEMS = 5


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
        value, problem = check(key, raw)
        if value is UNSET:
            problems.append(
                f"{prefix}tapps.{key}: {problem}; using the default {default_value(key)!r}"
            )
        elif source.workspace and key in MACHINE_LIMITS:
            # Compared with the user's value once every source is in (`_lower_limits`).
            lowered[key] = (value, raw, source.origin)
        else:
            if problem:
                problems.append(f"{prefix}tapps.{key}: {problem}")
            values[key] = value
    if len(unknown) == 1:
        problems.append(f"{prefix}tapps.{key_names(unknown)}: unknown setting, ignored")
    elif unknown:
        problems.append(f"{prefix}{len(unknown):,} unknown settings ignored: {key_names(unknown)}")
    if refused:
        problems.append(
            f"{prefix}{key_names(refused)}: only your own settings (editor user settings, "
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
        in_force = values.get(key, default_value(key))
        if _amount(key, raw) <= _amount(key, in_force):
            values[key] = value
            continue
        shown = f"{in_force!r}" + (" (one per core)" if key == "jobs" and in_force == 0 else "")
        problems.append(
            f"{origin}: tapps.{key} = {show_value(raw)} refused: a workspace may lower this limit, "
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
            problems.append(f"{variable}: {show_value(text)} is not a number; ignored")
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
