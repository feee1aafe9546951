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
- patterns are matched by google-re2 (linear time). A pattern re2 cannot take
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
import time
from collections.abc import Callable
from pathlib import Path

import pathspec

from tapps_lsp.safe_io import CONFIG_CAP, UnsafeRead, brief, read_regular

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

# Patterns taken from one workspace: the `exclude` setting plus every .gitignore.
MAX_PATTERNS = 10_000
# Folder levels below the root that a walk enters.
MAX_DEPTH = 256
# Variable-length wildcards (`*`, `**` and the implicit "any folder" of a pattern
# without a slash) a pattern may have when Python's backtracking `re` matches it:
# two keep a match quadratic in the path's length at worst.
PYTHON_WILDCARDS = 2
# Messages one walk sends; the rest are counted in one last message.
MAX_MESSAGES = 20
# Patterns per re2 set, and characters of pattern text: a bigger set can run out of
# re2's memory budget, and one match costs at most the path's length times the set's size.
_GROUP = 256
_GROUP_CHARS = 2048
# re2 matches in linear time, but patterns built to defeat its DFA cache make each
# match cost the path's length times the size of the patterns. A check that takes
# more than _SLOW_CHECK seconds of CPU counts against MATCH_BUDGET seconds per source
# and walk; past it, that source's patterns are dropped for the rest of the walk (one
# message). An ordinary check takes microseconds.
_SLOW_CHECK = 0.002
MATCH_BUDGET = 2.0


def _re2_problem() -> str | None:
    """Why google-re2 cannot match patterns here, or None when it can."""
    try:
        pathspec.GitIgnoreSpec.from_lines(["*.py"], backend="re2")
    except Exception as exc:  # ImportError, or a broken binding
        return f"{type(exc).__name__}: {exc}"
    return None


RE2_PROBLEM = _re2_problem()

Warn = Callable[[str], None]


class _Reporter:
    """Passes at most MAX_MESSAGES messages on, then counts the rest."""

    def __init__(self, warn: Warn | None) -> None:
        self._warn = warn
        self._sent = 0
        self._held = 0
        self._once: set[str] = set()

    def __call__(self, message: str) -> None:
        if self._warn is None:
            return
        if self._sent < MAX_MESSAGES:
            self._sent += 1
            self._warn(message)
        else:
            self._held += 1

    def once(self, key: str, message: str) -> None:
        """`message`, the first time `key` comes up in this walk."""
        if key not in self._once:
            self._once.add(key)
            self(message)

    def always(self, message: str) -> None:
        """A message sent whatever the cap (one per walk at most)."""
        if self._warn is not None:
            self._warn(message)

    def close(self, root: str) -> None:
        if self._held:
            self.always(f"{root}: {self._held} more discovery problems not shown")


class _Budget:
    """The patterns one workspace may still contribute."""

    def __init__(self, report: _Reporter) -> None:
        self.left = MAX_PATTERNS
        self.dropped = 0
        self.report = report

    def take(self, lines: list[str]) -> list[str]:
        patterns = [line for line in lines if line.strip() and not line.startswith("#")]
        kept = patterns[: self.left]
        self.dropped += len(patterns) - len(kept)
        self.left -= len(kept)
        return kept

    def close(self, root: str) -> None:
        if self.dropped:
            self.report.always(
                f"{root}: {self.dropped:,} .gitignore/exclude patterns beyond the first "
                f"{MAX_PATTERNS:,} of this workspace are not applied"
            )


def _wildcards(spec: pathspec.GitIgnoreSpec) -> int:
    """Variable-length pieces of the regular expressions of a spec (see PYTHON_WILDCARDS)."""
    most = 0
    for pattern in spec.patterns:
        regex = getattr(getattr(pattern, "regex", None), "pattern", "")
        if isinstance(regex, str):
            most = max(most, regex.count("[^/]*") + regex.count(".+") + regex.count(".*"))
    return most


