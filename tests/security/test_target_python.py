"""The project's Python is read from files a cloned repository writes.

`ruff.toml`, `.ruff.toml` and `pyproject.toml` at a project root decide which
Python a file is judged by. A repository can make them a FIFO, a symlink to
/dev/zero or to a file outside it, a huge file or a deeply nested TOML: each
is passed over (the server's own Python applies) without hanging, reading
outside the folder or growing the process.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapps_lsp.review import target

from .conftest import run_check

MATCH = "def f(x):\n    match x:\n        case 1:\n            return 1\n    return 0\n"


def test_a_fifo_or_dev_zero_as_ruff_toml_is_passed_over(repo: Path, memory_cap: int) -> None:
    os.mkfifo(repo / "ruff.toml")  # opening it for reading would block without O_NONBLOCK
    os.symlink("/dev/zero", repo / ".ruff.toml")  # reading it would never end
    (repo / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.9"\n')
    # ruff's own files are refused, so requires-python decides.
    assert target.python_settings(repo) == (
        {"pythonVersion": "3.9"},
        "pyproject.toml requires-python",
    )


def test_a_link_out_of_the_project_is_not_followed(tmp_path: Path, repo: Path) -> None:
    secret = tmp_path / "elsewhere.toml"
    secret.write_text('target-version = "py38"\n')
    os.symlink(secret, repo / "ruff.toml")
    assert target.python_settings(repo) is None


@pytest.mark.parametrize(
    "text",
    [
        "[project]\nrequires-python = '>=3.9'\n" + "# padding\n" * 200_000,  # over 1 MiB
        "x = " + "[" * 100_000 + "]" * 100_000 + "\n",  # nesting past the parser's depth
        "[project\n",  # not TOML
        "\x00\x01binary",
    ],
    ids=["huge", "deep", "broken", "binary"],
)
def test_a_hostile_pyproject_is_passed_over(repo: Path, memory_cap: int, text: str) -> None:
    (repo / "pyproject.toml").write_text(text)
    assert target.python_settings(repo) is None


def test_check_on_a_hostile_project_judges_by_the_servers_python(
    repo: Path, tmp_path: Path
) -> None:
    os.mkfifo(repo / "ruff.toml")
    (repo / "pyproject.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (repo / "m.py").write_text(MATCH)
    done = run_check(str(repo), cwd=tmp_path, cache_dir=tmp_path / "cache", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "invalid-syntax" not in done.stdout and "passes the gate" in done.stdout
