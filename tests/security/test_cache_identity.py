"""A cached result is served only to the file it is true for (issue 13, smaller items).

- The stat index must notice a same-size rewrite whose mtime was put back
  (`touch -r`): its ctime changed, as git's index would notice.
- The content key must tell apart files whose names change the result: an
  `__init__.py` with a.py's text gets no quick fix for an unused import,
  while two ordinary modules with the same text still share one entry.

Both through the real `tapps-lsp check`, twice, on one cache directory.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from security.conftest import run_check

LONG_AGO_NS = time.time_ns() - 3600 * 10**9  # old enough for the stat index to trust


def check_json(repo: Path, cache_dir: Path, *paths: str) -> dict[str, Any]:
    done = run_check("--format", "json", *paths, cwd=repo, cache_dir=cache_dir)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def codes(report: dict[str, Any]) -> list[str]:
    return [f["code"] for f in report["files"][0]["findings"]]


def test_same_size_rewrite_with_its_mtime_put_back_is_read_again(
    repo: Path, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    target = repo / "mod.py"
    target.write_text("x = 1\n")
    os.utime(target, ns=(LONG_AGO_NS, LONG_AGO_NS))
    first = check_json(repo, cache_dir, "mod.py")
    assert "F821" not in codes(first) and first["summary"]["fromCache"] == 0
    again = check_json(repo, cache_dir, "mod.py")
    assert again["summary"]["fromCache"] == 1  # the stat index knows it now

    # Same size, new text, the old mtime restored (`touch -r`): the ctime is new.
    target.write_text("x = y\n")
    os.utime(target, ns=(LONG_AGO_NS, LONG_AGO_NS))
    assert target.stat().st_size == 6 and target.stat().st_mtime_ns == LONG_AGO_NS
    rewritten = check_json(repo, cache_dir, "mod.py")
    assert "F821" in codes(rewritten), rewritten["files"][0]["findings"]
    assert rewritten["summary"]["fromCache"] == 0


def unused_import_fix(report: dict[str, Any]) -> dict[str, Any] | None:
    (finding,) = [f for f in report["files"][0]["findings"] if f["code"] == "F401"]
    fix: dict[str, Any] | None = finding.get("fix")
    return fix


def test_an_init_module_does_not_inherit_a_modules_fix(repo: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    (repo / "pkg").mkdir()
    for name in ("a.py", "b.py", "pkg/__init__.py"):
        (repo / name).write_text("import os\n")

    module = check_json(repo, cache_dir, "a.py")
    fix = unused_import_fix(module)
    assert fix is not None and fix["safe"] is True

    # Same text in a package's __init__: ruff offers no fix there (removing the
    # import would change the package's interface); the cache must not offer a.py's.
    package = check_json(repo, cache_dir, "pkg/__init__.py")
    assert package["summary"]["fromCache"] == 0
    assert unused_import_fix(package) is None

    # Another ordinary module with the same text still shares a.py's entry.
    other = check_json(repo, cache_dir, "b.py")
    assert other["summary"]["fromCache"] == 1
    assert unused_import_fix(other) == fix

    # And the package's own entry is there for it next time.
    again = check_json(repo, cache_dir, "pkg/__init__.py")
    assert again["summary"]["fromCache"] == 1 and unused_import_fix(again) is None
