"""Validating one setting's value: its type, its bounds and enums, and caps on its size.

`check` answers (value to use, problem or None). A value of which nothing can
be used is `UNSET` (the caller names the default); a value cut to size or to
its ceiling comes with a problem saying so. Untrusted values are shown with
`safe_io.brief`, never whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from tapps_lsp.config import (
    BOUNDS,
    CATEGORIES,
    ENUMS,
    JOBS_CEILING,
    MACHINE_LIMITS,
    MAX_ITEMS,
    MAX_STRING,
    SEVERITIES,
    default_value,
)
from tapps_lsp.safe_io import brief

# `check`'s answer for a value of which nothing can be used.
UNSET: Any = object()

# A Python version as pythonVersion takes it.
_PYTHON = re.compile(r"3\.\d{1,2}")

Checked = tuple[Any, str | None]


def show_value(value: Any, limit: int = 80) -> str:
    """A value from a settings source, bounded for a message."""
    try:
        return brief(value, limit)
    except ValueError:  # an int too long to convert to text
        return f"<{type(value).__name__}>"


def key_names(keys: list[Any], shown: int = 5) -> str:
    """The first few of many keys, each cut short, and how many more there are."""
    names = ", ".join(show_value(str(k), 40).strip("'\"") for k in keys[:shown])
    return names + (f" and {len(keys) - shown:,} more" if len(keys) > shown else "")


def _wrong_type(kind: type, value: Any) -> tuple[Any, str]:
    name = "list of strings" if kind is list else kind.__name__
    return UNSET, f"expected {name}, got {type(value).__name__} {show_value(value)}"


def check(name: str, value: Any) -> Checked:
    """Validate one value of setting `name`: (value to use, problem or None).

    The value is `UNSET` when none of it can be used (`merge` then names the
    default); a value cut to size or to its ceiling comes with a
    problem saying so. Untrusted values are shown with `brief`, never whole.
    """
    kind = type(default_value(name))
    if kind is bool:
        return (value, None) if isinstance(value, bool) else _wrong_type(kind, value)
    if kind in (int, float):
        return _check_number(name, value, kind)
    if kind is str:
        return _check_string(name, value)
    if kind is list:
        return _check_list(value)
    return _check_mapping(name, value)


def _as_number(value: Any, kind: type) -> Any:
    """`value` as an int or a float setting takes it, or UNSET when it is not one."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return UNSET
    if kind is int and isinstance(value, float):
        return int(value) if value.is_integer() else UNSET
    if kind is float:
        try:
            return float(value)
        except OverflowError:  # an int too large for a float
            return math.inf if value > 0 else -math.inf
    return value


def _check_number(name: str, value: Any, kind: type) -> Checked:
    number = _as_number(value, kind)
    if number is UNSET:
        return _wrong_type(kind, value)
    lo, hi = BOUNDS.get(name, (-math.inf, math.inf))
    if name == "jobs":
        hi = JOBS_CEILING
    if name in MACHINE_LIMITS and number > hi:
        return kind(hi), f"{show_value(number)} is above the ceiling {_bound(hi)}; using it"
    if not lo <= number <= hi:
        return UNSET, f"{show_value(number)} is outside {_bound(lo)}..{_bound(hi)}"
    return number, None


def _bound(number: float) -> str:
    """A bound as people write it: 67108864 and 0.1, not 6.71089e+07."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _check_string(name: str, value: Any) -> Checked:
    if not isinstance(value, str):
        return _wrong_type(str, value)
    if name in ENUMS and value not in ENUMS[name]:
        return UNSET, f"{show_value(value)} is not one of {', '.join(ENUMS[name])}"
    if len(value) > MAX_STRING:
        return UNSET, f"{len(value):,} characters, over the limit of {MAX_STRING}"
    if name == "pythonVersion" and value and not _PYTHON.fullmatch(value):
        return UNSET, f'{show_value(value)} is not a Python version like "3.12"'
    return value, None


def _check_list(value: Any) -> Checked:
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


def _check_mapping(name: str, value: Any) -> Checked:
    if not isinstance(value, Mapping):
        return _wrong_type(dict, value)
    if name == "weights":
        return _check_weights(value)
    problem = _bad_entries(name, value)
    if problem is not None:
        return UNSET, problem
    return _cap_mapping(value)


def _bad_entries(name: str, value: Mapping[Any, Any]) -> str | None:
    """Why the values of a mapping of Python versions or severities are unusable, or None."""
    if name == "pythonVersionPerFile":
        bad = [k for k, v in value.items() if not isinstance(v, str) or not _PYTHON.fullmatch(v)]
        if bad:
            return f'Python for {key_names(bad)} is not a version like "3.12"'
    if name == "severityOverrides":
        bad = [k for k, v in value.items() if not isinstance(v, str) or v not in SEVERITIES]
        if bad:
            return f"severity for {key_names(bad)} is not one of " + ", ".join(SEVERITIES)
    return None


def _cap_mapping(value: Mapping[Any, Any]) -> Checked:
    """The mapping without keys too long to keep and entries beyond MAX_ITEMS."""
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


def _check_weights(value: Mapping[Any, Any]) -> Checked:
    bad = [
        k
        for k, v in value.items()
        if k not in CATEGORIES
        or not isinstance(v, int | float)
        or isinstance(v, bool)
        or not 0 <= v < math.inf
    ]
    if bad:
        return UNSET, f"unknown category or bad weight for {key_names(bad)}"
    merged = {c: 0.0 for c in CATEGORIES}
    merged.update({k: float(v) for k, v in value.items()})
    return merged, None
