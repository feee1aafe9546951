"""Measured test coverage: Cobertura `coverage.xml`, coverage.py's `.coverage`, `lcov.info`.

A project's coverage data is untrusted input like every other file of a
cloned repository. Each data file is read through `safe_io.read_inside`
(inside the workspace, a regular file, non-blocking, at most
`COVERAGE_CAP` bytes), so a `coverage.xml` that links to `/proc/self/fd/0`,
`/dev/zero` or out of the workspace, or that is a FIFO, is refused rather
than read. XML is parsed by expat as a stream (memory bounded by the
input) and a document that declares entities (a "billion laughs") or
refers to external ones is refused. `.coverage` is SQLite: its bytes are
copied into a private temporary file first, which coverage.py's
`CoverageData` then reads (read-only; no measured code is run). Since that
file only records which lines ran, the statements of each measured source
are counted by coverage.py's own parser (`PythonParser`, the one `coverage
report` uses, with coverage.py's default exclusions), reading the source
through `read_inside` too.

Everything here blocks on the disk: call it from a thread, never on the event loop.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tapps_lsp.review.coverage_formats import CoverageError, cobertura_rates, data_key, lcov_rates
from tapps_lsp.safe_io import read_inside

# Data files looked for at a project root, in this order when equally new: the
# reports first, which count statements themselves.
DATA_FILES = ("coverage.xml", "lcov.info", ".coverage")
# Data files written this close together count as equally new (`pytest --cov
# --cov-report=xml` writes two; a checkout gives them the time of the checkout).
SAME_TIME_NS = 5_000_000_000
# The command that produces the data, named wherever coverage is "not measured".
PRODUCE = "pytest --cov --cov-report=xml"
COVERAGE_CAP = 64 * 1024 * 1024
# Sources read to count the statements of a `.coverage` file's measured files.
SOURCE_CAP = 4 * 1024 * 1024
MAX_MEASURED = 20_000
# A `.coverage` is read only when it stays within these: a line bitmap of 128 KiB
# covers a file of a million lines (a source over SOURCE_CAP has fewer), and two
# million branch arcs are more than any real test run records. A crafted file that
# decodes 64 MiB of bits into line numbers would need gigabytes.
MAX_NUMBITS = 128 * 1024
MAX_ARCS = 2_000_000


@dataclass(frozen=True)
class Stamp:
    """What a data file looked like when read: a change means read it again."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class CoverageReport:
    """Line rates (0-1) per measured file of one data file.

    Keys are POSIX paths relative to the project root when the data names a
    file inside it, else the path as the data gives it (a report written on
    another machine); `rate_for` then matches on the end of the path.
    """

    source: str  # the data file, as shown to users ("coverage.xml")
    rates: dict[str, float] = field(default_factory=dict)
    # Files the data lists whose statements could not be counted (`.coverage` of a
    # source our Python cannot parse): not measured rather than 0.
    uncounted: dict[str, str] = field(default_factory=dict)
    _by_name: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for key in [*self.rates, *self.uncounted]:
            self._by_name.setdefault(PurePosixPath(key).name, []).append(key)

    def rate_for(self, relative: str) -> float | None:
        """The line rate of the file at `relative` (root-relative POSIX), None if unmeasured."""
        key = self._find(relative, self.rates)
        return None if key is None else self.rates[key]

    def why_uncounted(self, relative: str) -> str | None:
        """Why a listed file has no rate (its statements could not be counted), else None."""
        key = self._find(relative, self.uncounted)
        return None if key is None else self.uncounted[key]

    def _find(self, relative: str, table: Mapping[str, object]) -> str | None:
        if relative in table:
            return relative
        tail = "/" + relative
        names = self._by_name.get(PurePosixPath(relative).name, ())
        return next((k for k in names if k in table and k.endswith(tail)), None)


def stamp(path: Path) -> Stamp | None:
    """The data file's size and mtime (not following a final link), None when absent."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return Stamp(str(path), st.st_size, st.st_mtime_ns)


def candidates(root: Path, coverage_file: str) -> list[Path]:
    """Where a project's coverage data may be: the `coverageFile` setting, else DATA_FILES."""
    if coverage_file:
        return [root / coverage_file]
    return [root / name for name in DATA_FILES]


def choose(root: Path, coverage_file: str) -> tuple[Path | None, list[Stamp]]:
    """The data file to read (the newest present) and the stamps of every candidate."""
    present = []
    stamps = []
    for path in candidates(root, coverage_file):
        found = stamp(path)
        if found is not None:
            present.append((found.mtime_ns, path))
            stamps.append(found)
    if not present:
        return None, stamps
    # The first in DATA_FILES order of those about as new as the newest.
    newest = max(mtime for mtime, _ in present)
    return next(p for mtime, p in present if newest - mtime <= SAME_TIME_NS), stamps


