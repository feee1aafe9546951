"""The corpora: the machine's standard library without its tests, and one ~700-line file."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SINGLE_FILE = STDLIB / "pprint.py"

# Test suites and third-party packages are not "the standard library" a user
# would review: test/, tests/, idlelib/idle_test, lib2to3/tests, ctypes/test ...
_EXCLUDED_PARTS = {"test", "tests", "idle_test", "site-packages", "__pycache__"}


def stdlib_files(root: Path = STDLIB) -> list[Path]:
    """The .py files of the standard library, tests excluded, in a stable order."""
    files = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if _EXCLUDED_PARTS.isdisjoint(relative.parts[:-1]) and path.is_file():
            files.append(relative)
    return sorted(files)


def copy_corpus(destination: Path, *, limit: int | None = None, root: Path = STDLIB) -> list[Path]:
    """Copies the corpus into `destination` (a workspace folder of its own).

    A copy rather than the installed tree, so that the server's workspace
    holds exactly the measured files and the peers run on the same ones.
    `limit` keeps every n-th file for a quick run that still spans the tree.
    """
    files = stdlib_files(root)
    if limit is not None and limit < len(files):
        step = len(files) / limit
        files = [files[int(index * step)] for index in range(limit)]
    copied = []
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)
        copied.append(target)
    return copied


def line_count(paths: list[Path]) -> int:
    return sum(path.read_bytes().count(b"\n") for path in paths)
