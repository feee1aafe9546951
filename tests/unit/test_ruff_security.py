"""securityEngine = "ruff": ruff's flake8-bandit rules scored with bandit's severities.

The table of S code -> (bandit test id, severity, confidence) is checked
against the installed ruff (every flake8-bandit rule is in it) and the
installed bandit (each test id exists; blacklist levels exactly; for plugins,
the pair is one the plugin's source can report).
"""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import textwrap
from collections.abc import Callable

import pytest
from bandit.blacklists import calls as bandit_calls
from bandit.blacklists import imports as bandit_imports
from bandit.core import extension_loader

from tapps_lsp.config import Settings
from tapps_lsp.review import engine
from tapps_lsp.review.analyzers import ruff, ruff_security
from tapps_lsp.review.model import FileResult

# ruff rules that no installed bandit test matches (bandit dropped its lxml tests).
NO_BANDIT_TEST = {"S320", "S410"}
# Bandit tests whose severity or confidence is computed, not a literal.
COMPUTED = {"B103", "B505", "B608"}

RUFF = Settings(securityEngine="ruff")


def review(source: str) -> FileResult:
    return engine.analyze(textwrap.dedent(source), RUFF)


def _ruff_bandit_codes() -> set[str]:
    done = subprocess.run(
        [ruff.binary(), "rule", "--all", "--output-format", "json"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return {r["code"] for r in json.loads(done.stdout) if r.get("linter") == "flake8-bandit"}


def test_every_ruff_bandit_rule_is_in_the_table() -> None:
    assert _ruff_bandit_codes() - NO_BANDIT_TEST == set(ruff_security.TABLE)


def test_blacklist_entries_have_bandits_levels() -> None:
    levels = {}
    for module in (bandit_calls, bandit_imports):
        for entries in module.gen_blacklist().values():
            for e in entries:
                levels[e["id"]] = e["level"]
    for code, (test_id, severity, confidence) in ruff_security.TABLE.items():
        if test_id in levels:
            # Bandit gives every blacklist finding HIGH confidence.
            assert (severity, confidence) == (levels[test_id], "HIGH"), code


def test_import_blacklist_is_bandits() -> None:
    theirs = {e["id"]: tuple(e["qualnames"]) for e in bandit_imports.gen_blacklist()["Import"]}
    ours = {ruff_security.TABLE[code][0]: names for code, names in ruff_security.IMPORTS}
    assert ours == theirs
    assert [ruff_security.TABLE[c][0] for c, _ in ruff_security.IMPORTS] == list(theirs)


def _literal_pairs(function: Callable[..., object]) -> set[tuple[str, str]]:
    """(severity, confidence) of each bandit.Issue(...) in the plugin's module."""
    module = inspect.getmodule(function)
    assert module is not None
    tree = ast.parse(inspect.getsource(module))
    pairs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Issue":
            kw = {k.arg: k.value for k in node.keywords}
            sev, conf = kw.get("severity"), kw.get("confidence")
            if isinstance(sev, ast.Attribute) and isinstance(conf, ast.Attribute):
                pairs.add((sev.attr, conf.attr))
    return pairs


def test_plugin_entries_are_levels_bandit_reports() -> None:
    plugins = extension_loader.MANAGER.plugins_by_id
    blacklisted = set(extension_loader.MANAGER.blacklist_by_id)
    for code, (test_id, severity, confidence) in ruff_security.TABLE.items():
        assert test_id in plugins or test_id in blacklisted, code
        if test_id in plugins and test_id not in COMPUTED:
            pairs = _literal_pairs(plugins[test_id].plugin)
            assert (severity, confidence) in pairs, (code, pairs)


def test_shell_true_is_a_high_security_finding_not_lint() -> None:
    result = review(
        """\
        import subprocess


        def run(cmd):
            return subprocess.call(
                cmd,
                shell=True,
            )
        """
    )
    codes = sorted(f.code for f in result.findings if f.category == "security")
    assert codes == ["S404", "S602"]
    s602 = next(f for f in result.findings if f.code == "S602")
    assert (s602.source, s602.severity) == ("ruff", "error")
    assert s602.data["bandit"] == "B602" and s602.data["confidence"] == "HIGH"
    # Bandit's line: the `shell=` argument, not the call.
    assert (s602.line, s602.col, s602.end_col) == (6, 8, 18)
    assert result.metrics.security_counts == {"HIGH": 1, "MEDIUM": 0, "LOW": 1}
    assert result.metrics.lint_counts == {"E": 0, "F": 0, "W": 0}
    assert "bandit" not in result.timings


def test_a_literal_shell_command_is_low_as_in_bandit() -> None:
    result = review("import os\nos.system('ls')\n")
    s605 = next(f for f in result.findings if f.code == "S605")
    assert s605.data["severity"] == "LOW" and s605.severity == "information"


def test_nosec_is_honoured() -> None:
    source = "import subprocess  # nosec\nsubprocess.call(x, shell=True)  # nosec: B602\n"
    assert [f for f in review(source).findings if f.category == "security"] == []
    result = review("import pickle  # nosec B602\n")
    assert [f.code for f in result.findings if f.category == "security"] == ["S403"]


def test_noqa_is_honoured_for_every_s_code() -> None:
    source = "import pickle  # noqa: S403\nimport os\nos.system(x)  # noqa: S605\n"
    assert [f for f in review(source).findings if f.category == "security"] == []


def test_a_broken_ruff_leaves_security_to_bandit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ruff, "binary", lambda: "/nonexistent/ruff")
    result = review("import subprocess\nsubprocess.call(x, shell=True)\n")
    assert list(result.analyzer_errors) == ["ruff"]
    assert result.metrics.security_counts == {"HIGH": 1, "MEDIUM": 0, "LOW": 1}
    assert {f.code for f in result.findings if f.category == "security"} == {"B404", "B602"}


def test_imports_as_bandit_matches_them() -> None:
    result = review("from xml.dom import minidom\nimport os, ftplib\nimport pickletools\n")
    security = [f for f in result.findings if f.category == "security"]
    found = [(f.code, f.line, f.data["severity"]) for f in security]
    # Bandit matches by prefix, so pickletools is a pickle import to it too.
    assert found == [("S408", 0, "LOW"), ("S402", 1, "HIGH"), ("S403", 2, "LOW")]


def test_a_file_with_a_syntax_error_has_no_security_findings() -> None:
    result = review("import subprocess\nsubprocess.call(x, shell=True)\ndef (:\n")
    assert result.metrics.syntax_error
    assert not [f for f in result.findings if f.category == "security"]
    assert not [f for f in result.findings if f.code.startswith("S")]


def test_lint_only_selected_s_codes_stay_lint_with_bandit() -> None:
    settings = Settings(lintSelect=["E", "F", "W", "S101"], securityEngine="bandit")
    result = engine.analyze("assert x\n", settings)
    s101 = next(f for f in result.findings if f.code == "S101")
    assert s101.category == "linting"
    assert result.metrics.security_counts == {"HIGH": 0, "MEDIUM": 0, "LOW": 1}  # B101


def test_batch_equals_single_files() -> None:
    items = [("a.py", "import subprocess\nsubprocess.call(x, shell=True)\n"), ("b.py", "x = 1\n")]
    batch = engine.analyze_batch(items, RUFF)
    for (name, text), result in zip(items, batch, strict=True):
        single = engine.analyze(text, RUFF, filename=name)
        assert [f.to_dict() for f in result.findings] == [f.to_dict() for f in single.findings]
        assert result.metrics.security_counts == single.metrics.security_counts


# ---- where ruff's S rules and bandit 1.9 differ (issue 15 item 6) --------------------------


def _both_engines(source: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(bandit test id, 1-based line) of each security finding: the ruff engine, bandit's."""
    source = textwrap.dedent(source)
    ours = sorted(
        (f.data["bandit"], f.line + 1) for f in review(source).findings if f.category == "security"
    )
    bandit = engine.analyze(source, Settings(securityEngine="bandit"))
    theirs = sorted((f.code, f.line + 1) for f in bandit.findings if f.category == "security")
    return ours, theirs


def test_nosec_on_the_first_line_of_a_statement_covers_its_other_lines() -> None:
    ours, theirs = _both_engines(
        """\
        import subprocess  # nosec B404

        out = subprocess.run(  # nosec B603 B607
            ["ls", "-l"], check=True
        )
        bare = subprocess.run(  # nosec
            ["ls", "-l"],
        )
        other = subprocess.run(  # nosec B603
            ["ls", "-l"],
        )
        """
    )
    # ruff finds S607 at the argument (line 10); it is moved to the call, as bandit.
    assert ours == theirs == [("B607", 9)]


def test_nosec_does_not_reach_past_the_statement() -> None:
    ours, theirs = _both_engines(
        """\
        import subprocess  # nosec B404


        def run(cmd):  # nosec
            return subprocess.run(
                cmd,
            )
        """
    )
    assert ours == theirs == [("B603", 5)]


def test_assert_under_type_checking_is_reported_as_bandit_does() -> None:
    ours, theirs = _both_engines(
        """\
        import typing
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            assert 2
        if typing.TYPE_CHECKING:
            assert 4
        assert 5
        """
    )
    assert ours == theirs == [("B101", 5), ("B101", 7), ("B101", 8)]


def test_random_sample_and_getrandbits_are_b311() -> None:
    ours, theirs = _both_engines(
        """\
        import random
        import random as r2
        from random import getrandbits as bits, sample

        a = random.getrandbits(8)
        b = r2.getrandbits(8)
        c = bits(8)
        d = sample([1, 2], 1)
        e = random.choice([1])
        """
    )
    assert ours == theirs == [("B311", n) for n in (5, 6, 7, 8, 9)]


def test_password_like_dict_keys_are_b105() -> None:
    ours, theirs = _both_engines(
        """\
        config = {"password": "hunter2", "db_passwd": None, "token": 3, "user": "bob"}
        other = {"secret": make(), "PWD_": "x", "my_token_id": "y"}
        """
    )
    assert ours == theirs == [("B105", 1)] * 3 + [("B105", 2)] * 2
    finding = next(f for f in review('d = {"password": "x"}\n').findings if f.code == "S105")
    assert finding.data["severity"] == "LOW" and (finding.col, finding.end_col) == (5, 20)


def test_run_with_debug_true_in_a_flask_file_is_b201() -> None:
    ours, theirs = _both_engines(
        """\
        import flask
        from flask import Flask


        def test_app(app):
            app.run(debug=True)


        def other(thing):
            thing.run(
                host="0.0.0.0",
                debug=True,
            )
            thing.run(debug=False)


        real = Flask(__name__)
        real.run(debug=True)
        """
    )
    assert ours == theirs == [("B104", 11), ("B201", 6), ("B201", 12), ("B201", 18)]
    # Without a flask import bandit reports nothing, and neither does the ruff engine.
    ours, theirs = _both_engines("def test_app(app):\n    app.run(debug=True)\n")
    assert ours == theirs == []


def test_requests_calls_differ_from_bandit_as_documented() -> None:
    # docs/scoring.md: bandit misses `requests.request` without a timeout and flags
    # `requests.codes.get` (a dict lookup); ruff's S113 is right on both.
    ours, theirs = _both_engines(
        """\
        import requests

        r = requests.request("GET", "https://example.com")
        c = requests.codes.get("ok")
        """
    )
    assert ours == [("B113", 3)]
    assert theirs == [("B113", 4)]


def test_added_findings_link_to_ruffs_rule_as_ruffs_own_do() -> None:
    done = subprocess.run(
        [ruff.binary(), "rule", "--all", "--output-format", "json"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    names = {r["code"]: r["name"] for r in json.loads(done.stdout)}
    for code, name in ruff_security._RULE_NAMES.items():
        assert names[code] == name
    finding = next(f for f in review('d = {"password": "x"}\n').findings if f.code == "S105")
    assert finding.url == "https://docs.astral.sh/ruff/rules/hardcoded-password-string"
    assert finding.data["name"] == "hardcoded-password-string"
