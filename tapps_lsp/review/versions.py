"""The versions of tapps-lsp and of the analyzers installed beside it: one list for all.

The cache fingerprint (`cache.keys`), the reports' `analyzers` and
`tapps-lsp --version` read it. Kept out of the engine module so that
reading it imports no analyzer.
"""

from __future__ import annotations

import functools
import importlib.metadata

from tapps_lsp import __version__

# The analyzers' distributions, in the order they are shown.
ANALYZERS = ("ruff", "radon", "bandit", "mypy")


@functools.cache
def tool_versions() -> dict[str, str]:
    """Versions of tapps-lsp and each installed analyzer (a missing one is left out).

    Read once per process from package metadata (about 1 ms each) rather than
    by running the tools; the engine only ever runs the copies installed with it.
    """
    versions = {"tapps-lsp": __version__}
    for name in ANALYZERS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions
