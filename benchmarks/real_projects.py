"""The gate and the agreement with ruff, radon and bandit on four real projects (issue 15).

    python -m benchmarks.real_projects [--ref GIT_REF]

Downloads the sdists of requests, flask, rich and attrs (cached under
benchmarks/results/sdists/, gitignored), unpacks them into a temporary folder
(tarfile's `data` filter) and never imports or runs their code: only
`tapps-lsp check --format json --no-cache` (with a fresh TAPPS_LSP_CACHE_DIR),
ruff, radon (in-process, on the text) and bandit read them. (`pip download`
itself prepares each sdist's metadata with its build backend, in pip's isolated
build environment, when the tarball is not cached yet.)

For each project: the files, the files failing the gate and the weakest
category of each failing file; then the agreement of the JSON report with

- ruff: `ruff check --isolated` with the engine's default rules (E, F, W without
  E501, line length 100) plus S, by (file, code, line, column) for E/F/W and
  (file, code, line) for S;
- radon: `cc_visit` blocks by (name, line, complexity), `mi_visit(multi=True)`
  per file within 1e-9 (as tests/test_radon_differential.py);
- bandit: `bandit -q -f json` against the engine in exact mode
  (`securityEngine = "bandit"`, set in a copy of the project), by (file, test id,
  line) as tests/test_bandit_differential.py.

S101/B101 in test files are left out of both sides and counted apart: since
issue 15 the engine does not report asserts in tests, by design.

With `--ref GIT_REF` the same runs for that commit too (a `git worktree` in
/tmp, its `python -m tapps_lsp check` with PYTHONPATH at the worktree) and the
tables show both side by side. Reports before schema version 2 have 0-based lines.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radon.complexity import cc_visit
from radon.metrics import mi_visit

from tapps_lsp.review.project import is_marked, is_test_file, project_root
from tapps_lsp.review.target import python_settings, ruff_target, version_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.prefix) / "bin"
CACHE = HERE / "results" / "sdists"
PROJECTS = {"requests": "2.32.3", "flask": "3.1.3", "rich": "15.0.0", "attrs": "26.1.0"}
RUFF_RULES = ["--select", "E,F,W", "--ignore", "E501", "--line-length", "100"]
ASSERTS = {"S101", "B101"}
BANDIT_SETTINGS = '\n[tool.tapps-lsp]\nsecurityEngine = "bandit"\n'

Key = tuple[str, str, int, int]  # relative path, code, line, column (0 when not compared)


@dataclass
class Agreement:
    """How many of the reference tool's items the engine reproduces, and the rest."""

    theirs: int = 0
    ours: int = 0
    agree: int = 0
    by_design: int = 0  # the reference's asserts in test files, left out
    our_asserts: int = 0  # the engine's asserts in test files, left out
    moved: int = 0  # S607 at the call instead of ruff's argument line
    missed: list[Key] = field(default_factory=list)
    extra: list[Key] = field(default_factory=list)

    def add(self, ours: Iterable[Key], theirs: Iterable[Key]) -> None:
        """Compare two multisets of keys."""
        mine, their = Counter(ours), Counter(theirs)
        self.ours += sum(mine.values())
        self.theirs += sum(their.values())
        self.agree += sum((mine & their).values())
        self.missed += sorted((their - mine).elements())
        self.extra += sorted((mine - their).elements())

    def absorb(self, other: Agreement) -> None:
        """Add another project's counts (not its lists) to these."""
        self.theirs, self.ours, self.agree = (
            self.theirs + other.theirs,
            self.ours + other.ours,
            self.agree + other.agree,
        )
        self.by_design, self.our_asserts = (
            self.by_design + other.by_design,
            self.our_asserts + other.our_asserts,
        )
        self.moved += other.moved

    def asserts(self) -> str:
        """The note on the asserts in test files left out, if any."""
        if not (self.by_design or self.our_asserts):
            return ""
        return (
            f" (asserts in tests left out: reference {self.by_design:,}, ours {self.our_asserts:,})"
        )

    def cell(self) -> str:
        """`agree/theirs` with the engine's own count when it differs."""
        text = f"{self.agree:,}/{self.theirs:,}"
        if self.ours != self.theirs or self.agree != self.theirs:
            text += f" (ours {self.ours:,})"
        text += " =" if self.agree == self.theirs == self.ours else ""
        return text + (f" ({self.moved} S607 at the call)" if self.moved else "")


@dataclass
class ProjectResult:
    """One project's figures for one version of the engine."""

    files: int = 0
    failing: int = 0
    weakest: Counter[str] = field(default_factory=Counter)
    tables: dict[str, Agreement] = field(default_factory=dict)


# ---- the projects ------------------------------------------------------------------------


def download(cache: Path) -> dict[str, Path]:
    """The sdists, fetched with pip when not cached yet."""
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, version in PROJECTS.items():
        tarball = cache / f"{name}-{version}.tar.gz"
        if not tarball.exists():
            subprocess.run(
                [str(BIN / "pip"), "download", "--no-deps", "--no-binary", ":all:", "-q"]
                + ["-d", str(cache), f"{name}=={version}"],
                check=True,
                timeout=600,
            )
        out[name] = tarball
    return out


def unpack(tarball: Path, into: Path) -> Path:
    """The sdist's top folder, unpacked with the `data` filter."""
    with tarfile.open(tarball) as archive:
        archive.extractall(into, filter="data")
    return into / tarball.name.removesuffix(".tar.gz")


def bandit_copy(project: Path, into: Path) -> Path:
    """A copy of the project whose every project root selects the exact (bandit) engine."""
    copy = into / (project.name + "-bandit")
    shutil.copytree(project, copy, symlinks=True)
    for folder, _dirs, _files in os.walk(copy):
        here = Path(folder)
        if here == copy or is_marked(here):
            pyproject = here / "pyproject.toml"
            text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
            if "[tool.tapps-lsp]" in text:
                raise SystemExit(f"{pyproject} already has [tool.tapps-lsp]")
            pyproject.write_text(text + BANDIT_SETTINGS, encoding="utf-8")
    return copy


# ---- tapps-lsp check ---------------------------------------------------------------------


@dataclass
class Engine:
    """How to start one version's `check`."""

    label: str
    argv: list[str]
    pythonpath: str | None = None
    cwd: Path = REPO

    def check(self, project: Path) -> dict[str, Any]:
        """The JSON report of `check PROJECT --no-cache`, with 1-based lines."""
        with tempfile.TemporaryDirectory(prefix="rp-cache-") as cache:
            env = dict(os.environ, TAPPS_LSP_CACHE_DIR=cache)
            env.pop("PYTHONPATH", None)
            if self.pythonpath:
                env["PYTHONPATH"] = self.pythonpath
            done = subprocess.run(
                [*self.argv, "check", str(project), "--format", "json", "--no-cache"],
                capture_output=True,
                env=env,
                cwd=self.cwd,
                timeout=3600,
                check=False,
            )
        if done.returncode not in (0, 1):
            raise SystemExit(
                f"{self.label}: check exited {done.returncode}: {done.stderr[-2000:]!r}"
            )
        report: dict[str, Any] = json.loads(done.stdout)
        return report


def one_based(report: dict[str, Any]) -> int:
    """What to add to the report's lines: 1 for schema 1 (0-based), else 0."""
    return 0 if "schemaVersion" in report else 1


def measured(entry: dict[str, Any]) -> bool:
    """Whether the engine analysed the file and computed its metrics."""
    metrics = entry.get("metrics") or {}
    return (
        not entry.get("skipped")
        and not metrics.get("syntax_error")
        and not metrics.get("needs_python")
    )


def gate(report: dict[str, Any], result: ProjectResult) -> None:
    """Files, files failing the gate and their weakest categories."""
    result.files = len(report["files"])
    for entry in report["files"]:
        if not entry["passed"]:
            result.failing += 1
            result.weakest[str(entry.get("weakest"))] += 1


