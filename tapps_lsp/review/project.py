"""What a workspace folder says about its files: coverage, test files, structure, devex.

Built once per folder (the caller memoises and invalidates it) and pure: it
reads only inside the root, never follows symlinks out of it while walking,
and bounds the walk so a huge tree cannot stall a review.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from tapps_lsp.review.model import ProjectInfo

# Folders that never hold the project's own tests.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        "build",
        "dist",
        ".eggs",
    }
)
MAX_WALK_ENTRIES = 50_000  # directory entries looked at when collecting test files
MAX_COVERAGE_BYTES = 64 * 1024 * 1024

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


class ProjectContext:
    """The project-level facts of one workspace root (None: no workspace)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.resolve() if root is not None else None
        self._names = _top_level(self.root)
        self.structure = self._structure()
        self.devex = self._devex()
        self.coverage = self._read_coverage()
        self.test_stems = self._test_stems()

    def info_for(self, path: str | os.PathLike[str]) -> ProjectInfo:
        """The ProjectInfo of one file of this workspace."""
        p = Path(path)
        rate = None
        if self.coverage is not None:
            rate = next((self.coverage[k] for k in self._relative(p) if k in self.coverage), None)
        return ProjectInfo(
            structure=self.structure,
            devex=self.devex,
            coverage_line_rate=rate,
            has_coverage_report=self.coverage is not None,
            has_test_file=p.stem in self.test_stems,
        )

    def _relative(self, p: Path) -> list[str]:
        """The root-relative POSIX paths `p` may mean: a relative path is read both
        as relative to the root and as relative to the current directory."""
        if self.root is None:
            return [p.as_posix()]
        keys = [] if p.is_absolute() else [p.as_posix()]
        try:
            keys.append(Path(os.path.abspath(p)).relative_to(self.root).as_posix())
        except ValueError:
            pass
        return keys

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
                try:
                    text = (self.root / name).read_text("utf-8", "replace")
                except OSError:
                    continue
                if any(section in text for section in _TOOL_SECTIONS):
                    return True
        return False

    def _read_coverage(self) -> dict[str, float] | None:
        """coverage.xml (Cobertura) at the root: line rate per file path relative to the root."""
        if self.root is None or "coverage.xml" not in self._names:
            return None
        path = self.root / "coverage.xml"
        try:
            if path.stat().st_size > MAX_COVERAGE_BYTES:
                return None
            tree = ET.parse(path)
        except (OSError, ET.ParseError):
            return None
        root = tree.getroot()
        # Cobertura names files relative to one of its <source> folders.
        sources = [""]
        for s in root.iter("source"):
            if s.text and s.text.strip():
                sources.append(s.text.strip())
        hits: dict[str, list[int]] = {}
        rates: dict[str, float] = {}
        for cls in root.iter("class"):
            filename = cls.get("filename")
            if not filename:
                continue
            for key in self._keys(filename, sources):
                lines = [int(ln.get("hits", "0") or 0) > 0 for ln in cls.iter("line")]
                seen = hits.setdefault(key, [0, 0])
                seen[0] += sum(lines)
                seen[1] += len(lines)
                try:
                    rates.setdefault(key, float(cls.get("line-rate", "0")))
                except ValueError:
                    rates.setdefault(key, 0.0)
        out = {}
        for key, (covered, total) in hits.items():
            out[key] = covered / total if total else rates.get(key, 0.0)
        return out

    def _keys(self, filename: str, sources: list[str]) -> list[str]:
        """Root-relative POSIX paths that a Cobertura filename may mean."""
        assert self.root is not None
        keys = []
        for source in sources:
            full = Path(source) / filename if source else Path(filename)
            if full.is_absolute():
                try:
                    keys.append(full.relative_to(self.root).as_posix())
                except ValueError:
                    continue
            else:
                keys.append(PurePosixPath(full.as_posix()).as_posix())
        return list(dict.fromkeys(keys))

    def _test_stems(self) -> frozenset[str]:
        """Stems X of every test_X.py in the workspace (bounded walk, no symlinked dirs)."""
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
                        if name not in SKIP_DIRS and not name.endswith(".egg-info"):
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
