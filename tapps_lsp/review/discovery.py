"""Which files a workspace review covers.

All `.py` files under a root, minus what `.gitignore` files (the root's and
nested ones), the `exclude` globs and a fixed list of tool folders leave out.

A cloned repository is untrusted input, so the walk is bounded:

- it never leaves the root through a symlink and never enters a folder twice
  (folders are known by `(st_dev, st_ino)`), so symlink loops end; only a
  symlinked folder costs a `realpath`, so a deep tree is walked in linear time;
- folders deeper than `MAX_DEPTH` levels are not entered (one message);
- `.gitignore` files are read through `safe_io` (regular files only, never a
  symlink, a FIFO or a device; at most 1 MiB);
- patterns are matched (review/gitignore.py) by google-re2 (linear time). A pattern re2 cannot take
  falls back to Python's `re` only when it has at most `PYTHON_WILDCARDS`
  variable-length wildcards, so no pattern can backtrack catastrophically; any
  other is skipped with a message. At most `MAX_PATTERNS` patterns are taken
  from one workspace (the `exclude` setting and every `.gitignore`), and the
  patterns of one source that cost more than `MATCH_BUDGET` seconds of CPU in
  slow matches (patterns built to defeat re2's DFA cache) are dropped for the
  rest of the walk, with a message;
- an odd entry (a name that is not UTF-8, a file that vanishes) is reported
  and skipped: it never stops the walk. At most `MAX_MESSAGES` messages per walk.
"""

from __future__ import annotations

import os
from pathlib import Path

from tapps_lsp.review.gitignore import (
    Budget,
    Ignores,
    Reporter,
    Rules,
    Warn,
    as_text,
    compile_rules,
)
from tapps_lsp.review.tool_dirs import SKIPPED_DIRS
from tapps_lsp.safe_io import brief

# Folder levels below the root that a walk enters.
MAX_DEPTH = 256


def _is_environment(directory: str) -> bool:
    """A virtual environment, whatever its name: it holds a pyvenv.cfg."""
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))


def discover(
    root: Path,
    exclude: list[str] | None = None,
    *,
    warn: Warn | None = None,
) -> list[Path]:
    """The `.py` files a review of `root` covers, sorted (`discover_names` as paths)."""
    return [Path(p) for p in discover_names(root, exclude, warn=warn)]


def discover_names(
    root: Path,
    exclude: list[str] | None = None,
    *,
    warn: Warn | None = None,
) -> list[str]:
    """The `.py` files a review of `root` covers, sorted, as strings.

    `exclude` holds gitignore-syntax globs relative to `root`. Paths are
    returned under `root` as given (not resolved), so they read the way the
    user wrote the root. Folders that cannot be listed, `.gitignore` files
    that are not read, patterns that are not applied and entries that cannot
    be examined are reported through `warn` and skipped.
    """
    report = Reporter(warn)
    walk = _Walk(root, report)
    try:
        found = walk.run(exclude or [])
    finally:
        walk.budget.close(str(root))
        report.close(str(root))
    found.sort()
    return found


class _Walk:
    """One walk of a root (see the module docstring for its bounds)."""

    def __init__(self, root: Path, report: Reporter) -> None:
        self.root = str(root)
        self.real_root = os.path.realpath(root)
        self.report = report
        self.budget = Budget(report)
        self.seen: set[tuple[int, int]] = set()
        self.found: list[str] = []
        self.excluded: Rules | None = None
        # Each entry: (folder path as shown, path relative to root, depth, ignores in force).
        self.stack: list[tuple[str, str, int, Ignores]] = []
        # Symlinked folders wait until every real folder is walked, so that the
        # real path, not the alias, is the one reported for a folder reached twice.
        self.linked: list[tuple[str, str, int, Ignores]] = []

    def run(self, exclude: list[str]) -> list[str]:
        try:
            root_stat = os.stat(self.real_root)
        except OSError as exc:
            self.report(f"cannot read {self.root}: {exc.strerror or exc}")
            return []
        self.seen.add((root_stat.st_dev, root_stat.st_ino))
        self.excluded = compile_rules(exclude, "the exclude setting", self.budget)
        ignores = Ignores((), self.budget).entering(self.root, "")
        self.stack.append((self.root, "", 0, ignores))
        while self.stack or self.linked:
            if self.stack:
                self._list(*self.stack.pop())
            else:
                self._follow_link()
        return self.found

    def _follow_link(self) -> None:
        self.linked.sort(key=lambda item: item[0], reverse=True)
        path, rel, depth, ignores = self.linked.pop()
        try:
            st = os.stat(path)
        except OSError:
            return  # a dangling link
        identity = (st.st_dev, st.st_ino)
        if identity in self.seen or not _inside(os.path.realpath(path), self.real_root):
            return
        self.seen.add(identity)
        self.stack.append((path, rel, depth, ignores.entering(path, as_text(rel))))

    def _list(self, directory: str, rel_dir: str, depth: int, ignores: Ignores) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            self.report(f"cannot list {brief(as_text(directory))}: {exc.strerror or exc}")
            return
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                self._entry(entry, rel, depth, ignores)
            except (OSError, ValueError) as exc:  # one odd entry never stops the walk
                self.report(f"skipped {brief(as_text(entry.path))}: {exc}")

    def _entry(self, entry: os.DirEntry[str], rel: str, depth: int, ignores: Ignores) -> None:
        try:
            is_dir = entry.is_dir()
            is_link = entry.is_symlink()
        except OSError:
            return  # gone since the listing
        text = as_text(rel)
        if is_dir:
            self._folder(entry, rel, text, depth + 1, ignores, is_link)
        elif entry.name.endswith(".py"):
            if self._skipped(text, ignores, is_dir=False):
                return
            if is_link and not _inside(os.path.realpath(entry.path), self.real_root):
                return
            self.found.append(entry.path)

    def _skipped(self, text: str, ignores: Ignores, *, is_dir: bool) -> bool:
        key = text + "/" if is_dir else text
        if self.excluded is not None and self.excluded.check(key):
            return True
        return ignores.ignored(text, is_dir=is_dir)

    def _folder(
        self,
        entry: os.DirEntry[str],
        rel: str,
        text: str,
        depth: int,
        ignores: Ignores,
        link: bool,
    ) -> None:
        if entry.name in SKIPPED_DIRS or self._skipped(text, ignores, is_dir=True):
            return
        if _is_environment(entry.path):
            return
        if depth > MAX_DEPTH:
            self.report.once(
                "depth",
                f"{self.root}: folders more than {MAX_DEPTH} levels deep are not reviewed "
                f"(the first: {brief(text)})",
            )
            return
        if link:
            self.linked.append((entry.path, rel, depth, ignores))
            return
        # A real folder under a folder inside the root is inside too: no realpath.
        st = entry.stat()
        identity = (st.st_dev, st.st_ino)
        if identity in self.seen:
            return  # a bind mount of a folder already walked
        self.seen.add(identity)
        self.stack.append((entry.path, rel, depth, ignores.entering(entry.path, text)))


def _inside(path: str, real_root: str) -> bool:
    return path == real_root or path.startswith(real_root.rstrip(os.sep) + os.sep)
