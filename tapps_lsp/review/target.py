"""The Python a project targets, and syntax newer than the server's Python.

A project says which Python it runs on in ruff's `target-version`
(`.ruff.toml`, `ruff.toml`, or `[tool.ruff]` in pyproject.toml, in ruff's
order) or, failing that, in `[project] requires-python`, whose lowest
allowed version counts, as ruff reads it. The engine parses with that
version (`ast.parse(feature_version=...)`, as far as the server's Python
allows) and ruff checks for it (`--target-version`), so syntax the project's
Python rejects is an error.

A file can also use syntax newer than the Python the server runs on (a
`type` statement on 3.11). ruff still reads it; our parse cannot, so the
categories that need it are not measured and the file says which Python
would measure them (`newer_syntax`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

from tapps_lsp.safe_io import CONFIG_CAP, read_text_inside

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI
    import tomli as tomllib

# The feature versions ruff knows (its --target-version values), lowest and highest.
RUFF_OLDEST = (3, 7)
RUFF_NEWEST = (3, 15)
# ast.parse's lowest feature_version.
AST_OLDEST = (3, 4)

SERVER = sys.version_info[:2]

# The scoring categories that need our own parse of the file.
PARSED_CATEGORIES = ("complexity", "maintainability", "security", "performance")

_RUFF_TARGET = re.compile(r"py3(\d{1,2})")
_LOWER_BOUND = re.compile(r"(>=|~=|==|>)\s*3\.(\d{1,2})")
_ADDED_IN = re.compile(r"syntax was added in Python 3\.(\d{1,2})")


def project_python(root: Path) -> tuple[str, str] | None:
    """(version "3.12", where it was read) for the project at `root`, or None.

    Files are read inside `root` only (safe_io); a file that cannot be read or
    parsed is passed over, as ruff would fail on it anyway.
    """
    found = python_settings(root)
    if found is None or "pythonVersion" not in found[0]:
        return None
    return found[0]["pythonVersion"], found[1]


def python_settings(root: Path) -> tuple[dict[str, Any], str] | None:
    """The settings the project at `root` gives: pythonVersion (ruff's `target-version`,
    else `requires-python`) and pythonVersionPerFile (ruff's `per-file-target-version`),
    with where they were read; None when it gives neither."""
    values: dict[str, Any] = {}
    where = []
    ruff, name = _ruff_section(root)
    if ruff is not None:
        per_file = _per_file(ruff)
        if per_file:
            values["pythonVersionPerFile"] = per_file
            where.append(f"{name} per-file-target-version")
        found = _ruff_target(ruff)
        if found:
            values["pythonVersion"] = found
            where.append(f"{name} target-version")
    if "pythonVersion" not in values:
        data = _toml(root, "pyproject.toml") or {}
        project = data.get("project")
        requires = project.get("requires-python") if isinstance(project, Mapping) else None
        found = lowest_python(requires) if isinstance(requires, str) else None
        if found:
            values["pythonVersion"] = found
            where.append("pyproject.toml requires-python")
    return (values, ", ".join(where)) if values else None


def _ruff_section(root: Path) -> tuple[Mapping[str, Any] | None, str]:
    """ruff's configuration at `root`, in ruff's order: .ruff.toml, ruff.toml, [tool.ruff]."""
    for name in (".ruff.toml", "ruff.toml"):
        data = _toml(root, name)
        if data is not None:
            return data, name
    data = _toml(root, "pyproject.toml") or {}
    tool = data.get("tool")
    ruff = tool.get("ruff") if isinstance(tool, Mapping) else None
    return (ruff, "pyproject.toml [tool.ruff]") if isinstance(ruff, Mapping) else (None, "")


def _per_file(section: Mapping[str, Any]) -> dict[str, str]:
    table = section.get("per-file-target-version")
    if not isinstance(table, Mapping):
        return {}
    out = {}
    for pattern, value in table.items():
        found = _RUFF_TARGET.fullmatch(value) if isinstance(value, str) else None
        if isinstance(pattern, str) and found:
            out[pattern] = f"3.{found.group(1)}"
    return out


def version_for(path: str, default: str, per_file: Mapping[str, str]) -> str:
    """The Python of the file at `path`: the first per-file glob matching the end of its
    path (`tests/test_x.py`, `*_py310.py`; `**` as `*`), else `default`."""
    if not per_file:
        return default
    posix = PurePosixPath(path.replace("\\", "/"))
    for pattern, version in per_file.items():
        try:
            if posix.match(pattern) or fnmatch(posix.as_posix(), "*/" + pattern.lstrip("/")):
                return version
        except ValueError:  # an empty pattern matches nothing
            continue
    return default


def _toml(root: Path, name: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(read_text_inside(root, root / name, CONFIG_CAP))
    except (OSError, ValueError, RecursionError):
        return None


def _ruff_target(section: Mapping[str, Any]) -> str | None:
    value = section.get("target-version")
    found = _RUFF_TARGET.fullmatch(value) if isinstance(value, str) else None
    return f"3.{found.group(1)}" if found else None


def lowest_python(requires: str) -> str | None:
    """The lowest 3.x a `requires-python` specifier allows: ">=3.9,<4" gives "3.9"."""
    bounds = [int(minor) for _, minor in _LOWER_BOUND.findall(requires)]
    return f"3.{max(bounds)}" if bounds else None


def version_tuple(version: str) -> tuple[int, int] | None:
    """ "3.12" -> (3, 12); "" or anything else -> None."""
    found = re.fullmatch(r"3\.(\d{1,2})", version or "")
    return (3, int(found.group(1))) if found else None


def feature_version(version: str) -> tuple[int, int] | None:
    """What `ast.parse(feature_version=...)` gets: the project's Python within what ours
    parses, or None (ours) when the project names none or a newer one."""
    wanted = version_tuple(version)
    if wanted is None or wanted >= SERVER:
        return None
    return max(wanted, AST_OLDEST)


def ruff_target(version: str) -> str | None:
    """The `--target-version` given to ruff ("py312"), within the versions ruff knows."""
    wanted = version_tuple(version)
    if wanted is None:
        return None
    wanted = min(max(wanted, RUFF_OLDEST), RUFF_NEWEST)
    return f"py{wanted[0]}{wanted[1]}"


def newer_syntax(ruff_rows: list[dict[str, Any]]) -> str | None:
    """The Python that a file's syntax needs, from ruff run with `--target-version` set
    to the server's Python: "3.12", or None when ruff names no newer syntax."""
    minors = [
        int(found.group(1))
        for row in ruff_rows
        if (found := _ADDED_IN.search(str(row.get("message") or "")))
    ]
    return f"3.{max(minors)}" if minors else None


def parse_rows(stdout: bytes) -> list[dict[str, Any]]:
    """ruff's JSON output as rows; anything else as none."""
    try:
        rows = json.loads(stdout or b"[]")
    except ValueError:
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def server_python() -> str:
    """The server's own Python, "3.11"."""
    return f"{SERVER[0]}.{SERVER[1]}"