class _Rules:
    """Gitignore-syntax patterns from one source, matched without catastrophic backtracking.

    The patterns are split into consecutive groups; the last group with a
    matching pattern decides, as the last matching pattern does in git.
    """

    def __init__(self, source: str, budget: _Budget) -> None:
        self.source = source
        self.budget = budget
        self.groups: list[pathspec.GitIgnoreSpec] = []
        self._python: list[str] = []
        self.slow = 0.0
        self._suspect = False

    def check(self, text: str) -> bool | None:
        """True: ignored; False: re-included (`!`); None: no pattern matches."""
        # A check is timed by the wall clock (cheap); after a slow one, by this thread's
        # CPU time (a microsecond a call), which alone counts: waiting for the GIL or a
        # core is not the patterns' cost.
        clock = time.thread_time if self._suspect else time.perf_counter
        started = clock()
        result = None
        for spec in reversed(self.groups):
            result = spec.check_file(text).include
            if result is not None:
                break
            if self._suspect and self.slow + clock() - started > MATCH_BUDGET:
                break  # over the budget in the middle of one check
        took = clock() - started
        if took > _SLOW_CHECK and self._suspect:
            self._over_budget(took)
        self._suspect = took > _SLOW_CHECK
        return result

    def _over_budget(self, took: float) -> None:
        self.slow += took
        if self.slow > MATCH_BUDGET and self.groups:
            self.groups = []
            self.budget.report(
                f"{self.source}: its patterns took {self.slow:.1f} s to match, over the "
                f"budget of {MATCH_BUDGET:g} s; not applied for the rest of this walk"
            )

    def add(self, lines: list[str]) -> None:
        """Compile `lines` with re2, group by group; what re2 refuses goes one by one."""
        for group in _groups(lines):
            if RE2_PROBLEM is None:
                self._add_re2(group)
            else:
                for line in group:
                    self._add_python(line)
        self._flush_python()

    def _add_re2(self, lines: list[str]) -> None:
        try:
            spec = pathspec.GitIgnoreSpec.from_lines(lines, backend="re2")
        except Exception:  # re2 refuses one of them, or one is no valid pattern
            if len(lines) == 1:
                self._add_python(lines[0])
            else:
                half = len(lines) // 2
                self._add_re2(lines[:half])
                self._add_re2(lines[half:])
            return
        self._flush_python()
        self.groups.append(spec)

    def _add_python(self, line: str) -> None:
        try:
            spec = pathspec.GitIgnoreSpec.from_lines([line], backend="simple")
        except Exception as exc:
            self.budget.report(f"{self.source}: {brief(line)} is not a valid pattern ({exc!s:.80})")
            return
        wildcards = _wildcards(spec)
        if wildcards > PYTHON_WILDCARDS:
            why = "google-re2 cannot compile it" if RE2_PROBLEM is None else "google-re2 is missing"
            self.budget.report(
                f"{self.source}: pattern {brief(line)} is not applied: {why}, and with "
                f"{wildcards} wildcards it could take Python's matcher hours"
            )
            return
        self._python.append(line)

    def _flush_python(self) -> None:
        if self._python:
            self.groups.append(pathspec.GitIgnoreSpec.from_lines(self._python, backend="simple"))
            self._python = []


def _groups(lines: list[str]) -> list[list[str]]:
    """Consecutive runs of at most _GROUP patterns and about _GROUP_CHARS characters."""
    groups: list[list[str]] = []
    size = _GROUP_CHARS
    for line in lines:
        if size + len(line) > _GROUP_CHARS or len(groups[-1]) >= _GROUP:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += len(line)
    return groups


def _rules(lines: list[str], source: str, budget: _Budget) -> _Rules | None:
    """The rules of `lines` within the workspace's budget; None when there are none."""
    rules = _Rules(source, budget)
    rules.add(budget.take(lines))
    return rules if rules.groups else None


class _Ignores:
    """The .gitignore files that apply to one folder, deepest last."""

    def __init__(self, chain: tuple[tuple[str, _Rules], ...], budget: _Budget):
        self.chain = chain
        self.budget = budget

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Git's rule: the deepest .gitignore with a matching pattern decides."""
        for base, rules in reversed(self.chain):
            sub = rel[len(base) :] if base else rel
            result = rules.check(sub + "/" if is_dir else sub)
            if result is not None:
                return result
        return False

    def entering(self, directory: str, rel: str) -> _Ignores:
        """The ignores in force inside `directory` (its own .gitignore added, if any)."""
        lines = self._read(os.path.join(directory, ".gitignore"))
        if not lines:
            return self
        shown = f"{rel}/.gitignore" if rel else ".gitignore"
        rules = _rules(lines, shown, self.budget)
        if rules is None:
            return self
        chain = (*self.chain, (rel + "/" if rel else "", rules))
        return _Ignores(chain, self.budget)

    def _read(self, path: str) -> list[str]:
        """The lines of a .gitignore; a symlink (git does not follow one either), a FIFO,
        a device or a file over 1 MiB is reported and not read."""
        try:
            data = read_regular(path, CONFIG_CAP)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            self.budget.report(f"{brief(_text(path))}: not applied ({_reason(exc)})")
            return []
        return data.decode("utf-8", "replace").splitlines()


