"""Our per-block complexity and maintainability index equal radon's own command line.

The engine computes CC and MI from one shared parse instead of calling radon's
harvesters, so this checks that the shortcut changes no number. A few
standard-library files run with every `make test`; the whole standard library
runs with `make test-differential`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.review import engine

STDLIB = Path(sysconfig.get_paths()["stdlib"])
RADON = Path(sys.executable).with_name("radon")
FEW = ["pprint.py", "textwrap.py", "colorsys.py", "shlex.py", "fnmatch.py", "dataclasses.py"]


def radon_json(command: str, paths: list[Path]) -> dict:
    # `radon mi` counts multi-line strings as comments by default, as
    # mi_visit(multi=True) does (its `--multi` flag turns that off).
    args = [str(RADON), command, "-j", *map(str, paths)]
    done = subprocess.run(args, capture_output=True, check=True, timeout=600)
    return json.loads(done.stdout)


def compare(paths: list[Path]) -> int:
    """Assert equality for every file radon could read; returns how many were compared."""
    cc, mi = radon_json("cc", paths), radon_json("mi", paths)
    compared = 0
    for path in paths:
        theirs_cc, theirs_mi = cc.get(str(path)), mi.get(str(path))
        if not isinstance(theirs_cc, list) or "error" in (theirs_mi or {}):
            continue  # radon could not parse it either (e.g. a test of bad syntax)
        text = path.read_text(encoding="utf-8")
        result = engine.analyze(text, Settings(maxFileSize=1 << 30), filename=path.name)
        if "radon" in result.analyzer_errors:
            continue  # MI skipped as too slow: nothing of ours to compare
        expected = sorted(
            (
                f"{b['classname']}.{b['name']}" if b.get("classname") else b["name"],
                b["lineno"] - 1,
                b["complexity"],
                b["rank"],
            )
            for b in theirs_cc
        )
        ours = sorted((b.name, b.line, b.complexity, b.rank) for b in result.metrics.blocks)
        assert ours == expected, path
        assert result.metrics.mi == pytest.approx(theirs_mi["mi"], abs=1e-9), path
        compared += 1
    return compared


def test_a_few_standard_library_files():
    assert compare([STDLIB / name for name in FEW]) == len(FEW)


@pytest.mark.differential
def test_the_whole_standard_library(request):
    if "differential" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("run by make test-differential")
    paths = sorted(
        p for p in STDLIB.glob("*.py") if p.stat().st_size < 1_048_576 and "test" not in p.name
    )
    assert compare(paths) > 100