# ---- agreement ---------------------------------------------------------------------------


def relative(project: Path, path: str) -> str:
    """A report's path relative to the project folder."""
    return Path(path).resolve().relative_to(project.resolve()).as_posix()


def is_assert_in_test(key: Key) -> bool:
    """An assert finding in a test file: not reported there since issue 15, by design."""
    return key[1] in ASSERTS and is_test_file(key[0])


def without_test_asserts(keys: list[Key], table: Agreement, *, ours: bool) -> list[Key]:
    """The keys without asserts in test files, counted apart (the reference's are left out
    by design; the engine's should be none since issue 15)."""
    kept = [k for k in keys if not is_assert_in_test(k)]
    if ours:
        table.our_asserts += len(keys) - len(kept)
    else:
        table.by_design += len(keys) - len(kept)
    return kept


def s607_at_the_call(table: Agreement) -> None:
    """Since fbccec3 the engine puts S607 at the call, where bandit puts B607, and ruff at
    the argument, often a line below: pair those up as moved by design."""
    for miss in list(table.missed):
        if miss[1] != "S607":
            continue
        above = [e for e in table.extra if e[:2] == miss[:2] and e[2] < miss[2]]
        if above:
            table.missed.remove(miss)
            table.extra.remove(max(above))
            table.moved += 1


def file_target(path: Path) -> str | None:
    """The `--target-version` the engine gives ruff for this file: its project's
    `target-version`, `requires-python` or `per-file-target-version` (None: ruff's own)."""
    root = project_root(path)
    found = python_settings(root)
    values = found[0] if found else {}
    version = version_for(
        path.relative_to(root).as_posix(),
        values.get("pythonVersion", ""),
        values.get("pythonVersionPerFile", {}),
    )
    return ruff_target(version)


def ruff_rows(paths: list[Path], per_file_python: bool) -> list[dict[str, Any]]:
    """ruff's JSON rows for the files, with the engine's rules plus S, told either no
    Python (ruff's default) or each file's own."""
    groups: dict[str | None, list[Path]] = {}
    for path in paths:
        groups.setdefault(file_target(path) if per_file_python else None, []).append(path)
    rows: list[dict[str, Any]] = []
    for target, group in groups.items():
        for start in range(0, len(group), 200):
            argv = [str(BIN / "ruff"), "check", "--isolated", "--no-cache"]
            argv += ["--output-format", "json", *RUFF_RULES, "--extend-select", "S", "--exit-zero"]
            argv += ["--target-version", target] if target else []
            argv += [str(p) for p in group[start : start + 200]]
            done = subprocess.run(argv, capture_output=True, check=True, timeout=600)
            rows += json.loads(done.stdout)
    return rows


def ours_from_ruff(project: Path, report: dict[str, Any]) -> tuple[list[Key], list[Key]]:
    """The report's ruff findings: E/F/W by (file, code, line, column), S by (file, code,
    line)."""
    shift = one_based(report)
    lint: list[Key] = []
    security: list[Key] = []
    for entry in report["files"]:
        if entry.get("skipped"):
            continue
        name = relative(project, entry["path"])
        for f in entry["findings"]:
            if f["source"] != "ruff":
                continue
            if f["category"] == "security":
                security.append((name, f["code"], f["line"] + shift, 0))
            else:
                lint.append((name, f["code"], f["line"] + shift, f["col"] + shift))
    return lint, security


def theirs_from_ruff(project: Path, rows: list[dict[str, Any]]) -> tuple[list[Key], list[Key]]:
    """ruff's rows as keys, E/F/W and S apart."""
    lint: list[Key] = []
    security: list[Key] = []
    for row in rows:
        name = relative(project, row["filename"])
        code = row.get("code") or "invalid-syntax"
        line, col = row["location"]["row"], row["location"]["column"]
        if code.startswith("S") and code[1:].isdigit():
            security.append((name, code, line, 0))
        else:
            lint.append((name, code, line, col))
    return lint, security


