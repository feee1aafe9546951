"""A cache directory another local user could read, swap or write is refused (issue 13, item 10).

Each test points `TAPPS_LSP_CACHE_DIR` at a directory set up the way another
user (or a careless setup) could leave it, runs the real `tapps-lsp check` or
`tapps-lsp cache ...` on a small repository, and checks that the review is
still right, that one warning says why the directory was refused, and that
nothing in the directory was used, created or re-moded.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from robustness.raw import Raw, RequestFailed, server_env

from security.conftest import TAPPS, limit_address_space, run_check

# A finding the poisoned database leaves out: the victim's run must still report it.
SHELL_CALL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
def source(repo: Path) -> Path:
    (repo / "a.py").write_text(SHELL_CALL)
    return repo


def refusals(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "refused the cache directory" in line]


def tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def check_is_refused(source: Path, cache_dir: Path, reason: str) -> None:
    """A real review with the real finding, and exactly one warning naming `reason`."""
    done = run_check("a.py", cwd=source, cache_dir=cache_dir)
    assert done.returncode == 1, done.stderr
    assert "S602" in done.stdout, done.stdout
    warned = refusals(done.stderr)
    assert len(warned) == 1, done.stderr
    assert reason in warned[0] and "memory only" in warned[0], warned[0]


def cache_command(*args: str, cache_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAPPS, "cache", *args],
        cwd=cwd,
        env=server_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit_address_space(),
        stdin=subprocess.DEVNULL,
    )


def test_pre_created_world_writable_directory_is_refused_and_left_alone(
    source: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "tapps-cache"
    shared.mkdir()
    os.chmod(shared, 0o777)
    check_is_refused(source, shared, "writable by other users (mode 0777)")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o777  # never chmod-ed: not ours to change
    assert tree(shared) == []  # nothing of the victim's (paths, findings) for others to read


def test_directory_owned_by_another_user_is_refused(source: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user (chown)")
    nobody = pwd.getpwnam("nobody")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
    check_is_refused(source, theirs, f"owned by uid {nobody.pw_uid}")
    assert tree(theirs) == []
    assert theirs.stat().st_uid == nobody.pw_uid


def test_symlinked_cache_directory_is_refused(source: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    check_is_refused(source, link, "is a symbolic link")
    assert tree(real) == []


def test_symlinked_subdirectory_is_refused(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (cache / "results").symlink_to(elsewhere)
    check_is_refused(source, cache, "results is a symbolic link")
    assert tree(elsewhere) == []


def test_sticky_world_writable_directory_like_tmp_is_not_re_moded(
    source: Path, tmp_path: Path
) -> None:
    # TAPPS_LSP_CACHE_DIR=/tmp, made here: root used to chmod /tmp from 1777 to 0700.
    like_tmp = tmp_path / "tmp"
    like_tmp.mkdir()
    os.chmod(like_tmp, 0o1777)
    check_is_refused(source, like_tmp, "writable by other users (mode 1777)")
    assert stat.S_IMODE(like_tmp.stat().st_mode) == 0o1777
    assert tree(like_tmp) == []


def _drop_code(value: Any, code: str) -> Any:
    if isinstance(value, dict):
        return {k: _drop_code(v, code) for k, v in value.items()}
    if isinstance(value, list):
        kept = [v for v in value if not (isinstance(v, dict) and v.get("code") == code)]
        return [_drop_code(v, code) for v in kept]
    return value


def poison(cache_dir: Path, code: str) -> int:
    """Rewrite every stored result without `code`'s findings; returns how many rows changed."""
    con = sqlite3.connect(cache_dir / "results" / "cache.db")
    try:
        changed = 0
        for rowid, value in con.execute("SELECT rowid, value FROM Cache").fetchall():
            clean = json.dumps(_drop_code(json.loads(value), code)).encode()
            if clean != bytes(value):
                con.execute("UPDATE Cache SET value = ? WHERE rowid = ?", (clean, rowid))
                changed += 1
        con.commit()
        return changed
    finally:
        con.close()


def test_planted_poisoned_database_in_a_shared_directory_is_not_used(
    source: Path, tmp_path: Path
) -> None:
    # The attacker builds a real cache of the victim's repository, minus the S602 finding.
    attacker = tmp_path / "attacker"
    first = run_check("a.py", cwd=source, cache_dir=attacker)
    assert "S602" in first.stdout, first.stderr
    assert poison(attacker, "S602") == 1
    # The poison works where the directory is trusted: the finding is gone "from cache".
    trusted = run_check("a.py", cwd=source, cache_dir=attacker)
    assert "S602" not in trusted.stdout and "1 from cache" in trusted.stdout, trusted.stdout

    # Planted in a directory every user can write to, it is never read.
    shared = tmp_path / "tapps-cache"
    shutil.copytree(attacker, shared)
    for path in [shared, *shared.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    planted = tree(shared)
    check_is_refused(source, shared, "writable by other users")
    assert tree(shared) == planted


def test_cache_commands_report_the_refusal(source: Path, tmp_path: Path) -> None:
    shared = tmp_path / "tapps-cache"
    shutil.copytree(source, shared / "results")  # anything: it must survive `clear`
    for path in [shared, *shared.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    planted = tree(shared)

    shown = cache_command("path", cache_dir=shared, cwd=source)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"{shared} (refused, memory only:"), shown.stdout
    assert "writable by other users" in shown.stdout

    stats = cache_command("stats", cache_dir=shared, cwd=source)
    assert "refused" in stats.stdout and "Disk:   not in use" in stats.stdout, stats.stdout

    cleared = cache_command("clear", cache_dir=shared, cwd=source)
    assert cleared.stdout.startswith(f"Removed nothing from {shared} (refused"), cleared.stdout
    for done in (shown, stats, cleared):
        assert len(refusals(done.stderr)) == 1, done.stderr
    assert tree(shared) == planted


async def test_the_server_writes_no_report_into_a_refused_directory(
    source: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "tapps-cache"
    shared.mkdir()
    os.chmod(shared, 0o777)
    server = await Raw.start(
        tmp_path, cwd=source, env=server_env(shared), preexec_fn=limit_address_space()
    )
    try:
        await server.initialize([source], {"window": {"workDoneProgress": True}})
        started = await server.request(
            "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
        )
        await server.notification(
            "$/progress", lambda p: p["value"].get("kind") == "end", timeout=120
        )
        status = await server.request(
            "workspace/executeCommand",
            {"command": "tapps.taskStatus", "arguments": [started["taskId"]]},
        )
        assert status["state"] == "done", status
        export = {"command": "tapps.exportReport", "arguments": [{"format": "json"}]}
        # By default reports go to <cache>/reports: not into a directory others control.
        with pytest.raises(RequestFailed, match="the cache directory was refused"):
            await server.request("workspace/executeCommand", export)
        inside = {"format": "json", "path": str(source / "report.json")}
        export["arguments"] = [inside]
        written = await server.request("workspace/executeCommand", export)
        assert Path(written) == source / "report.json" and Path(written).is_file()
        assert await server.request("shutdown") is None
    finally:
        await server.kill()
    assert tree(shared) == []
