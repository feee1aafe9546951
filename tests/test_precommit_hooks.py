""".pre-commit-hooks.yaml: the hook runs `tapps-lsp check` on changed files as pre-commit does."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _run_hook(
    hook: dict[str, Any], files: list[Path], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """What pre-commit runs: the entry, its args, then the changed file names."""
    entry = shlex.split(hook["entry"])
    assert entry[0] == "tapps-lsp"
    script = shutil.which("tapps-lsp", path=str(Path(sys.executable).parent))
    command = [script or "tapps-lsp", *entry[1:], *hook.get("args", []), *map(str, files)]
    env = {**os.environ, "TAPPS_LSP_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_hook_reviews_changed_files_and_stops_a_failing_commit(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "tapps-lsp")
    assert hook["language"] == "python" and "python" in hook["types_or"]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    good = tmp_path / "good.py"
    good.write_text('"""A module."""\n\nVALUE = 1\n')
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\n\n\ndef run(c):\n    subprocess.call(c, shell=True)\n")
    assert _run_hook(hook, [good], tmp_path).returncode == 0
    failed = _run_hook(hook, [good, bad], tmp_path)
    assert failed.returncode == 1 and "bad.py" in failed.stdout