def ruff_tables(project: Path, report: dict[str, Any], result: ProjectResult) -> None:
    """E/F/W against ruff told no Python and told each file's, S against the first."""
    lint_ours, s_ours = ours_from_ruff(project, report)
    paths = sorted(
        project / relative(project, e["path"]) for e in report["files"] if not e.get("skipped")
    )
    lint_default, s_theirs = theirs_from_ruff(project, ruff_rows(paths, per_file_python=False))
    lint_own, _ = theirs_from_ruff(project, ruff_rows(paths, per_file_python=True))
    lint, own, security = Agreement(), Agreement(), Agreement()
    lint.add(lint_ours, lint_default)
    own.add(lint_ours, lint_own)
    security.add(
        without_test_asserts(s_ours, security, ours=True),
        without_test_asserts(s_theirs, security, ours=False),
    )
    s607_at_the_call(security)
    security.agree += security.moved
    result.tables["ruff E,F,W (ruff's default Python)"] = lint
    result.tables["ruff E,F,W (each file's Python)"] = own
    result.tables["ruff S findings"] = security


def radon_tables(project: Path, report: dict[str, Any], result: ProjectResult) -> None:
    """cc_visit blocks and mi_visit per file, on the files the engine measured."""
    shift = one_based(report)
    blocks, mi = Agreement(), Agreement()
    for entry in report["files"]:
        if not measured(entry):
            continue
        name = relative(project, entry["path"])
        text = Path(entry["path"]).read_text(encoding="utf-8")
        try:
            theirs = cc_visit(text)
            their_mi = float(mi_visit(text, multi=True))
        except SyntaxError:
            continue  # radon cannot parse it either
        metrics = entry["metrics"]
        blocks.add(
            [(name, b["name"], b["line"] + shift, b["complexity"]) for b in metrics["blocks"]],
            [(name, b.fullname, b.lineno, b.complexity) for b in theirs],
        )
        ours_mi = metrics.get("mi")
        same = ours_mi is not None and math.isclose(ours_mi, their_mi, rel_tol=0, abs_tol=1e-9)
        mi.add(
            [(name, "MI", 0, 0)] if same else [(name, f"MI {ours_mi}", 0, 0)], [(name, "MI", 0, 0)]
        )
    result.tables["radon CC blocks"] = blocks
    result.tables["radon MI files"] = mi


def bandit_table(project: Path, copy: Path, report: dict[str, Any], result: ProjectResult) -> None:
    """Exact mode against `bandit -q -f json`, by (file, test id, line)."""
    shift = one_based(report)
    files = [e for e in report["files"] if measured(e)]
    names = sorted(relative(copy, e["path"]) for e in files)
    done = subprocess.run(
        [str(BIN / "bandit"), "-q", "-f", "json", *(str(project / n) for n in names)],
        capture_output=True,
        timeout=1800,
        check=False,
    )
    out = json.loads(done.stdout)
    unreadable = {relative(project, e["filename"]) for e in out.get("errors", [])}
    theirs: list[Key] = [
        (relative(project, r["filename"]), r["test_id"], r["line_number"], 0)
        for r in out["results"]
    ]
    ours: list[Key] = [
        (relative(copy, e["path"]), f["code"], f["line"] + shift, 0)
        for e in files
        for f in e["findings"]
        if f["source"] == "bandit"
    ]
    table = Agreement()
    table.add(
        without_test_asserts([k for k in ours if k[0] not in unreadable], table, ours=True),
        without_test_asserts([k for k in theirs if k[0] not in unreadable], table, ours=False),
    )
    result.tables["bandit (exact mode)"] = table


# ---- one run -----------------------------------------------------------------------------


