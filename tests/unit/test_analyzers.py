"""Each analyzer on real snippets, through the engine with the real tools."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import astuple
from pathlib import Path
from types import FrameType

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.review import engine, fastmetrics, fastraw, scoring
from tapps_lsp.review.analyzers import performance, ruff
from tapps_lsp.review.model import FileResult, Finding, ProjectInfo
from tapps_lsp.review.versions import tool_versions
from tapps_lsp.settings_merge import merge

# Bandit itself: these tests pin its findings (the ruff engine: test_ruff_security.py).
SETTINGS = Settings(securityEngine="bandit")


def review(source: str, settings: Settings = SETTINGS, filename: str = "mod.py") -> FileResult:
    return engine.analyze(textwrap.dedent(source), settings, filename=filename)


def only(result: FileResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, (code, result.findings)
    return found[0]


def test_unused_import_has_a_safe_fix_and_is_unnecessary() -> None:
    result = review("import os\nimport sys\n\nprint(sys.argv)\n")
    f = only(result, "F401")
    assert (f.source, f.severity, f.category) == ("ruff", "warning", "linting")
    assert (f.line, f.col, f.end_line, f.end_col) == (0, 7, 0, 9)
    assert f.tags == ("unnecessary",)
    assert f.url == "https://docs.astral.sh/ruff/rules/unused-import"
    assert f.fix is not None and f.fix.safe
    [edit] = f.fix.edits
    assert (edit.line, edit.col, edit.end_line, edit.end_col, edit.text) == (0, 0, 1, 0, "")
    assert result.metrics.lint_counts == {"E": 0, "F": 1, "W": 0}


def test_undefined_name_is_an_error() -> None:
    result = review("def f():\n    return undefined_thing\n")
    f = only(result, "F821")
    assert f.severity == "error"
    assert (f.line, f.col, f.end_col) == (1, 11, 26)


def test_ruff_settings_select_ignore_and_overrides() -> None:
    source = "import os\nx = 1 \n"
    assert {f.code for f in review(source).findings} >= {"F401", "W291"}
    settings, problems = merge(
        {"lintIgnore": ["F401"], "severityOverrides": {"W": "hint", "W29": "error"}}
    )
    assert problems == []
    result = review(source, settings)
    assert "F401" not in {f.code for f in result.findings}
    assert only(result, "W291").severity == "error"  # the longest prefix wins


def test_workspace_config_does_not_reach_ruff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A ruff.toml in the current directory must not change what we report.
    (tmp_path / "ruff.toml").write_text('[lint]\nignore = ["F401"]\n')
    monkeypatch.chdir(tmp_path)
    assert only(review("import os\n"), "F401")


def test_syntax_error_from_ruff_and_other_analyzers_still_run() -> None:
    result = review("import subprocess\nsubprocess.call('ls', shell=True)\ndef f(:\n    pass\n")
    syntax = [f for f in result.findings if f.code in ruff.SYNTAX_CODES]
    assert syntax and syntax[0].severity == "error" and syntax[0].line == 2
    assert result.metrics.syntax_error
    assert result.metrics.lint_counts["E"] >= 1
    assert result.analyzer_errors == {}


def test_cyclomatic_complexity_above_threshold() -> None:
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(13))
    result = review(f"class K:\n  def pick(self, x):\n{textwrap.indent(branches, '  ')}\n")
    f = only(result, "TAPPS-CC")
    assert f.message == "Cyclomatic complexity 14 (rank C) in method K.pick"
    assert f.severity == "warning"
    assert (f.line, f.col, f.end_col) == (1, 6, 10)  # the name "pick"
    # radon rates the class one above its only method; the class is a block too.
    assert result.metrics.max_complexity == 15
    names = {(b.name, b.kind, b.complexity) for b in result.metrics.blocks}
    assert names == {("K", "class", 15), ("K.pick", "method", 14)}


def test_complexity_above_20_is_an_error() -> None:
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(21))
    f = only(review(f"def pick(x):\n{branches}\n"), "TAPPS-CC")
    assert f.severity == "error"
    assert "22 (rank D) in function pick" in f.message


def test_shell_true_is_a_high_bandit_issue() -> None:
    result = review(
        """\
        import subprocess


        def run(cmd):
            return subprocess.call(cmd, shell=True)
        """
    )
    f = only(result, "B602")
    assert (f.source, f.severity, f.category) == ("bandit", "error", "security")
    assert f.data["cwe"] == 78 and "CWE-78" in f.message
    assert f.url and "b602" in f.url
    assert (f.line, f.col) == (4, 11)
    assert result.metrics.security_counts == {"HIGH": 1, "MEDIUM": 0, "LOW": 1}  # B404 is LOW


def test_hardcoded_passwords() -> None:
    result = review('password = "hunter2"\nconnect(password="s3cret")\n')
    b105, b106 = only(result, "B105"), only(result, "B106")
    assert b105.severity == b106.severity == "information"  # LOW
    assert (b105.line, b105.col, b105.end_col) == (0, 11, 20)
    assert b106.line == 1


def test_nosec_is_honoured() -> None:
    result = review("import subprocess  # nosec\nsubprocess.call('x', shell=True)  # nosec\n")
    assert [f for f in result.findings if f.source == "bandit"] == []
    # Naming tests skips only those.
    result = review(
        "import subprocess  # nosec B602\nsubprocess.call('x', shell=True)  # nosec: B602\n"
    )
    assert [f.code for f in result.findings if f.source == "bandit"] == ["B404", "B607"]


def test_nested_loops_and_deep_nesting() -> None:
    result = review(
        """\
        def grid(rows):
            for r in rows:
                for c in r:
                    if c:
                        with open(c) as f:
                            if f:
                                print(f)
        """
    )
    loop = only(result, "TAPPS-PERF-LOOP")
    assert (loop.line, loop.col, loop.end_col, loop.severity) == (2, 8, 11, "information")
    nest = only(result, "TAPPS-PERF-NEST")
    assert nest.line == 5
    assert result.metrics.perf_penalties == {"nested_loop": 1.5, "deep_nesting": 1.0}


def test_elif_chains_do_not_nest() -> None:
    chain = "\n".join(f"    elif x == {i}:\n        y = {i}" for i in range(8))
    result = review(f"def f(x):\n    if x:\n        y = 0\n{chain}\n    return y\n")
    assert "deep_nesting" not in result.metrics.perf_penalties


def test_long_function_heavy_comprehension_and_bonuses() -> None:
    body = "\n".join(f"    v{i} = {i}" for i in range(101))
    source = (
        "import functools\n\n"
        "@functools.lru_cache(maxsize=None)\n"
        f"def long():\n{body}\n"
        "    return [str(int(float(x))) + repr(abs(x)) + hex(x) for x in range(3)]\n\n"
        "async def fetch():\n    return 1\n\n"
        "def gen():\n    yield 1\n"
    )
    result = review(source)
    long = only(result, "TAPPS-PERF-LONG")
    assert long.message == "Function long is 103 lines long (more than 100)"
    assert (long.line, long.col, long.end_col) == (3, 4, 8)
    assert result.metrics.perf_penalties == {"long_function": 1.5, "heavy_comprehension": 0.5}
    assert result.metrics.perf_bonuses == {"cache": 1.5, "async": 1.0, "generator": 0.5}


def test_low_maintainability_index_is_information_on_line_0() -> None:
    result = review(Path(performance.__file__).read_text() * 0)
    assert result.metrics.mi == 100.0  # empty file
    body = "\n".join(
        f"def f{i}(a, b):\n    if a and b or a > {i}:\n        return a * b + {i} - a / (b or 1)\n"
        f"    return [x ** {i} for x in range(a) if x % 3]"
        for i in range(60)
    )
    low = review(body)
    assert low.metrics.mi is not None and low.metrics.mi < 20
    f = only(low, "TAPPS-MI")
    assert (f.line, f.severity, f.category) == (0, "information", "maintainability")


def test_mi_of_a_very_long_statement_is_computed_in_linear_time() -> None:
    # radon's own raw analysis needs 25 s here (quadratic: 2 s at 500 lines).
    source = "X = {\n" + "".join(f"    'k{i}': {i},\n" for i in range(2000)) + "}\n"
    result = review(source)
    assert result.analyzer_errors == {}
    assert result.timings["metrics"] < 5
    # One statement of 2002 source lines; radon counts a dict with a colon as 2 logical lines.
    assert astuple(fastraw.raw_metrics(source)[0]) == (2002, 2, 2002, 0, 0, 0, 0)
    assert result.metrics.loc == result.metrics.sloc == 2002
    assert result.metrics.mi is not None


def test_empty_file() -> None:
    result = review("")
    assert result.findings == []
    assert result.analyzer_errors == {}
    assert result.metrics.blocks == [] and result.metrics.mi == 100.0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x = 1\x00\n", "binary content"),
        ("x = '\udcff'\n", "not valid UTF-8"),
        ("x = 1\n" * 20, "over the size limit of 100 bytes"),
    ],
)
def test_skipped_files_get_one_information_finding(text: str, reason: str) -> None:
    settings, _ = merge({"maxFileSize": 100})
    result = engine.analyze(text, settings)
    assert result.skipped and reason in result.skipped
    [f] = result.findings
    assert (f.code, f.severity, f.category, f.line) == ("TAPPS-SKIP", "information", "file", 0)


def test_a_missing_ruff_is_one_message_and_the_rest_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ruff, "binary", lambda: "/nonexistent/ruff")
    result = review("import subprocess\nsubprocess.call('x', shell=True)\ndef f(:\n")
    assert set(result.analyzer_errors) == {"ruff"}
    assert result.analyzer_errors["ruff"].startswith("ruff could not start")
    # Without ruff the syntax error still gets a finding, from our own parser.
    assert only(result, "TAPPS-SYNTAX").line == 2


def _fake_ruff(tmp_path: Path, body: str) -> str:
    path = tmp_path / "ruff"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_a_bad_rule_selector_gets_ruffs_own_message() -> None:
    settings, _ = merge({"lintSelect": ["E", "NOPE"]})
    result = review("x = 1\n", settings)
    assert result.analyzer_errors == {
        "ruff": "ruff exited with 2: ruff failed; "
        "Cause: Unknown rule selector `NOPE` in `select` from the CLI"
    }


def test_a_crashing_ruff(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ruff, "binary", lambda: _fake_ruff(tmp_path, "echo boom >&2; exit 3"))
    result = review("x = 1\n")
    assert result.analyzer_errors == {"ruff": "ruff exited with 3: boom"}
    assert result.metrics.mi == 100.0


def test_a_hanging_ruff_is_killed_with_its_children(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {pid_file}; wait"
    monkeypatch.setattr(ruff, "binary", lambda: _fake_ruff(tmp_path, script))
    settings, _ = merge({"toolTimeout": 1.0})
    result = review("x = 1\n", settings)
    assert result.analyzer_errors == {"ruff": "ruff timed out after 1 s"}
    # The whole process group was killed, so the child ends (reaped, or a zombie waiting
    # for its new parent) instead of running its 30 s; on a loaded machine the kernel may
    # take a moment to finish it, so /proc is polled under a deadline.
    stat_file = Path(f"/proc/{int(pid_file.read_text())}/stat")

    def ended() -> bool:
        try:
            return stat_file.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except (FileNotFoundError, ProcessLookupError):
            return True

    deadline = time.monotonic() + 10
    while not ended():
        assert time.monotonic() < deadline, "the tool's child is still running"
        time.sleep(0.02)


def test_a_runaway_in_process_analyzer_is_stopped_by_the_file_s_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def spin(*args: object) -> None:
        # Busy like a runaway analysis; gives up by itself after 20 s so that a
        # missing budget fails this test instead of hanging it.
        end = time.monotonic() + 20
        while time.monotonic() < end:
            pass
        raise AssertionError("the budget did not stop the analysis")

    monkeypatch.setattr(fastmetrics, "compute", spin)
    settings, _ = merge({"fileBudget": 0.3})
    result = review("import os\nimport subprocess\nsubprocess.call('x', shell=True)\n", settings)
    assert "0.3 s of CPU (setting fileBudget)" in only(result, "TAPPS-BUDGET").message
    assert result.skipped is not None and result.analyzer_errors == {}
    # Lint is kept; security (S602) was not measured, so it is not shown either.
    assert [f.code for f in result.findings] == ["TAPPS-BUDGET", "F401"]
    assert "performance" not in result.timings  # nothing ran after the runaway step
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def huge_module(functions: int) -> str:
    """Ordinary code, but a megabyte of it: parse and metrics take about a second."""
    head = "import os\nimport subprocess\nsubprocess.call('x', shell=True)\n"
    return head + "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(functions))


def test_a_file_over_its_budget_is_not_scored_and_keeps_its_lint() -> None:
    text = huge_module(25_000)  # 0.9 MB: ast.parse alone takes 0.35 s of CPU on 2 cores
    settings, _ = merge({"fileBudget": 0.05})
    result = engine.analyze(text, settings)
    assert only(result, "TAPPS-BUDGET").line == 0
    assert [f.code for f in result.findings] == ["TAPPS-BUDGET", "F401"]
    # The budget ran out in ast.parse, which cannot be interrupted: found spent after it.
    assert "parse" in result.timings and "metrics" not in result.timings
    review = scoring.score(result, ProjectInfo(), settings, "huge.py")
    assert review.scores == {} and review.passed


def test_the_same_file_within_its_budget_is_measured() -> None:
    result = engine.analyze(huge_module(300), merge({})[0])  # the default budget
    assert result.skipped is None and result.metrics.mi is not None
    assert {"F401", "S602"} <= {f.code for f in result.findings}


def test_the_budget_leaves_a_profiler_s_timer_alone() -> None:
    def profiler(signum: int, frame: FrameType | None) -> None:
        ticks.append(signum)

    ticks: list[int] = []
    previous = signal.signal(signal.SIGPROF, profiler)
    try:
        settings, _ = merge({"fileBudget": 0.05})
        result = engine.analyze(huge_module(3000), settings)
        assert result.skipped is None  # unbounded rather than steal the profiler's signal
        assert signal.getsignal(signal.SIGPROF) is profiler
    finally:
        signal.signal(signal.SIGPROF, previous)


def test_a_crashing_in_process_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("plugin failed")

    monkeypatch.setattr("tapps_lsp.review.analyzers.bandit_security.scan", boom)
    result = review("import os\n")
    assert result.analyzer_errors == {"bandit": "bandit crashed: RuntimeError: plugin failed"}
    assert only(result, "F401")


def test_batch_equals_single_file_reviews() -> None:
    items = [
        ("a.py", "import os\n"),
        ("b.py", "def f():\n    return g\n"),
        ("__init__.py", "import os\n"),
        ("c.py", "x = 1\x00"),
        ("notebook.ipynb", "import os\n"),  # linted as Python, not as a notebook's JSON
        ("/some/dir/", "import os\n"),
    ]
    batch = engine.analyze_batch(items, SETTINGS)
    single = [engine.analyze(text, SETTINGS, filename=name) for name, text in items]
    assert batch == single
    assert batch[3].skipped
    assert [f.code for f in batch[4].findings] == ["F401"]
    assert [f.code for f in batch[5].findings] == ["F401"]


def test_mypy_when_enabled() -> None:
    settings, _ = merge({"mypyEnabled": True})
    result = review('def f(x: int) -> str:\n    return x\n\ny: int = "a"\n', settings)
    assert result.analyzer_errors == {}
    assert result.metrics.type_errors == 2
    codes = {(f.code, f.line, f.severity) for f in result.findings if f.source == "mypy"}
    assert codes == {("return-value", 1, "error"), ("assignment", 3, "error")}


def test_tool_versions() -> None:
    versions = tool_versions()
    assert set(versions) >= {"tapps-lsp", "ruff", "radon", "bandit"}
    assert all(isinstance(v, str) and v for v in versions.values())


def test_findings_are_capped_per_file_and_the_scores_count_them_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One undefined name per operand: 3,000 F821 errors, an E501 warning, an F401 hint.
    text = "import os\n\nx = " + " and ".join(["a"] * 3000) + "\n"
    settings, _ = merge({"severityOverrides": {"F401": "hint"}})
    result = engine.analyze(text, settings)
    cap = engine.MAX_FINDINGS
    monkeypatch.setattr(engine, "MAX_FINDINGS", 10**6)
    everything = engine.analyze(text, settings)
    assert len(everything.findings) > 3000
    assert "TAPPS-MORE" not in {f.code for f in everything.findings}
    assert len(result.findings) == cap
    notice = result.findings[0]
    assert notice.code == "TAPPS-MORE" and notice.line == 0
    left_out = len(everything.findings) - (cap - 1)
    assert notice.message.startswith(f"{left_out:,} more findings in this file are not shown")
    # The most severe are kept, in their order: errors only here.
    errors = [f for f in everything.findings if f.severity == "error"]
    assert result.findings[1:] == errors[: cap - 1]
    assert result.metrics == everything.metrics
    review = scoring.score(result, ProjectInfo(), settings, "chain.py")
    assert review.scores == scoring.score(everything, ProjectInfo(), settings, "chain.py").scores


def test_a_file_notice_survives_the_cap() -> None:
    # 0.8 MB, over the budget in ast.parse alone; 25,000 undefined names for ruff.
    text = "".join(f"def f{i}(x):\n    return y + {i}\n" for i in range(25_000))
    result = engine.analyze(text, merge({"fileBudget": 0.05})[0])
    assert [f.code for f in result.findings[:3]] == ["TAPPS-MORE", "TAPPS-BUDGET", "F821"]
    assert len(result.findings) == engine.MAX_FINDINGS


def test_bandit_is_loaded_only_by_a_review_that_needs_it() -> None:
    """Each worker would otherwise hold bandit and its plugins (about 5 MB) for nothing."""
    script = textwrap.dedent(
        """
        import sys
        from tapps_lsp.settings_merge import merge
        from tapps_lsp.review import engine
        engine.warm_up()
        engine.analyze("import os\\n", merge({})[0])
        print("bandit" in sys.modules)
        engine.analyze("import os\\n", merge({"securityEngine": "bandit"})[0])
        print("bandit" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "True"]
