"""Discovery of a hostile repository: patterns, .gitignore files, file names, deep trees.

Issue 13, items 7 and 9 and the 2,000-level chain. Each test builds the
proof-of-concept repository in tmp_path; what could hang runs in a child
process (or a real server, or `tapps-lsp check`) under the address-space limit
and a timeout, what could only grow memory runs in-process under `memory_cap`.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from robustness.raw import Raw

from security.conftest import limit_address_space, run_check
from tapps_lsp.folders import uri_to_path
from tapps_lsp.review import gitignore
from tapps_lsp.review.discovery import MAX_DEPTH, discover
from tapps_lsp.review.gitignore import MAX_PATTERNS

# Catastrophic for a backtracking matcher: 12 stars against 60 `a`s and no `b`.
BACKTRACKING = "*a" * 12 + "*b"
LONG_NAME = "a" * 60
CAFE = os.fsdecode(b"caf\xe9.py")  # not UTF-8: a lone surrogate in Python

PUSH_AND_PROGRESS = {
    "window": {"workDoneProgress": True},
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
}

# Runs discover() in a child; prints {"files": [...], "messages": [...]} as JSON.
_CHILD = """
import json, sys
from pathlib import Path
if sys.argv[3] == "no-re2":
    class _NoRe2:
        def find_spec(self, name, path=None, target=None):
            if name == "re2" or name.startswith("re2."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, _NoRe2())
from tapps_lsp.review import discovery, gitignore
messages = []
root = Path(sys.argv[1])
files = discovery.discover(root, json.loads(sys.argv[2]), warn=messages.append)
print(json.dumps({
    "files": [p.relative_to(root).as_posix() for p in files],
    "messages": messages,
    "re2": gitignore.RE2_PROBLEM,
}))
"""


def discover_in_child(
    root: Path, exclude: list[str] | None = None, *, re2: bool = True, timeout: float = 60
) -> dict[str, Any]:
    """discover() in a child process under the address-space limit and a timeout."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(root),
            json.dumps(exclude or []),
            "" if re2 else "no-re2",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_address_space(),
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


