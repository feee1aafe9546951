"""Which files a workspace review covers.

All `.py` files under a root, minus what `.gitignore` files (the root's and
nested ones), the `exclude` globs and a fixed list of tool folders leave out.
The walk never leaves the root through a symlink and never enters a folder
twice, so symlink loops end.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pathspec

# Folders that hold tools, environments or build output, never the project's own code.
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
    }
)


class _Ignores:
    """The .gitignore files that apply to one folder, deepest last."""

    def __init__(self, chain: tuple[tuple[str, pathspec.GitIgnoreSpec], ...]):
        self.chain = chain

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Git's rule: the deepest .gitignore with a matching pattern decides."""
        for base, spec in reversed(self.chain):
            sub = rel[len(base) :] if base else rel
            result = spec.check_file(sub + "/" if is_dir else sub)
            if result.include is not None:
                return result.include
        return False

    def entering(self, directory: str, rel: str) -> _Ignores:
        spec = _read_gitignore(os.path.join(directory, ".gitignore"))
        if spec is None:
            return self
        return _Ignores((*self.chain, (rel + "/" if rel else "", spec)))


def _read_gitignore(path: str) -> pathspec.GitIgnoreSpec | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
    except OSError:  # none, or unreadable: nothing to honour
        return None


def _is_environment(directory: str) -> bool:
    """A virtual environment, whatever its name: it holds a pyvenv.cfg."""
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))


def discover(
    root: Path,
    exclude: list[str] | None = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    """The `.py` files a review of `root` covers, sorted.

    `exclude` holds gitignore-syntax globs relative to `root`. Paths are
    returned under `root` as given (not resolved), so they read the way the
    user wrote the root. Folders that cannot be listed are reported through
    `warn` and skipped.
    """
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude or [])
    real_root = os.path.realpath(root)
    found: list[str] = []
    try:
        root_stat = os.stat(real_root)
    except OSError as exc:
        if warn:
            warn(f"cannot read {root}: {exc.strerror or exc}")
        return []
    seen = {(root_stat.st_dev, root_stat.st_ino)}
    # Each entry: (folder path as shown, path relative to root, ignores in force).
    stack = [(str(root), "", _Ignores(()).entering(str(root), ""))]
    # Symlinked folders wait until every real folder is walked, so that the
    # real path, not the alias, is the one reported for a folder reached twice.
    linked: list[tuple[str, str, _Ignores]] = []
    while stack or linked:
        if not stack:
            linked.sort(key=lambda item: item[0], reverse=True)
            path, rel, ignores = linked.pop()
            identity = _directory_identity(path, real_root)
            if identity is not None and identity not in seen:
                seen.add(identity)
                stack.append((path, rel, ignores.entering(path, rel)))
            continue
        directory, rel_dir, ignores = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            if warn:
                warn(f"cannot list {directory}: {exc.strerror or exc}")
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir()
                is_link = entry.is_symlink()
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIPPED_DIRS or excluded.match_file(rel + "/"):
                    continue
                if ignores.ignored(rel, is_dir=True) or _is_environment(entry.path):
                    continue
                if is_link:
                    linked.append((entry.path, rel, ignores))
                    continue
                identity = _directory_identity(entry.path, real_root)
                if identity is None or identity in seen:
                    continue
                seen.add(identity)
                stack.append((entry.path, rel, ignores.entering(entry.path, rel)))
            elif entry.name.endswith(".py"):
                if excluded.match_file(rel) or ignores.ignored(rel, is_dir=False):
                    continue
                if is_link and not _inside(os.path.realpath(entry.path), real_root):
                    continue
                found.append(entry.path)
    found.sort()
    return [Path(p) for p in found]


def _inside(path: str, real_root: str) -> bool:
    return path == real_root or path.startswith(real_root.rstrip(os.sep) + os.sep)


def _directory_identity(path: str, real_root: str) -> tuple[int, int] | None:
    """(st_dev, st_ino) of a folder to enter, or None when it leads out of the root."""
    try:
        if not _inside(os.path.realpath(path), real_root):
            return None
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
