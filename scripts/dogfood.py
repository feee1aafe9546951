"""The project's own bar on its own package, the last step of `make dogfood`.

Runs `tapps-lsp check tapps_lsp --format json` (which reads the coverage.xml that
`make dogfood` wrote at the repository root as the measured test coverage) and fails
when any file fails its gate or any function or method has a cyclomatic complexity
above 15, both by the project's own engine.

Usage: python scripts/dogfood.py [--max-complexity N] [PACKAGE]
Exit status: 0 when everything passes, 1 when something does not, 2 when the check
itself could not run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAX_COMPLEXITY = 15


def run_check(package: str) -> dict[str, Any]:
    """The JSON report of `tapps-lsp check PACKAGE`, run from the repository root."""
    command = [
        sys.executable,
        "-m",
        "tapps_lsp",
        "check",
        package,
        "--format",
        "json",
        "--no-cache",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"`{' '.join(command[2:])}` exited {done.returncode}:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def gate_failures(report: dict[str, Any]) -> list[str]:
    """One line for each file that fails its gate, with its score and weakest category."""
    return [
        f"{entry['path']}: {entry['overall']:.1f} < {entry['threshold']:.0f} "
        f"(weakest: {entry.get('weakest')})"
        for entry in report["files"]
        if not entry["passed"]
    ]


def complex_functions(report: dict[str, Any], limit: int) -> list[str]:
    """One line for each function or method whose complexity is above `limit`."""
    found = []
    for entry in report["files"]:
        for block in entry["metrics"]["blocks"]:
            if block["kind"] != "class" and block["complexity"] > limit:
                found.append(
                    f"{entry['path']}:{block['line']}: {block['name']} "
                    f"has complexity {block['complexity']} > {limit}"
                )
    return found


def coverage_summary(path: Path) -> str:
    """The line rate coverage.xml gives the whole package, or why there is none."""
    if not path.is_file():
        return f"{path.name}: not found (test coverage is not measured)"
    rate = float(ET.parse(path).getroot().get("line-rate", "0"))
    return f"{path.name}: {rate * 100:.1f}% of lines covered"


def main(argv: list[str] | None = None) -> int:
    """Check the package; print what fails; 0 if nothing does, 1 if something does."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", default="tapps_lsp")
    parser.add_argument("--max-complexity", type=int, default=MAX_COMPLEXITY)
    args = parser.parse_args(argv)
    try:
        report = run_check(args.package)
    except (RuntimeError, ValueError) as error:
        print(f"dogfood: {error}", file=sys.stderr)
        return 2
    summary = report["summary"]
    print(coverage_summary(ROOT / "coverage.xml"))
    print(
        f"{summary['files']} files, {summary['passed']} passed, mean score {summary['meanScore']}"
    )
    failures = gate_failures(report)
    too_complex = complex_functions(report, args.max_complexity)
    for line in failures:
        print(f"gate failed: {line}")
    for line in too_complex:
        print(f"too complex: {line}")
    if failures or too_complex:
        print(
            f"dogfood: {len(failures)} files fail their gate, {len(too_complex)} functions "
            f"are over complexity {args.max_complexity}"
        )
        return 1
    print(
        f"dogfood: every file passes its gate; no function is over complexity {args.max_complexity}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
