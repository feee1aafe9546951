"""How much of bandit the "ruff" security engine reproduces on the standard library.

Bandit's side is our in-process bandit (tests/test_bandit_differential.py
proves it equal to bandit's command line); the ruff side is one ruff run with
the `S` rules, as the engine does it. A bandit HIGH or MEDIUM finding is
reproduced when the ruff engine reports the same test id on the same line.
A fast sample runs in `make test`; the whole standard library (test folders
excluded) with `make test-differential`. Figures and gaps: docs/scoring.md.
"""

from __future__ import annotations

import ast
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.review import scoring
from tapps_lsp.review.analyzers import bandit_security, ruff, ruff_security
from tapps_lsp.review.discovery import discover
from tapps_lsp.review.model import Metrics
from tapps_lsp.review.positions import split_lines

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SAMPLE = [
    "imaplib.py",
    "urllib/request.py",
    "shelve.py",
    "pdb.py",
    "pydoc.py",
    "_osx_support.py",
    "bdb.py",
    "inspect.py",
    "logging/config.py",
    "pipes.py",
    "sqlite3/dump.py",
    "tempfile.py",
    "os.py",
    "platform.py",
    "subprocess.py",
    "mailcap.py",
    "xml/dom/pulldom.py",
    "zipimport.py",
    "uuid.py",
    "random.py",
]
# The sample's bandit HIGH/MEDIUM findings the ruff engine misses (docs/scoring.md):
# ruff finds no SQL built in a list of f-strings, and calls bandit cannot resolve
# to subprocess (B604) ruff reports as S602.
SAMPLE_MISSES = {
    ("sqlite3/dump.py", "B608", 38),
    ("sqlite3/dump.py", "B608", 50),
    ("subprocess.py", "B604", 671),
}


@dataclass
class Comparison:
    bandit: int = 0  # bandit's HIGH and MEDIUM findings
    reproduced: int = 0
    files: int = 0
    score_differs: list[str] = field(default_factory=list)
    misses: set[tuple[str, str, int]] = field(default_factory=set)


def _score(counts: dict[str, int]) -> float:
    metrics = Metrics()
    metrics.security_counts = counts
    return scoring.security(metrics)


def compare(paths: list[Path]) -> Comparison:
    items = [(str(p), p.read_text(encoding="utf-8", errors="surrogateescape")) for p in paths]
    out = Comparison()
    lints = ruff.check_batch(items, Settings(securityEngine="ruff"))
    for (path, text), lint in zip(items, lints, strict=True):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue  # neither engine measures security there
        out.files += 1
        lines = split_lines(text)
        _, ours, our_counts = ruff_security.split(
            lint + ruff_security.imports(tree, lines), tree, lines
        )
        found = {(f.data["bandit"], f.line) for f in ours}
        theirs, their_counts = bandit_security.scan(text, lines, tree)
        name = Path(path).relative_to(STDLIB).as_posix()
        for f in theirs:
            if f.severity in ("error", "warning"):  # HIGH, MEDIUM
                out.bandit += 1
                if (f.code, f.line) in found:
                    out.reproduced += 1
                else:
                    out.misses.add((name, f.code, f.line + 1))
        if _score(our_counts) != _score(their_counts):
            out.score_differs.append(name)
    return out


def test_a_sample_of_the_standard_library() -> None:
    result = compare([STDLIB / name for name in SAMPLE])
    assert result.files == len(SAMPLE)
    assert result.misses == SAMPLE_MISSES
    assert result.bandit >= 60


@pytest.mark.differential
def test_the_whole_standard_library(request: pytest.FixtureRequest) -> None:
    if "differential" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("run by make test-differential")
    paths = discover(STDLIB, ["test/", "tests/", "idle_test/"])
    result = compare(paths)
    rate = result.reproduced / result.bandit
    print(
        f"\n{result.files} files: {result.reproduced}/{result.bandit} of bandit's HIGH+MEDIUM "
        f"reproduced ({rate:.1%}); security score differs in {len(result.score_differs)} files"
        f": {', '.join(result.score_differs)}; missed: {sorted(result.misses)}"
    )
    assert rate >= 0.95
