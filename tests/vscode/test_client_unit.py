"""The VS Code client's TypeScript unit tests (vscode-client/test), run by `make test`.

They cover the parts of the extension that need no running VS Code (VS Code is stubbed
through src/common/vscodeapi.ts): the interpreter it picks, the command lines it starts
Python with (`-I`, outside the workspace) and the Restricted Mode check. Built with the
extension's own esbuild and run with node's built-in test runner (`make -C vscode-client
test`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "vscode-client"
NODE = shutil.which("node")
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(
    NODE is None or MAKE is None or not (CLIENT / "node_modules" / ".bin" / "esbuild").exists(),
    reason="node, make or the client's npm packages are missing "
    "(`make -C vscode-client deps` installs the packages)",
)


def test_typescript_unit_tests_pass() -> None:
    proc = subprocess.run(
        [str(MAKE), "-s", "-C", str(CLIENT), "test", f"TAPPS_TEST_PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    # node --test's summary: every test ran and passed.
    assert "# fail 0" in output and "# pass 0" not in output, output[-8000:]
