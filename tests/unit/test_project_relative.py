"""ProjectContext.relative: the root-relative POSIX path by strings, links resolved only
when the path as written is outside the root."""

from __future__ import annotations

from pathlib import Path

from tapps_lsp.review.project import ProjectContext


def test_relative_paths_inside_outside_and_through_a_link(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "link").symlink_to(root / "pkg", target_is_directory=True)
    (tmp_path / "projector").mkdir()  # shares the root's name as a prefix
    context = ProjectContext(root)
    assert context.relative(root / "pkg" / "mod.py") == "pkg/mod.py"
    assert context.relative(str(root / "pkg" / ".." / "pkg" / "mod.py")) == "pkg/mod.py"
    assert context.relative(root) == "."
    assert context.relative(tmp_path / "link" / "mod.py") == "pkg/mod.py"
    outside = tmp_path / "projector" / "a.py"
    assert context.relative(outside) == outside.as_posix()
    assert ProjectContext(None).relative("a/b.py") == "a/b.py"
