"""The `.gitignore` and `exclude` rules of one workspace walk, matched in bounded time.

Patterns are matched by google-re2 (linear time), in sets of at most `_GROUP`
patterns. A pattern re2 cannot take falls back to Python's `re` only when it has
at most `PYTHON_WILDCARDS` variable-length wildcards; any other is skipped with
a message. At most `MAX_PATTERNS` patterns are taken from one workspace, and the
patterns of one source that cost more than `MATCH_BUDGET` seconds of CPU in slow
matches are dropped for the rest of the walk. `Reporter` passes at most
`MAX_MESSAGES` messages of one walk on. discovery.py walks; this module decides.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pathspec

from tapps_lsp.safe_io import CONFIG_CAP, UnsafeRead, brief, read_regular

# Patterns taken from one workspace: the `exclude` setting plus every .gitignore.
MAX_PATTERNS = 10_000
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


class Reporter:
    """Passes at most MAX_MESSAGES messages on, then counts the rest."""

    def __init__(self, warn: Warn | None) -> None:
        self._warn = warn
        self._sent = 0
        self._held = 0
        self._once: set[str] = set()

    def __call__(self, message: str) -> None:
        """Pass `message` on, or count it once MAX_MESSAGES have been sent."""
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
        """Send one last message counting those held back."""
        if self._held:
            self.always(f"{root}: {self._held} more discovery problems not shown")


class Budget:
    """The patterns one workspace may still contribute."""

    def __init__(self, report: Reporter) -> None:
        self.left = MAX_PATTERNS
        self.dropped = 0
        self.report = report

    def take(self, lines: list[str]) -> list[str]:
        """The patterns of `lines` the workspace's budget of MAX_PATTERNS still admits."""
        patterns = [line for line in lines if line.strip() and not line.startswith("#")]
        kept = patterns[: self.left]
        self.dropped += len(patterns) - len(kept)
        self.left -= len(kept)
        return kept

    def close(self, root: str) -> None:
        """Say how many patterns the budget dropped, if any."""
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


class Rules:
    """Gitignore-syntax patterns from one source, matched without catastrophic backtracking.

    The patterns are split into consecutive groups; the last group with a
    matching pattern decides, as the last matching pattern does in git.
    """

    def __init__(self, source: str, budget: Budget) -> None:
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


def compile_rules(lines: list[str], source: str, budget: Budget) -> Rules | None:
    """The rules of `lines` within the workspace's budget; None when there are none."""
    rules = Rules(source, budget)
    rules.add(budget.take(lines))
    return rules if rules.groups else None


class Ignores:
    """The .gitignore files that apply to one folder, deepest last."""

    def __init__(self, chain: tuple[tuple[str, Rules], ...], budget: Budget):
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

    def entering(self, directory: str, rel: str) -> Ignores:
        """The ignores in force inside `directory` (its own .gitignore added, if any)."""
        lines = self._read(os.path.join(directory, ".gitignore"))
        if not lines:
            return self
        shown = f"{rel}/.gitignore" if rel else ".gitignore"
        rules = compile_rules(lines, shown, self.budget)
        if rules is None:
            return self
        chain = (*self.chain, (rel + "/" if rel else "", rules))
        return Ignores(chain, self.budget)

    def _read(self, path: str) -> list[str]:
        """The lines of a .gitignore; a symlink (git does not follow one either), a FIFO,
        a device or a file over 1 MiB is reported and not read."""
        try:
            data = read_regular(path, CONFIG_CAP)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            self.budget.report(f"{brief(as_text(path))}: not applied ({read_reason(exc)})")
            return []
        return data.decode("utf-8", "replace").splitlines()


def read_reason(exc: OSError) -> str:
    """Why a read failed, without the path that UnsafeRead's message starts with."""
    if isinstance(exc, UnsafeRead):
        return str(exc).rsplit(": ", 1)[-1].removesuffix("; not read")
    return exc.strerror or str(exc)


# Names that are not UTF-8 come from os.scandir with each bad byte as a lone
# surrogate; re2 takes UTF-8 only, so each becomes U+FFFD (one character for one).
_SURROGATES = {code: "\ufffd" for code in range(0xDC80, 0xDD00)}


def as_text(rel: str) -> str:
    """`rel` as text any matcher takes (see _SURROGATES)."""
    return rel if rel.isascii() else rel.translate(_SURROGATES)
