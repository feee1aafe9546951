"""Our in-process bandit reports exactly what `bandit -f json` reports.

The engine drives bandit's node visitor itself (one parse shared with the
other analyzers, `# nosec` read only when present), so this checks the
shortcut against bandit's own command line on files with issues of every
severity and `# nosec` comments (uuid.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

from tapps_lsp.config import Settings
from tapps_lsp.review import engine
from tapps_lsp.review.positions import split_lines, to_units

STDLIB = Path(sysconfig.get_paths()["stdlib"])
BANDIT = Path(sys.executable).with_name("bandit")
FILES = ["uuid.py", "subprocess.py", "tempfile.py", "random.py", "shlex.py"]


def test_issues_equal_bandits_command_line() -> None:
    paths = [STDLIB / name for name in FILES]
    done = subprocess.run(
        [str(BANDIT), "-q", "-f", "json", *map(str, paths)],
        capture_output=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    assert report["errors"] == []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        lines = split_lines(text)
        theirs = sorted(
            (r["test_id"], r["line_number"], r["col_offset"], r["issue_severity"])
            for r in report["results"]
            if Path(r["filename"]) == path
        )
        result = engine.analyze(text, Settings(securityEngine="bandit"), filename=path.name)
        ours = sorted(
            (
                f.code,
                f.line + 1,
                to_units(lines[f.line], f.col, "utf-8"),
                {"error": "HIGH", "warning": "MEDIUM", "information": "LOW"}[f.severity],
            )
            for f in result.findings
            if f.source == "bandit"
        )
        assert ours == theirs, path
    assert len(report["results"]) >= 10