def read_report(boundary: Path, root: Path, path: Path) -> CoverageReport:
    """Read one data file of the project at `root`; CoverageError says why it is unusable.

    `boundary` is the folder nothing may be read outside of (the workspace folder).
    """
    shown = _shown(root, path)
    try:
        data = read_inside(boundary, path, COVERAGE_CAP)
    except OSError as exc:
        raise CoverageError(f"{shown}: {_reason(exc)}") from None
    name = path.name
    uncounted: dict[str, str] = {}
    try:
        if name.endswith(".xml"):
            rates = cobertura_rates(data, root)
        elif name.endswith(".info") or name.endswith(".lcov"):
            rates = lcov_rates(data.decode("utf-8", "replace"), root)
        else:
            rates, uncounted = _coverage_py_rates(data, boundary, root)
    except CoverageError as exc:
        raise CoverageError(f"{shown}: {exc}") from None
    return CoverageReport(shown, rates, uncounted)


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _reason(exc: OSError) -> str:
    text = str(exc)
    # safe_io's messages start with the path; we name the file ourselves.
    return text.split(": ", 1)[1] if ": " in text else (exc.strerror or text)


# ---- coverage.py ---------------------------------------------------------------------------


def _coverage_py_rates(
    data: bytes, boundary: Path, root: Path
) -> tuple[dict[str, float], dict[str, str]]:
    """Line rate per measured file of a `.coverage` database, as `coverage report` counts,
    and why a measured file present here has none (its statements could not be counted).

    The database is copied into a private temporary folder and read there
    with `CoverageData(read_only=True)`: SQLite never opens the workspace's file.
    """
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    folder = tempfile.mkdtemp(prefix="tapps-coverage-")
    try:
        copy = os.path.join(folder, "data")
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        _within_bounds(copy)
        try:
            measured = CoverageData(basename=copy, read_only=True)
            measured.read()
            files = sorted(measured.measured_files())[:MAX_MEASURED]
            executed = {name: measured.lines(name) or [] for name in files}
        except (CoverageException, Exception) as exc:  # sqlite3 errors, schema errors
            raise CoverageError(f"not a coverage.py data file ({type(exc).__name__})") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out: dict[str, float] = {}
    uncounted: dict[str, str] = {}
    for name, lines in executed.items():
        source = _local_source(root, name)
        if source is None:
            continue  # measured elsewhere, not a file of this project
        try:
            out.setdefault(data_key(root, name), _statement_rate(boundary, source, lines))
        except Exception as exc:  # unreadable, refused, or not Python this Python parses
            uncounted.setdefault(data_key(root, name), _uncountable(exc))
    return out, uncounted


def _within_bounds(copy: str) -> None:
    """Refuse a `.coverage` whose line bitmaps or arcs would decode into too many numbers."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("select name from sqlite_master")}
            longest = arcs = 0
            if "line_bits" in tables:
                query = "select coalesce(max(length(numbits)), 0) from line_bits"
                longest = connection.execute(query).fetchone()[0]
            if "arc" in tables:
                arcs = connection.execute("select count(*) from arc").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise CoverageError(f"not a coverage.py data file ({type(exc).__name__})") from None
    if longest > MAX_NUMBITS or arcs > MAX_ARCS:
        raise CoverageError("records more lines than any source could have; not read")


def _uncountable(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return _reason(exc)
    return (
        f"its statements could not be counted on Python {sys.version_info[0]}.{sys.version_info[1]}"
    )


def _statement_rate(boundary: Path, source: Path, lines: list[int]) -> float:
    """Executed statements / statements of one measured source (raises when unreadable)."""
    from coverage.config import DEFAULT_EXCLUDE
    from coverage.misc import join_regex
    from coverage.parser import PythonParser

    text = read_inside(boundary, source, SOURCE_CAP).decode("utf-8", "replace")
    parser = PythonParser(text=text, exclude=join_regex(DEFAULT_EXCLUDE))
    parser.parse_source()
    statements = parser.statements
    if not statements:
        return 1.0
    ran = parser.translate_lines(lines) & statements
    return len(ran) / len(statements)


def _local_source(root: Path, name: str) -> Path | None:
    """The file inside `root` a measured path names (data from elsewhere: by its tail)."""
    key = data_key(root, name)
    pure = PurePosixPath(key)
    if not pure.is_absolute():
        return root / pure if ".." not in pure.parts else None
    parts = pure.parts[1:]
    for start in range(len(parts)):
        candidate = root.joinpath(*parts[start:])
        if os.path.isfile(candidate):
            return candidate
    return None
