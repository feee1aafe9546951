"""Fuzz the engine: any text gives a result, never an exception, and every range fits the text;
radon's line counts done our (linear) way equal radon's own.

`make fuzz` runs this with TAPPS_FUZZ_EXAMPLES=2000; `make test` with a few dozen.
"""

from __future__ import annotations

import os
from dataclasses import astuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from radon import raw as radon_raw

from tapps_lsp.config import Settings
from tapps_lsp.review import engine, fastraw, scoring
from tapps_lsp.review.model import FileResult, ProjectInfo
from tapps_lsp.review.positions import split_lines

EXAMPLES = int(os.environ.get("TAPPS_FUZZ_EXAMPLES", "25"))

# Pieces of Python, valid and broken, that the tools react to.
FRAGMENTS = [
    "import os",
    "import subprocess",
    "subprocess.call(cmd, shell=True)",
    'password = "hunter2"',
    "def f(x):",
    "class K:",
    "    if x:",
    "        return x",
    "    for a in b:",
    "        for c in a:",
    "            yield c",
    "x = [str(int(y)) for y in z]",
    "async def g():",
    "    await h()",
    "try:",
    "except Exception:",
    "    pass",
    "elif y:",
    "else:",
    "lambda: (",
    ")",
    '"""',
    "# nosec",
    "\t",
    "x = '😀中\\u00e9'",
    "@functools.lru_cache",
    "def (:",
]
TEXTS = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(max_size=12),
        st.sampled_from(["\n", "\r\n", "\r", "\ufeff", "\x0c", " " * 4]),
    ),
    max_size=40,
).map("\n".join)


def check_ranges(text: str, result: FileResult) -> None:
    lines = split_lines(text[1:] if text.startswith("\ufeff") else text)
    for f in result.findings:
        assert 0 <= f.line < len(lines), f
        assert 0 <= f.col <= len(lines[f.line]), f
        assert f.line <= f.end_line < len(lines), f
        assert 0 <= f.end_col <= len(lines[f.end_line]), f
        if f.fix:
            for e in f.fix.edits:
                assert (e.line, e.col) <= (e.end_line, e.end_col) and e.end_line <= len(lines)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(TEXTS)
def test_fuzz_engine_never_raises_and_ranges_fit(text: str) -> None:
    result = engine.analyze(text, Settings())
    assert result.analyzer_errors == {} or set(result.analyzer_errors) <= {"radon"}, (
        result.analyzer_errors
    )
    check_ranges(text, result)
    assert result == FileResult.from_dict(result.to_dict())
    if result.skipped is None and not result.metrics.syntax_error:
        code = text.removeprefix("\ufeff")  # as the engine gives it to radon
        assert astuple(fastraw.raw_metrics(code)[0]) == tuple(radon_raw.analyze(code))
    review = scoring.score(result, ProjectInfo(), Settings(), "f.py")
    assert 0.0 <= review.overall <= 100.0
    assert all(0.0 <= v <= 10.0 for v in review.scores.values())
