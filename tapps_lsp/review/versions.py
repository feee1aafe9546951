"""The versions of tapps-lsp and of the analyzers installed beside it: one list for all.

The cache fingerprint (`cache.keys`), the reports' `analyzers` and
`tapps-lsp --version` read it. Kept out of the engine module so that
reading it imports no analyzer.

The language server needs it for its first cache lookup, so it is read from the
`.dist-info` and `.egg-info` metadata on `sys.path` directly, as `importlib.metadata`
finds it: importing that (with the email parser, zipfile and csv) cost each start
15-25 ms and 1.3 MB. It still answers for a distribution inside a zip file.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass, field

from tapps_lsp import __version__

# The analyzers' distributions, in the order they are shown.
ANALYZERS = ("ruff", "radon", "bandit", "mypy")

# Metadata folders (or files) on sys.path and the file in them that holds the version.
_METADATA = {".dist-info": "METADATA", ".egg-info": "PKG-INFO"}


def _normalized(name: str) -> str:
    """A distribution name as its metadata folder spells it (PEP 503, `_` for runs)."""
    return re.sub(r"[-_.]+", "_", name).lower()


@dataclass
class _Found:
    """The metadata files on `sys.path` by normalized name (the first one wins, as with
    `importlib.metadata`), and whether a zip file on it may hold more."""

    files: dict[str, str] = field(default_factory=dict)
    zipped: bool = False


def _metadata_files() -> _Found:
    found = _Found()
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except NotADirectoryError:  # a zip file
            found.zipped = True
            continue
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            inside = _METADATA.get(dot + suffix)
            if inside is None:
                continue
            path = os.path.join(entry or ".", name)
            if suffix == "egg-info" and not os.path.isdir(path):
                inside = ""  # an .egg-info file is the PKG-INFO itself
            key = _normalized(stem.partition("-")[0])
            found.files.setdefault(key, os.path.join(path, inside) if inside else path)
    return found


def _metadata_version(path: str) -> str | None:
    """The `Version:` header of a METADATA file (its headers end at the first blank line)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as metadata:
            for line in metadata:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() == "version":
                    return value.strip() or None
    except OSError:
        return None
    return None


def installed_version(name: str, found: _Found | None = None) -> str | None:
    """The installed version of distribution `name`, or None when it is not installed."""
    found = _metadata_files() if found is None else found
    path = found.files.get(_normalized(name))
    if path is not None:
        return _metadata_version(path)
    if not found.zipped:
        return None
    import importlib.metadata  # a distribution inside a zip file: the general answer

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def tool_versions() -> dict[str, str]:
    """Versions of tapps-lsp and each installed analyzer (a missing one is left out).

    Read once per process from package metadata (a millisecond for all) rather than
    by running the tools; the engine only ever runs the copies installed with it.
    """
    versions = {"tapps-lsp": __version__}
    found = _metadata_files()
    for name in ANALYZERS:
        version = installed_version(name, found)
        if version is not None:
            versions[name] = version
    return versions
