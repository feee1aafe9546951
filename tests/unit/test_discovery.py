"""Workspace discovery: .gitignore, excludes, tool folders, symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapps_lsp.review import discovery, gitignore
from tapps_lsp.review.discovery import discover


def write(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")


def rel(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_finds_python_files_sorted(tmp_path: Path) -> None:
    write(tmp_path, "b.py", "a.py", "pkg/z.py", "pkg/sub/y.py", "notes.txt", "pkg/data.pyc")
    assert rel(tmp_path, discover(tmp_path, [])) == ["a.py", "b.py", "pkg/sub/y.py", "pkg/z.py"]


def test_root_and_nested_gitignore(tmp_path: Path) -> None:
    write(
        tmp_path,
        "keep.py",
        "generated_x.py",
        "out/gen.py",
        "pkg/local.py",
        "pkg/secret.py",
        "pkg/generated_keep.py",
        "other/local.py",
    )
    (tmp_path / ".gitignore").write_text("generated_*.py\nout/\n", encoding="utf-8")
    # A nested .gitignore applies below its folder only and can re-include.
    (tmp_path / "pkg" / ".gitignore").write_text(
        "/local.py\nsecret.py\n!generated_keep.py\n", encoding="utf-8"
    )
    assert rel(tmp_path, discover(tmp_path, [])) == [
        "keep.py",
        "other/local.py",
        "pkg/generated_keep.py",
    ]


def test_exclude_globs(tmp_path: Path) -> None:
    write(tmp_path, "app.py", "tests/test_app.py", "lib/test/t.py", "lib/mod.py", "gen_pb2.py")
    found = rel(tmp_path, discover(tmp_path, ["tests/", "test/", "*_pb2.py"]))
    assert found == ["app.py", "lib/mod.py"]


def test_tool_folders_and_environments_skipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        "src/app.py",
        ".venv/lib/mod.py",
        "venv/lib/mod.py",
        "node_modules/pkg/x.py",
        ".git/hooks/x.py",
        "src/__pycache__/app.py",
        "build/lib/app.py",
        "dist/app.py",
        ".tox/py311/x.py",
        ".nox/x.py",
        ".mypy_cache/x.py",
        "lib/python3.11/site-packages/dep.py",
        "myenv/lib/dep.py",
    )
    # An environment with an unusual name is recognised by its pyvenv.cfg.
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    assert rel(tmp_path, discover(tmp_path, [])) == ["src/app.py"]


def test_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "pkg/mod.py")
    os.symlink(tmp_path, tmp_path / "pkg" / "loop")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "again")
    assert rel(tmp_path, discover(tmp_path, [])) == ["pkg/mod.py"]


def test_symlinks_out_of_root_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    write(root, "inside.py")
    write(outside, "secret.py", "deep/more.py")
    os.symlink(outside, root / "linked_dir")
    os.symlink(outside / "secret.py", root / "linked_file.py")
    # A symlink that stays inside the root is an ordinary folder.
    write(root, "real/mod.py")
    os.symlink(root / "real", root / "alias")
    # A folder reached twice is reported under its real path.
    assert rel(root, discover(root, [])) == ["inside.py", "real/mod.py"]


def test_symlinked_folder_inside_root_is_walked_once(tmp_path: Path) -> None:
    # The target is ignored by name, so the alias is the only way in.
    write(tmp_path, "vendor_src/lib.py")
    (tmp_path / ".gitignore").write_text("vendor_src/\n", encoding="utf-8")
    os.symlink(tmp_path / "vendor_src", tmp_path / "vendor")
    os.symlink(tmp_path / "vendor_src", tmp_path / "vendor2")
    assert rel(tmp_path, discover(tmp_path, [])) == ["vendor/lib.py"]


def test_root_given_through_a_symlink(tmp_path: Path) -> None:
    write(tmp_path / "real", "mod.py")
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert discover(tmp_path / "link", []) == [tmp_path / "link" / "mod.py"]


def test_unlistable_folder_is_reported(tmp_path: Path) -> None:
    messages: list[str] = []
    assert discover(tmp_path / "missing", [], warn=messages.append) == []
    assert len(messages) == 1 and "missing" in messages[0]


# ---- bounded matching and walking (issue 13) -------------------------------------------------


def test_last_matching_pattern_wins_across_re2_groups(tmp_path: Path) -> None:
    # More patterns than one re2 set holds: the last matching pattern still decides.
    filler = [f"nothing_{i}.py" for i in range(2 * gitignore._GROUP)]
    lines = ["*.py", *filler, "!keep.py", *filler, "keep_not*.py"]
    (tmp_path / ".gitignore").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write(tmp_path, "keep.py", "keep_not_this.py", "other.py")
    rules = gitignore.compile_rules(lines, "test", gitignore.Budget(gitignore.Reporter(None)))
    assert rules is not None and len(rules.groups) > 2
    assert rel(tmp_path, discover(tmp_path, [])) == ["keep.py"]


def test_patterns_match_names_that_are_not_utf8(tmp_path: Path) -> None:
    bad = os.fsdecode(b"gen_\xe9.py")
    write(tmp_path, bad, os.fsdecode(b"ok_\xe9.py"))
    assert rel(tmp_path, discover(tmp_path, ["gen_?.py"])) == [os.fsdecode(b"ok_\xe9.py")]


def test_messages_of_one_walk_are_capped(tmp_path: Path) -> None:
    count = gitignore.MAX_MESSAGES + 10
    for i in range(count):
        write(tmp_path, f"d{i:02d}/mod.py")
        os.mkfifo(tmp_path / f"d{i:02d}" / ".gitignore")
    messages: list[str] = []
    assert len(discover(tmp_path, [], warn=messages.append)) == count
    assert len(messages) == gitignore.MAX_MESSAGES + 1
    assert messages[-1] == f"{tmp_path}: 10 more discovery problems not shown"


def test_folders_deeper_than_the_limit_are_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery, "MAX_DEPTH", 3)
    write(tmp_path, "a/b/c/ok.py", "a/b/c/d/deep.py", "a/b/c/e/deep.py", "x/y/z/w/deep.py")
    messages: list[str] = []
    assert rel(tmp_path, discover(tmp_path, [], warn=messages.append)) == ["a/b/c/ok.py"]
    [message] = messages
    assert "more than 3 levels deep are not reviewed" in message


def test_a_symlinked_gitignore_is_not_followed(tmp_path: Path) -> None:
    # As git: a .gitignore that is a symlink is not read, even to a file inside.
    write(tmp_path, "drop.py", "keep.py")
    (tmp_path / "patterns").write_text("drop.py\n", encoding="utf-8")
    os.symlink(tmp_path / "patterns", tmp_path / ".gitignore")
    messages: list[str] = []
    assert rel(tmp_path, discover(tmp_path, [], warn=messages.append)) == ["drop.py", "keep.py"]
    assert len(messages) == 1 and ".gitignore" in messages[0]