def write(root: Path, *names: str, text: str = "import os\n") -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def rel(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


# ---- item 7: patterns built to backtrack -----------------------------------------------------


def backtracking_repo(repo: Path) -> None:
    write(repo, f"{LONG_NAME}.py", "keep.py", "drop.py", f"{LONG_NAME}/inner.py")
    (repo / ".gitignore").write_text(f"{BACKTRACKING}\ndrop.py\n", encoding="utf-8")


def test_a_backtracking_pattern_in_gitignore_and_exclude_is_matched_in_linear_time(
    repo: Path,
) -> None:
    backtracking_repo(repo)
    result = discover_in_child(repo, [BACKTRACKING, "keep.py"], timeout=60)
    assert result["re2"] is None
    # The pattern is applied (it matches nothing here), and so is every other one.
    assert result["files"] == [f"{LONG_NAME}.py", f"{LONG_NAME}/inner.py"]
    assert result["messages"] == []


def test_without_re2_a_costly_pattern_is_reported_once_and_the_rest_still_apply(
    repo: Path,
) -> None:
    backtracking_repo(repo)
    write(repo, "gen_pb2.py", "sub/x_skip.py")
    (repo / "sub" / ".gitignore").write_text("*_skip.py\n", encoding="utf-8")
    result = discover_in_child(repo, ["gen_*.py"], re2=False, timeout=60)
    assert result["re2"] and "re2" in result["re2"]
    assert result["files"] == [f"{LONG_NAME}.py", f"{LONG_NAME}/inner.py", "keep.py"]
    [message] = result["messages"]
    # It names the file and the pattern (brief() truncates a long one).
    assert message.startswith(f".gitignore: pattern '{BACKTRACKING}' is not applied")
    assert "google-re2 is missing" in message and len(message) < 200


def test_a_pattern_re2_cannot_compile_falls_back_only_within_the_budget(repo: Path) -> None:
    write(repo, "keep.py", "drop.py", "long.py")
    cheap = "?" * 20_000  # too big a program for re2; linear for Python's re
    costly = "*" + "?" * 20_000 + "*a*b"
    (repo / ".gitignore").write_text(f"{cheap}\n{costly}\ndrop.py\n", encoding="utf-8")
    messages: list[str] = []
    assert rel(repo, discover(repo, [], warn=messages.append)) == ["keep.py", "long.py"]
    [message] = messages
    assert "google-re2 cannot compile it" in message and "4 wildcards" in message
    assert "'*??????" in message and "..." in message and "?*a*b'" in message
    assert len(message) < 250


def test_patterns_built_to_defeat_re2s_cache_are_dropped_after_the_time_budget(
    repo: Path,
) -> None:
    # Each pattern makes re2's DFA grow a state per character of the name: every match
    # costs the name's length times the patterns' size (22 s for this repository
    # with all patterns in one re2 set).
    lines = [f"*{'ab'[i % 2]}{'?' * (20 + i)}" for i in range(100)]
    (repo / ".gitignore").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rng = random.Random(13)
    for _ in range(500):
        write(repo, "".join(rng.choice("ab") for _ in range(250)) + ".py")
    result = discover_in_child(repo, timeout=60)
    [message] = result["messages"]
    assert message.startswith(".gitignore: its patterns took ")
    assert f"over the budget of {gitignore.MATCH_BUDGET:g} s" in message


def test_patterns_beyond_the_workspace_budget_are_dropped_with_one_message(repo: Path) -> None:
    count = 3 * MAX_PATTERNS
    lines = [f"ignored_{i}.py" for i in range(count)]
    (repo / ".gitignore").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write(repo, "ignored_0.py", f"ignored_{count - 1}.py", "keep.py")
    messages: list[str] = []
    found = rel(repo, discover(repo, ["nothing_here/"], warn=messages.append))
    # The exclude setting's pattern comes first; .gitignore patterns after the budget do not apply.
    assert found == [f"ignored_{count - 1}.py", "keep.py"]
    assert messages == [
        f"{repo}: {count - MAX_PATTERNS + 1:,} .gitignore/exclude patterns beyond the first "
        f"{MAX_PATTERNS:,} of this workspace are not applied"
    ]


# ---- .gitignore files that are no regular files ----------------------------------------------


def test_gitignore_symlinked_to_dev_zero_is_skipped_with_one_message(
    repo: Path, memory_cap: int
) -> None:
    write(repo, "keep.py", "sub/mod.py", "sub/deeper/more.py")
    os.symlink("/dev/zero", repo / ".gitignore")
    os.symlink("/dev/zero", repo / "sub" / ".gitignore")
    messages: list[str] = []
    found = rel(repo, discover(repo, [], warn=messages.append))
    assert found == ["keep.py", "sub/deeper/more.py", "sub/mod.py"]
    assert len(messages) == 2
    assert all("not applied" in m and ".gitignore" in m for m in messages)


def test_fifo_gitignore_never_blocks(repo: Path) -> None:
    write(repo, "keep.py", "sub/mod.py")
    (repo / ".gitignore").write_text("ignored.py\n", encoding="utf-8")
    write(repo, "ignored.py")
    os.mkfifo(repo / "sub" / ".gitignore")
    result = discover_in_child(repo, timeout=60)
    assert result["files"] == ["keep.py", "sub/mod.py"]
    [message] = result["messages"]
    assert "sub/.gitignore" in message and "not a regular file" in message


def test_an_oversized_gitignore_is_not_read(repo: Path, memory_cap: int) -> None:
    write(repo, "keep.py", "drop.py")
    (repo / ".gitignore").write_text("drop.py\n" + "#" * (2 << 20) + "\n", encoding="utf-8")
    messages: list[str] = []
    assert rel(repo, discover(repo, [], warn=messages.append)) == ["drop.py", "keep.py"]
    [message] = messages
    assert "over the limit" in message


# ---- item 9: file names that are not UTF-8 ---------------------------------------------------


def test_non_utf8_names_are_found_and_matched_by_patterns(repo: Path) -> None:
    write(repo, CAFE, "ok.py", os.fsdecode(b"skip_\xff.py"), os.fsdecode(b"d\xe9/mod.py"))
    (repo / ".gitignore").write_text("skip_?.py\n", encoding="utf-8")
    messages: list[str] = []
    assert rel(repo, discover(repo, [], warn=messages.append)) == [
        CAFE,
        os.fsdecode(b"d\xe9/mod.py"),
        "ok.py",
    ]
    assert messages == []


# ---- the 2,000-level chain -------------------------------------------------------------------


def chain(root: Path, levels: int) -> None:
    """root/a/a/.../a, `levels` deep, an m.py at each level (made through dir fds: the
    deepest path is longer than PATH_MAX allows a single call)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("a", dir_fd=fd)
            inner = os.open("a", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
            os.close(os.open("m.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def unchain(root: Path) -> None:
    """Remove a chain made by `chain` one level at a time, lifting the next level up, so
    no path gets long and nothing recurses (shutil.rmtree, and so pytest's clean-up of
    old temporary folders, recurses once per level and overflows at 2,000)."""
    top = root / "a"
    while top.is_dir():
        if (top / "a").is_dir():
            os.rename(top / "a", root / "next")
        for entry in os.listdir(top):
            os.unlink(top / entry)
        os.rmdir(top)
        if (root / "next").is_dir():
            os.rename(root / "next", top)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts the real os.stat, os.lstat and os.path.realpath calls (realpath costs
    one lstat per component of its path: the quadratic part of a deep walk)."""
    calls = {"stat": 0, "lstat": 0, "realpath": 0}
    for module, name in ((os, "stat"), (os, "lstat"), (os.path, "realpath")):
        real = getattr(module, name)

        def wrapper(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)
    yield calls


@pytest.mark.timeout(300)
def test_a_2000_level_chain_is_walked_in_linear_time(
    repo: Path, counted: dict[str, int], memory_cap: int
) -> None:
    chain(repo, 2000)
    messages: list[str] = []
    try:
        found = discover(repo, [], warn=messages.append)
        counts = dict(counted)  # before unchain's own calls
    finally:
        unchain(repo)
    assert len(found) == MAX_DEPTH
    [message] = messages
    assert f"more than {MAX_DEPTH} levels deep are not reviewed" in message
    # One realpath (the root's: an lstat per component of tmp_path), about one stat
    # per folder walked.
    assert counts["realpath"] <= 2 and counts["lstat"] <= len(repo.parts) + 2
    assert counts["stat"] <= 2 * MAX_DEPTH + 4, counts


def test_discovery_work_grows_linearly_with_depth(tmp_path: Path, counted: dict[str, int]) -> None:
    work = []
    for levels in (100, 200):
        root = tmp_path / f"chain{levels}"
        root.mkdir()
        chain(root, levels)
        for key in counted:
            counted[key] = 0
        assert len(discover(root, [])) == levels
        work.append(sum(counted.values()))
    assert work[1] <= 2 * work[0] + 4, work


def test_symlinks_still_never_lead_out_or_loop(tmp_path: Path, counted: dict[str, int]) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    write(outside, "secret.py")
    write(root, "pkg/mod.py")
    os.symlink(outside, root / "pkg" / "out")
    os.symlink(root, root / "pkg" / "loop")
    os.symlink(root / "pkg", root / "pkg" / "again")
    assert rel(root, discover(root, [])) == ["pkg/mod.py"]


# ---- a real server and `tapps-lsp check` -----------------------------------------------------


async def scan_to_end(raw: Raw) -> dict[str, Any]:
    answer = await raw.request(
        "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
    )
    await raw.notification("$/progress", lambda p: p["value"].get("kind") == "end", timeout=120)
    status = await raw.request(
        "workspace/executeCommand",
        {"command": "tapps.taskStatus", "arguments": [answer["taskId"]]},
        timeout=30,
    )
    return dict(status)


async def test_server_scan_with_backtracking_patterns_ends_and_the_server_answers(
    hostile_server: Raw, repo: Path
) -> None:
    backtracking_repo(repo)
    (repo / "pyproject.toml").write_text(
        f'[tool.tapps-lsp]\nexclude = ["{BACKTRACKING}"]\n', encoding="utf-8"
    )
    await hostile_server.initialize([repo], PUSH_AND_PROGRESS)
    status = await scan_to_end(hostile_server)
    assert status["state"] == "done" and status["summary"]["files"] == 3
    # The server still answers, at once.
    assert await hostile_server.request("shutdown", timeout=10) is None


async def test_server_scan_with_a_non_utf8_name_reviews_every_file(
    hostile_server: Raw, repo: Path, tmp_path: Path
) -> None:
    write(repo, CAFE, text="import sys\n")
    write(repo, "ok.py", "sub/inner.py")
    os.mkfifo(repo / "sub" / ".gitignore")
    os.symlink("/dev/zero", repo / ".gitignore")
    await hostile_server.initialize([repo], PUSH_AND_PROGRESS)
    status = await scan_to_end(hostile_server)
    assert status["state"] == "done" and status["summary"]["files"] == 3
    base = repo.as_uri()
    cafe_uri = f"{base}/caf%E9.py"
    for uri, path in (
        (cafe_uri, repo / CAFE),
        (f"{base}/ok.py", repo / "ok.py"),
        (f"{base}/sub/inner.py", repo / "sub" / "inner.py"),
    ):
        [published] = hostile_server.published(uri)
        assert "F401" in {d["code"] for d in published["diagnostics"]}
        assert uri_to_path(uri) == path
    # Each hostile .gitignore said why once; the scan went on.
    shown = [
        m["params"]["message"]
        for m in hostile_server.notifications
        if m["method"] == "window/showMessage"
    ]
    assert sum(".gitignore" in m for m in shown) == 2, shown
    report = await hostile_server.request(
        "workspace/executeCommand",
        {"command": "tapps.exportReport", "arguments": [{"format": "sarif"}]},
        timeout=60,
    )
    sarif = json.loads(Path(report).read_text(encoding="utf-8"))
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for location in result["locations"]
    }
    assert any(u.endswith("caf%E9.py") for u in uris), uris


def test_check_with_a_non_utf8_name_and_hostile_patterns(repo: Path, tmp_path: Path) -> None:
    backtracking_repo(repo)
    write(repo, CAFE, text="import sys\n")
    os.mkfifo(repo / f"{LONG_NAME}" / ".gitignore")
    done = run_check(".", "--format", "json", cwd=repo, cache_dir=tmp_path / "cache", timeout=120)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    by_path = {f["path"]: f for f in report["files"]}
    assert set(by_path) == {CAFE, f"{LONG_NAME}.py", f"{LONG_NAME}/inner.py", "keep.py"}
    assert "F401" in {f["code"] for f in by_path[CAFE]["findings"]}
    assert "not a regular file" in done.stderr


def test_the_linear_matcher_is_in_use() -> None:
    # google-re2 is a pinned dependency: without it every pattern with more than
    # two wildcards would be dropped.
    assert gitignore.RE2_PROBLEM is None
