"""The Analyzer protocol: the registry is what the engine runs, one result shape for all.

A new analyzer is a module implementing `base.Analyzer` plus one registry line:
these tests add one (counting `TODO` comments) to the registry the engine
reads and check that it is run, timed, merged, and that its crash is its one
message, in a single review and in a scan's batch alike. They also pin the one
severity-override rule, the one notice constructor, and that hover's and
fix-all's ruff command lines go through `run_tool` (and so are logged).
"""

from __future__ import annotations

import logging
from dataclasses import fields

import pytest

from tapps_lsp import convert
from tapps_lsp.config import Settings
from tapps_lsp.review import engine
from tapps_lsp.review.analyzers import ruff, syntax
from tapps_lsp.review.analyzers.base import Analyzer, Outcome, Source, Stage
from tapps_lsp.review.analyzers.registry import REGISTRY
from tapps_lsp.review.model import Finding, Metrics, overridden_severity
from tapps_lsp.review.skips import skipped_result

SETTINGS = Settings()


class Todo(Analyzer):
    """A toy analyzer: one finding per `TODO` comment, their count as `loc`."""

    name = "todo"
    stage = Stage.TREE

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def wanted(self, source: Source) -> bool:
        """For a file that parses."""
        return source.module is not None

    def analyze(self, source: Source) -> Outcome:
        """A finding per line with a TODO."""
        if self.fail:
            raise RuntimeError("plugin failed")
        found = [
            Finding("tapps", "TODO", "A TODO", "hint", "maintainability", i, 0, i, len(line))
            for i, line in enumerate(source.lines)
            if "# TODO" in line
        ]
        return Outcome(found)


TEXT = "import os\n\n# TODO: remove\nx = 1\n"


def test_every_analyzer_of_the_registry_has_a_name_a_stage_and_a_unique_key() -> None:
    names = [a.name for a in REGISTRY]
    assert len(set(names)) == len(names)
    assert {a.stage for a in REGISTRY} == set(Stage)
    assert "parse" not in names  # the engine's own step


@pytest.mark.parametrize("engine_name", ["ruff", "bandit"])
@pytest.mark.parametrize("text", ["import subprocess\nsubprocess.call('x', shell=1)\n", "x = (\n"])
def test_every_metric_an_analyzer_sets_is_a_metrics_field(engine_name: str, text: str) -> None:
    known = {f.name for f in fields(Metrics)}
    source = Source(text, text.splitlines(), "a.py", Settings(securityEngine=engine_name))
    ran = []
    for stage in Stage:
        if stage is Stage.TREE:
            source.tree = syntax.parse(text)
        for analyzer in REGISTRY:
            if analyzer.stage is stage and analyzer.wanted(source):
                outcome = analyzer.analyze(source)
                assert outcome.error is None and set(outcome.metrics) <= known, analyzer.name
                ran.append(analyzer.name)
    assert "ruff" in ran and ("syntax" in ran) == (text == "x = (\n")


def test_an_analyzer_added_to_the_registry_is_run_timed_and_merged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "REGISTRY", (*REGISTRY, Todo()))
    result = engine.analyze(TEXT, SETTINGS)
    assert [f.code for f in result.findings] == ["F401", "TODO"]
    assert "todo" in result.timings and result.analyzer_errors == {}
    # The scan's path (one ruff for the chunk) runs it too.
    batch = engine.analyze_batch([("a.py", TEXT), ("b.py", TEXT)], SETTINGS)
    assert [[f.code for f in r.findings] for r in batch] == [["F401", "TODO"]] * 2


def test_a_crashing_analyzer_is_its_one_message_and_the_others_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "REGISTRY", (*REGISTRY, Todo(fail=True)))
    result = engine.analyze(TEXT, SETTINGS)
    assert result.analyzer_errors == {"todo": "todo crashed: RuntimeError: plugin failed"}
    assert [f.code for f in result.findings] == ["F401"]
    assert result.metrics.mi is not None


def test_an_analyzer_outside_the_registry_does_not_run() -> None:
    assert "TODO" not in {f.code for f in engine.analyze(TEXT, SETTINGS).findings}


def test_one_severity_override_rule_for_the_engine_and_the_editor() -> None:
    overrides = {"F": "hint", "F40": "error", "": "warning"}
    assert overridden_severity("F401", "warning", overrides) == "error"
    assert overridden_severity("F821", "error", overrides) == "hint"
    # The empty prefix matches every code, in the engine and in convert alike.
    assert overridden_severity("TAPPS-GATE", "warning", {"": "hint"}) == "hint"
    gate = Finding.notice("TAPPS-GATE", "fails", category="gate", severity="warning")
    assert convert.severity(gate, {"": "hint"}) == convert.SEVERITY["hint"]
    result = engine.analyze("import os\n", Settings(severityOverrides={"": "hint"}))
    assert [f.severity for f in result.findings] == ["hint"]


def test_a_notice_is_an_information_finding_about_the_whole_file_on_line_1() -> None:
    notice = Finding.notice("TAPPS-SKIP", "File skipped")
    assert (notice.line, notice.col, notice.end_line, notice.end_col) == (0, 0, 0, 0)
    assert (notice.source, notice.severity, notice.category) == ("tapps", "information", "file")
    assert skipped_result("File skipped").findings == [notice]


def test_hover_and_fix_all_run_ruff_through_run_tool(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tapps_lsp.review")
    assert "unused" in ruff.rule_explanation("F401").lower()
    assert ruff.fix_all("import os\nx = 1\n", SETTINGS, "a.py") == "x = 1\n"
    ran = [r.getMessage() for r in caplog.records if r.getMessage().startswith("running ")]
    assert any(" rule F401 --output-format json" in line for line in ran), ran
    assert any(" check --fix-only --isolated" in line for line in ran), ran
