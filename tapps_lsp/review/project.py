"""What a project says about its files: coverage, test files, structure, devex.

Each file belongs to one project root (`project_root`): the nearest folder
above it holding `pyproject.toml`, `setup.cfg`, `setup.py` or `.git`, the
way ruff finds a file's configuration, never above a boundary (the server's
workspace folder). A `ProjectContext` is built once per root (the caller
memoises it, and rebuilds it when `stale()`), off the event loop: it reads
only inside its boundary, through `safe_io`, and bounds every walk.

Coverage is measured data or nothing: `coverage.xml`, `.coverage` or
`lcov.info` at the root (the newest of them) or the file the `coverageFile`
setting names. Without data, test_coverage is not measured, unless the
`coverageHeuristic` setting asks for Tapps's `test_<stem>.py` guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tapps_lsp.config import Settings
from tapps_lsp.review import coverage as cov
from tapps_lsp.review.coverage_formats import CoverageError
from tapps_lsp.review.model import ProjectInfo
from tapps_lsp.review.tool_dirs import SKIPPED_DIRS
from tapps_lsp.safe_io import try_read_text_inside

# Files and folders that make a folder a project root (as ruff looks for pyproject.toml).
ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")

MAX_WALK_ENTRIES = 50_000  # directory entries looked at when collecting test files
MAX_COVERAGE_BYTES = cov.COVERAGE_CAP

_LOCK_FILES = (
    "requirements.txt",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "pdm.lock",
    "package-lock.json",
    "yarn.lock",
)
_TOOL_CONFIGS = ("ruff.toml", ".ruff.toml", "mypy.ini", ".mypy.ini", "pytest.ini", "tox.ini")
_TOOL_SECTIONS = ("[tool.ruff", "[tool.mypy", "[tool.pytest", "[mypy", "[tool:pytest")
_CI_CONFIGS = (
    ".pre-commit-config.yaml",
    ".gitlab-ci.yml",
    "azure-pipelines.yml",
    "Jenkinsfile",
    ".travis.yml",
    ".github/workflows",
    ".circleci",
    ".ci",
)
# Test files by name, and the folder whose files are all tests.
_TEST_FOLDER = "tests"


def project_root(path: str | os.PathLike[str], boundary: Path | None = None) -> Path:
    """The project root of a file: the nearest folder at or above its own holding a marker.

    With a `boundary` (the server's workspace folder) the search never goes
    above it, and a file without a marked folder below it belongs to the
    boundary. Without one (the command line) it goes up to `/`, and a file
    without any marked folder above it is its own folder's project.
    """
    folder = Path(os.path.realpath(path)).parent
    top = Path(os.path.realpath(boundary)) if boundary is not None else None
    for candidate in (folder, *folder.parents):
        if top is not None and not (candidate == top or top in candidate.parents):
            break
        if is_marked(candidate):
            return candidate
        if candidate == top:
            return top
    return top if top is not None else folder


def is_marked(folder: Path) -> bool:
    """Whether a folder holds one of ROOT_MARKERS (links count: git checks them out).

    A `setup.py` or `setup.cfg` in a package (a folder with an `__init__.py`) is
    one of its modules or data files, not a project's: `tapps_lsp/setup.py` does
    not make `tapps_lsp/` a project.
    """
    if os.path.lexists(folder / "pyproject.toml") or os.path.lexists(folder / ".git"):
        return True
    if os.path.lexists(folder / "__init__.py"):
        return False
    return os.path.lexists(folder / "setup.py") or os.path.lexists(folder / "setup.cfg")


def _under(path: str, root: str) -> str | None:
    """`path` relative to `root` (both absolute and normalised), None when outside it."""
    if path == root:
        return "."
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path[len(prefix) :] if path.startswith(prefix) else None


def is_test_file(relative: str, patterns: tuple[str, ...] | list[str] = ()) -> bool:
    """Whether a file (POSIX path relative to its project root) is a test file.

    `test_*.py`, `*_test.py`, `conftest.py`, anything under a `tests/` folder,
    and whatever matches one of `patterns` (globs matched against the end of
    the path, as `PurePosixPath.match` does: `*_spec.py`, `it/*.py`).
    """
    pure = PurePosixPath(relative)
    name = pure.name
    if name == "conftest.py" or (name.startswith("test_") and name.endswith(".py")):
        return True
    if name.endswith("_test.py") or _TEST_FOLDER in pure.parts[:-1]:
        return True
    return any(_matches(pure, pattern) for pattern in patterns)


def _matches(pure: PurePosixPath, pattern: str) -> bool:
    try:
        return bool(pattern) and pure.match(pattern)
    except ValueError:  # an empty or malformed pattern matches nothing
        return False


@dataclass(frozen=True)
class CoverageOptions:
    """The settings that decide where coverage comes from."""

    coverage_file: str = ""
    heuristic: bool = False


def coverage_options(settings: Settings) -> CoverageOptions:
    """The coverage settings (`coverageFile`, `coverageHeuristic`) of `settings`."""
    return CoverageOptions(settings.coverageFile.strip(), settings.coverageHeuristic)


class ProjectContext:
    """The project-level facts of one project root (None: a file outside any workspace)."""

    def __init__(
        self,
        root: Path | None,
        *,
        boundary: Path | None = None,
        options: CoverageOptions | None = None,
    ) -> None:
        self.root = root.resolve() if root is not None else None
        self.boundary = boundary.resolve() if boundary is not None else self.root
        self.options = options or CoverageOptions()
        self._names = _top_level(self.root)
        self.structure = self._structure()
        self.devex = self._devex()
        self.coverage: cov.CoverageReport | None = None
        # Why there is no coverage when data was there or was asked for (shown to users).
        self.coverage_problem: str | None = None
        self._stamps: list[cov.Stamp] = []
        self._read_coverage()
        self.test_stems = self._test_stems() if self.options.heuristic else frozenset()

    def stale(self) -> bool:
        """Whether a coverage data file appeared, changed or went since this was built."""
        if self.root is None:
            return False
        now = [cov.stamp(p) for p in cov.candidates(self.root, self.options.coverage_file)]
        return [s for s in now if s is not None] != self._stamps

    def relative(self, path: str | os.PathLike[str]) -> str:
        """The root-relative POSIX path of a file (its own path when outside the root).

        By strings, not pathlib: a warm scan asks it once per file (a tenth of its time
        went to building Path objects here). The link-resolved path is tried only when
        the path as written is outside the root.
        """
        name = os.fspath(path)
        if self.root is None:
            return Path(name).as_posix()
        root = os.fspath(self.root)
        inside = _under(os.path.abspath(name), root)
        if inside is None:
            inside = _under(os.path.realpath(name), root)
        return inside if inside is not None else Path(name).as_posix()

    def info_for(
        self, path: str | os.PathLike[str], test_patterns: tuple[str, ...] | list[str] = ()
    ) -> ProjectInfo:
        """The ProjectInfo of one file of this project."""
        relative = self.relative(path)
        report = self.coverage
        problem = self.coverage_problem or ""
        uncounted = report.why_uncounted(relative) if report is not None else None
        if report is not None and uncounted is not None:
            # Listed in the data, but we cannot say what share of it ran: not measured.
            problem, report = f"{report.source} lists it, but {uncounted}", None
        return ProjectInfo(
            structure=self.structure,
            devex=self.devex,
            coverage_line_rate=report.rate_for(relative) if report is not None else None,
            has_coverage_report=report is not None,
            has_test_file=Path(path).stem in self.test_stems,
            is_test_file=is_test_file(relative, test_patterns),
            coverage_source=report.source if report is not None else "",
            coverage_heuristic=self.options.heuristic,
            coverage_problem=problem,
        )

    def _has(self, name: str) -> bool:
        if "/" in name:
            return self.root is not None and (self.root / name).exists()
        return name in self._names

    def _structure(self) -> float:
        """min(10, 2 x (2.5 build file + 2 README + 2 tests/ + 1 .git + 1.5 lock/requirements))."""
        points = 0.0
        if any(self._has(n) for n in ("pyproject.toml", "setup.py", "package.json")):
            points += 2.5
        if any(n.lower().startswith("readme") for n in self._names):
            points += 2
        if self._has("tests") or self._has("test"):
            points += 2
        if self._has(".git"):
            points += 1
        if any(self._has(n) for n in _LOCK_FILES) or any(
            n.startswith("requirements") and n.endswith(".txt") for n in self._names
        ):
            points += 1.5
        return min(10.0, 2 * points)

    def _devex(self) -> float:
        """min(10, 2 x (3 AGENTS.md/CLAUDE.md + 2 docs/ + 2 .tapps-agents/ or .vscode/
        + 1.5 ruff/mypy/pytest config + 1.5 pre-commit or CI config))."""
        points = 0.0
        if self._has("AGENTS.md") or self._has("CLAUDE.md"):
            points += 3
        if self._has("docs"):
            points += 2
        if self._has(".tapps-agents") or self._has(".vscode"):
            points += 2
        if self._tool_config():
            points += 1.5
        if any(self._has(n) for n in _CI_CONFIGS):
            points += 1.5
        return min(10.0, 2 * points)

    def _tool_config(self) -> bool:
        if any(self._has(n) for n in _TOOL_CONFIGS):
            return True
        for name in ("pyproject.toml", "setup.cfg"):
            if self._has(name) and self.root is not None:
                text = try_read_text_inside(self.boundary, self.root / name)
                if text is not None and any(section in text for section in _TOOL_SECTIONS):
                    return True
        return False

    def _read_coverage(self) -> None:
        """The newest coverage data file at the root, or the one `coverageFile` names."""
        if self.root is None or self.boundary is None:
            return
        path, self._stamps = cov.choose(self.root, self.options.coverage_file)
        if path is None:
            if self.options.coverage_file:
                self.coverage_problem = f"coverageFile {self.options.coverage_file}: not found"
            return
        try:
            self.coverage = cov.read_report(self.boundary, self.root, path)
        except CoverageError as exc:
            self.coverage_problem = str(exc)

    def _test_stems(self) -> frozenset[str]:
        """Stems X of every test_X.py in the project (bounded walk, no symlinked dirs)."""
        if self.root is None:
            return frozenset()
        stems = set()
        seen = 0
        stack = [self.root]
        while stack and seen < MAX_WALK_ENTRIES:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                seen += 1
                name = entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if name not in SKIPPED_DIRS and not name.endswith(".egg-info"):
                            stack.append(Path(entry.path))
                    elif name.startswith("test_") and name.endswith(".py"):
                        stems.add(name[5:-3])
                except OSError:
                    continue
        return frozenset(stems)


def _top_level(root: Path | None) -> frozenset[str]:
    if root is None:
        return frozenset()
    try:
        return frozenset(os.listdir(root))
    except OSError:
        return frozenset()