def _reason(exc: OSError) -> str:
    """Why a read failed, without the path that UnsafeRead's message starts with."""
    if isinstance(exc, UnsafeRead):
        return str(exc).rsplit(": ", 1)[-1].removesuffix("; not read")
    return exc.strerror or str(exc)


# Names that are not UTF-8 come from os.scandir with each bad byte as a lone
# surrogate; re2 takes UTF-8 only, so each becomes U+FFFD (one character for one).
_SURROGATES = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}


def _text(rel: str) -> str:
    """`rel` as text any matcher takes (see _SURROGATES)."""
    return rel if rel.isascii() else rel.translate(_SURROGATES)


def _is_environment(directory: str) -> bool:
    """A virtual environment, whatever its name: it holds a pyvenv.cfg."""
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))


def discover(
    root: Path,
    exclude: list[str] | None = None,
    *,
    warn: Warn | None = None,
) -> list[Path]:
    """The `.py` files a review of `root` covers, sorted.

    `exclude` holds gitignore-syntax globs relative to `root`. Paths are
    returned under `root` as given (not resolved), so they read the way the
    user wrote the root. Folders that cannot be listed, `.gitignore` files
    that are not read, patterns that are not applied and entries that cannot
    be examined are reported through `warn` and skipped.
    """
    report = _Reporter(warn)
    walk = _Walk(root, report)
    try:
        found = walk.run(exclude or [])
    finally:
        walk.budget.close(str(root))
        report.close(str(root))
    found.sort()
    return [Path(p) for p in found]


class _Walk:
    """One walk of a root (see the module docstring for its bounds)."""

    def __init__(self, root: Path, report: _Reporter) -> None:
        self.root = str(root)
        self.real_root = os.path.realpath(root)
        self.report = report
        self.budget = _Budget(report)
        self.seen: set[tuple[int, int]] = set()
        self.found: list[str] = []
        self.excluded: _Rules | None = None
        # Each entry: (folder path as shown, path relative to root, depth, ignores in force).
        self.stack: list[tuple[str, str, int, _Ignores]] = []
        # Symlinked folders wait until every real folder is walked, so that the
        # real path, not the alias, is the one reported for a folder reached twice.
        self.linked: list[tuple[str, str, int, _Ignores]] = []

    def run(self, exclude: list[str]) -> list[str]:
        try:
            root_stat = os.stat(self.real_root)
        except OSError as exc:
            self.report(f"cannot read {self.root}: {exc.strerror or exc}")
            return []
        self.seen.add((root_stat.st_dev, root_stat.st_ino))
        self.excluded = _rules(exclude, "the exclude setting", self.budget)
        ignores = _Ignores((), self.budget).entering(self.root, "")
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
        self.stack.append((path, rel, depth, ignores.entering(path, _text(rel))))

    def _list(self, directory: str, rel_dir: str, depth: int, ignores: _Ignores) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            self.report(f"cannot list {brief(_text(directory))}: {exc.strerror or exc}")
            return
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                self._entry(entry, rel, depth, ignores)
            except (OSError, ValueError) as exc:  # one odd entry never stops the walk
                self.report(f"skipped {brief(_text(entry.path))}: {exc}")

    def _entry(self, entry: os.DirEntry[str], rel: str, depth: int, ignores: _Ignores) -> None:
        try:
            is_dir = entry.is_dir()
            is_link = entry.is_symlink()
        except OSError:
            return  # gone since the listing
        text = _text(rel)
        if is_dir:
            self._folder(entry, rel, text, depth + 1, ignores, is_link)
        elif entry.name.endswith(".py"):
            if self._skipped(text, ignores, is_dir=False):
                return
            if is_link and not _inside(os.path.realpath(entry.path), self.real_root):
                return
            self.found.append(entry.path)

    def _skipped(self, text: str, ignores: _Ignores, *, is_dir: bool) -> bool:
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
        ignores: _Ignores,
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
