"""safe_io: how every file a workspace controls is read, and how its values are shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapps_lsp import safe_io
from tapps_lsp.safe_io import UnsafeRead


def test_a_regular_file_inside_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[tool]\n")
    assert safe_io.read_inside(tmp_path, tmp_path / "pyproject.toml") == b"[tool]\n"


def test_a_link_inside_the_folder_to_a_file_inside_is_read(tmp_path: Path) -> None:
    (tmp_path / "real.cfg").write_text("x")
    (tmp_path / "setup.cfg").symlink_to("real.cfg")
    assert safe_io.read_text_inside(tmp_path, tmp_path / "setup.cfg") == "x"


@pytest.mark.parametrize("target", ["/dev/zero", "/proc/self/fd/0", "/etc/hostname"])
def test_a_link_out_of_the_folder_is_refused(tmp_path: Path, target: str, memory_cap: int) -> None:
    (tmp_path / "pyproject.toml").symlink_to(target)
    with pytest.raises(UnsafeRead, match="outside the workspace"):
        safe_io.read_inside(tmp_path, tmp_path / "pyproject.toml")
    assert safe_io.try_read_text_inside(tmp_path, tmp_path / "pyproject.toml") is None


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "coverage.xml")
    with pytest.raises(UnsafeRead, match="not a regular file"):
        safe_io.read_inside(tmp_path, tmp_path / "coverage.xml")


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(UnsafeRead, match="over the limit of 100"):
        safe_io.read_inside(tmp_path, tmp_path / "big", cap=100)
    assert safe_io.read_inside(tmp_path, tmp_path / "big", cap=101) == b"x" * 101


def test_read_regular_never_follows_a_final_link(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x")
    (tmp_path / ".gitignore").symlink_to("real")
    with pytest.raises(UnsafeRead, match="symbolic link"):
        safe_io.read_regular(tmp_path / ".gitignore", 100)


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        safe_io.read_inside(tmp_path, tmp_path / "absent")
    assert safe_io.try_read_text_inside(None, tmp_path / "absent") is None


def test_a_sibling_folder_with_the_same_prefix_is_not_inside(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws-evil").mkdir()
    assert safe_io.is_inside(tmp_path / "ws", tmp_path / "ws" / "a.py")
    assert not safe_io.is_inside(tmp_path / "ws", tmp_path / "ws-evil" / "a.py")


def test_brief_of_an_alias_bomb_is_short_and_quick(memory_cap: int) -> None:
    # Nine levels of a list holding the level below nine times: repr() would be ~10**9 chars.
    value: object = ["lol"]
    for _ in range(9):
        value = [value] * 9
    text = safe_io.brief(value)
    assert len(text) <= 80 and text.startswith("[[[")
    assert safe_io.brief("x" * 10**6, limit=20) == "'xxxxxxxxxxxxxxxx..."
    assert len(safe_io.brief("x" * 10**6, limit=20)) == 20
