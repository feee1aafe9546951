"""Our per-block complexity and maintainability index equal radon's own command line.

The engine computes CC and MI from one shared parse instead of calling radon's
harvesters, and radon's raw line counts in linear time instead of radon's
quadratic way, so this checks that neither shortcut changes a number. A few
standard-library files and tricky snippets run with every `make test`; the
whole standard library runs with `make test-differential`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import sysconfig
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
from radon import raw as radon_raw

from tapps_lsp.config import Settings
from tapps_lsp.review import engine, fastraw

STDLIB = Path(sysconfig.get_paths()["stdlib"])
RADON = Path(sys.executable).with_name("radon")
FEW = ["pprint.py", "textwrap.py", "colorsys.py", "shlex.py", "fnmatch.py", "dataclasses.py"]


def radon_json(command: str, paths: list[Path]) -> dict[str, Any]:
    # `radon mi` counts multi-line strings as comments by default, as
    # mi_visit(multi=True) does (its `--multi` flag turns that off).
    args = [str(RADON), command, "-j", *map(str, paths)]
    done = subprocess.run(args, capture_output=True, check=True, timeout=600)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


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
        assert "radon" not in result.analyzer_errors, path
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
        assert theirs_mi is not None
        assert result.metrics.mi == pytest.approx(theirs_mi["mi"], abs=1e-9), path
        compared += 1
    return compared


TRICKY = {
    "backslash": "x = 1 + \\\n    2\ny = 3\n",
    "string continued": "s = 'abc\\\ndef'\nt = 1\n",
    "semicolons": "a = 1; b = 2; c = 3\nif a: b = 4; c = 5\n",
    "one-liners": "if x: return 0\ntry: 1/0\nexcept: pass\nclass K: pass\n",
    "comments in brackets": "x = [  # first\n    1,\n\n    # middle\n    2,\n]\n",
    "docstrings": '"""One line."""\ndef f():\n    """Two\n\n    lines."""\n    return 1\n',
    "f-string": 'x = f"""{1 +\n  2}\n"""\ny = f"{x!r:>{10}}"\n',
    "nested": "d = {'a': [(1, 2),\n  (3, {4: 5})],\n 'b': {\n }}\n",
    "form feed": "\x0c\nx = 1\n\x0c# comment\n",
    "no final newline": "def f():\n    return [1,\n        2]",
    "crlf": "x = (1,\r\n     2)\r\n# c\r\n",
    "decorators": "@dec(\n  arg)\ndef f(a,\n      b):  # c\n    pass\n",
    # Long enough to take the path that groups lines from one tokenization:
    "long call": "f(\n" + "    a,  # c\n\n" * 20 + ")\nx = 1\n",
    "long strings": 'x = """\n' + "text\n\n" * 30 + '"""\ny = [\n' + "1,\n" * 30 + "]\n",
    "long dict; more": "d = {\n" + "'a': 1,\n" * 30 + "}; e = 2\nif e: f = 3\n",
    "long continued string": "s = ('a\\\nb',\n" + "'c',\n" * 30 + ")\n# end\n",
    "long then short": "t = (\n" + "1,\n" * 40 + ")\n" + "u = (1,\n 2)\nv = 3\n" * 5,
}


@pytest.mark.parametrize("source", TRICKY.values(), ids=TRICKY.keys())
def test_raw_metrics_equal_radons_on_tricky_code(source: str) -> None:
    ast.parse(source)
    assert astuple(fastraw.raw_metrics(source)[0]) == tuple(radon_raw.analyze(source))


def test_raw_metrics_equal_radons_on_standard_library_files() -> None:
    for name in FEW:
        source = (STDLIB / name).read_text(encoding="utf-8")
        assert astuple(fastraw.raw_metrics(source)[0]) == tuple(radon_raw.analyze(source)), name


def test_a_few_standard_library_files() -> None:
    assert compare([STDLIB / name for name in FEW]) == len(FEW)


@pytest.mark.differential
def test_the_whole_standard_library(request: pytest.FixtureRequest) -> None:
    if "differential" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("run by make test-differential")
    paths = sorted(
        p for p in STDLIB.glob("*.py") if p.stat().st_size < 1_048_576 and "test" not in p.name
    )
    assert compare(paths) > 100