def measure(
    engine: Engine, projects: dict[str, Path], copies: dict[str, Path]
) -> dict[str, ProjectResult]:
    """Every figure for every project, with one version of the engine."""
    out = {}
    for name, project in projects.items():
        result = ProjectResult()
        report = engine.check(project)
        gate(report, result)
        ruff_tables(project, report, result)
        radon_tables(project, report, result)
        bandit_table(project, copies[name], engine.check(copies[name]), result)
        out[name] = result
        print(f"{engine.label}: {name} done", file=sys.stderr)
    return out


def worktree(ref: str) -> tuple[Path, str]:
    """A detached worktree of `ref` in /tmp, and its short commit."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    path = Path(f"/tmp/rp-{commit}")
    if path.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO, check=False)
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), ref],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return path, commit


def head_label() -> str:
    """HEAD's short commit."""
    return (
        "HEAD "
        + subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout.strip()
    )


# ---- the tables --------------------------------------------------------------------------


def weakest(result: ProjectResult) -> str:
    """`category n, ...` for the failing files, most frequent first."""
    return ", ".join(f"{k} {n}" for k, n in result.weakest.most_common()) or "-"


def render(runs: dict[str, dict[str, ProjectResult]]) -> str:
    """Markdown: the gate per project, then the agreement tables, one column per version."""
    labels = list(runs)
    head = "| project | " + " | ".join(labels) + " |\n|---|" + "---|" * len(labels) + "\n"
    lines = ["### The gate (files failing / files; weakest category of the failing files)", ""]
    lines.append(head.rstrip("\n"))
    total = {label: ProjectResult() for label in labels}
    for name in PROJECTS:
        cells = []
        for label in labels:
            r = runs[label][name]
            t = total[label]
            t.files, t.failing = t.files + r.files, t.failing + r.failing
            t.weakest.update(r.weakest)
            cells.append(f"{r.failing}/{r.files}: {weakest(r)}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| **all** | "
        + " | ".join(f"**{t.failing}/{t.files}**: {weakest(t)}" for t in total.values())
        + " |"
    )
    lines += ["", "### Agreement (reproduced/reference; `=` exact)", ""]
    lines.append("| tool | project | " + " | ".join(labels) + " |")
    lines.append("|---|---|" + "---|" * len(labels))
    tables = list(next(iter(runs[labels[0]].values())).tables)
    for table in tables:
        sums = {label: Agreement() for label in labels}
        for name in PROJECTS:
            cells = []
            for label in labels:
                a = runs[label][name].tables[table]
                sums[label].absorb(a)
                cells.append(a.cell())
            lines.append(f"| {table} | {name} | " + " | ".join(cells) + " |")
        cells = [f"**{s.cell()}**{s.asserts()}" for s in sums.values()]
        lines.append(f"| {table} | **all** | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def differences(runs: dict[str, dict[str, ProjectResult]]) -> str:
    """The first few items each version misses or adds, per table."""
    out = []
    for label, results in runs.items():
        for name, result in results.items():
            for table, a in result.tables.items():
                if a.missed or a.extra:
                    out.append(f"{label} {name} {table}: missed {a.missed[:5]} extra {a.extra[:5]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Download, review, compare and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="also measure this commit (a git worktree in /tmp)")
    args = parser.parse_args(argv)
    tarballs = download(CACHE)
    engines = []
    tree: Path | None = None
    if args.ref:
        tree, commit = worktree(args.ref)
        python = [sys.executable, "-m", "tapps_lsp"]
        engines.append(Engine(commit, python, pythonpath=str(tree), cwd=tree))
    engines.append(Engine(head_label(), [str(BIN / "tapps-lsp")]))
    try:
        with tempfile.TemporaryDirectory(prefix="rp-projects-") as tmp:
            projects = {name: unpack(t, Path(tmp)) for name, t in tarballs.items()}
            copies = {name: bandit_copy(p, Path(tmp)) for name, p in projects.items()}
            runs = {e.label: measure(e, projects, copies) for e in engines}
    finally:
        if tree is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False
            )
    print(render(runs))
    extra = differences(runs)
    if extra:
        print("Differences:\n" + extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
