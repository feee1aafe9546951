"""The folders no review looks into: tools, environments and build output.

Its own module so that project.py's search for test files takes the list
without importing discovery's pattern matchers (pathspec, google-re2,
hyperscan): the language server scores a file at start-up long before
anything asks it to walk a workspace (issue 17).
"""

from __future__ import annotations

# Folders that hold tools, environments or build output, never the project's own code
# or tests: the one list discovery and project.py's search for test files skip.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "site-packages",
        ".eggs",
    }
)
