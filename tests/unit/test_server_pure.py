"""The server's pure parts: file URIs to paths, the folder of a file, result ids.

No client and no event loop: `uri_to_path` and `result_id` are functions, and
`folder_for` is answered by a bare TappsLanguageServer from the folders it was
given and the files on disk (project markers), as in a session.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.documents import result_id
from tapps_lsp.folders import Folder, is_within, uri_to_path
from tapps_lsp.review.model import FileResult, Review
from tapps_lsp.server import TappsLanguageServer

# ---- uri_to_path --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///tmp/a.py", "/tmp/a.py"),
        ("file://localhost/tmp/a.py", "/tmp/a.py"),
        ("file:///tmp/caf%C3%A9.py", "/tmp/café.py"),
        ("file:///tmp/with%20space.py", "/tmp/with space.py"),
        # `..` is collapsed, in plain form and percent-encoded in either case.
        ("file:///ws/sub/../../etc/passwd", "/etc/passwd"),
        ("file:///ws/%2e%2e/etc/hostname", "/etc/hostname"),
        ("file:///ws/%2E%2E/%2e%2E/etc/hostname", "/etc/hostname"),
        ("file:///ws/./a/./b.py", "/ws/a/b.py"),
        # An encoded slash is a slash once decoded: it cannot hide a `..` either.
        ("file:///ws/a%2f..%2f..%2fetc/shadow", "/etc/shadow"),
    ],
)
def test_uri_to_path_decodes_and_collapses(uri: str, path: str) -> None:
    """Percent escapes are decoded before `..` is collapsed."""
    assert uri_to_path(uri) == Path(path)


def test_a_non_utf8_name_is_the_os_file_name() -> None:
    """`%E9` alone is Latin-1 é: the Linux file name byte 0xE9, as a lone surrogate."""
    path = uri_to_path("file:///tmp/caf%E9.py")
    assert path is not None
    assert os.fsencode(path) == b"/tmp/caf\xe9.py"
    assert str(path) == "/tmp/caf\udce9.py"


@pytest.mark.parametrize(
    "uri",
    [
        "file://host/share/a.py",  # UNC: a share on another machine, not a local file
        "file://server.example/C$/a.py",
        "untitled:Untitled-1",
        "vscode-notebook-cell:/ws/a.ipynb#cell1",
        "https://example.com/a.py",
        "file:a.py",  # no absolute path
        "file:///tmp/a%00.py",  # NUL cannot be in a file name
        "",
    ],
)
def test_uri_to_path_refuses_what_is_not_a_local_file(uri: str) -> None:
    """Only `file:` URIs of this machine with an absolute path are paths."""
    assert uri_to_path(uri) is None


def test_a_unc_like_path_with_four_slashes_stays_on_this_machine() -> None:
    """`file:////host/share` has no authority: its path is local (`//host` is `/host`)."""
    path = uri_to_path("file:////host/share/a.py")
    assert path is not None
    assert os.path.realpath(path) == "/host/share/a.py"


def test_is_within_compares_parts_not_prefixes() -> None:
    """`/ws2` is not inside `/ws`; a folder is inside itself."""
    assert is_within(Path("/ws/a.py"), Path("/ws"))
    assert is_within(Path("/ws"), Path("/ws"))
    assert not is_within(Path("/ws2/a.py"), Path("/ws"))
    assert not is_within(Path("/etc/passwd"), Path("/ws"))


# ---- folder_for ---------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[TappsLanguageServer]:
    """A bare server; the package's log level is restored afterwards (set_settings sets it)."""
    logger = logging.getLogger("tapps_lsp")
    level = logger.level
    yield TappsLanguageServer()
    logger.setLevel(level)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace folder with a folder in it that is a workspace folder too, and a project."""
    root = tmp_path / "ws"
    (root / "inner" / "pkg").mkdir(parents=True)
    (root / "proj" / "src").mkdir(parents=True)
    (root / "proj" / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (root / "plain").mkdir()
    return root


def test_a_file_belongs_to_the_innermost_workspace_folder(
    server: TappsLanguageServer, ws: Path
) -> None:
    """Folders nested in folders: the deepest one holding the file wins, in any order."""
    inner = server.add_folder((ws / "inner").as_uri())
    outer = server.add_folder(ws.as_uri())
    assert server.folder_for((ws / "inner" / "pkg" / "m.py").as_uri()) is inner
    assert server.folder_for((ws / "plain" / "m.py").as_uri()) is outer
    assert server.folder_for((ws / "inner").as_uri()) is inner


def test_a_project_nested_in_a_folder_is_a_folder_of_its_own(
    server: TappsLanguageServer, ws: Path
) -> None:
    """A folder below the workspace folder with a pyproject.toml takes its files."""
    outer = server.add_folder(ws.as_uri())
    project = server.folder_for((ws / "proj" / "src" / "m.py").as_uri())
    assert project.root == ws / "proj"
    assert project.parent is outer
    assert project.uri == ws.as_uri() + "/proj"
    assert server.folder_for((ws / "proj" / "other.py").as_uri()) is project
    assert project in server.all_folders()


def test_files_outside_every_folder_are_loose(server: TappsLanguageServer, ws: Path) -> None:
    """Outside the folders, through `..` or `%2e%2e`, or not a file: the pseudo-folder."""
    server.add_folder((ws / "inner").as_uri())
    for uri in (
        (ws / "plain" / "m.py").as_uri(),
        (ws / "inner").as_uri() + "/../plain/m.py",
        (ws / "inner").as_uri() + "/%2e%2e/plain/m.py",
        "file://host" + str(ws / "inner" / "m.py"),
        "untitled:Untitled-1",
    ):
        assert server.folder_for(uri) is server.loose, uri


def test_a_removed_folder_no_longer_holds_its_files(server: TappsLanguageServer, ws: Path) -> None:
    """The memo of folders by URI is dropped when the folders change."""
    inner = server.add_folder((ws / "inner").as_uri())
    outer = server.add_folder(ws.as_uri())
    uri = (ws / "inner" / "pkg" / "m.py").as_uri()
    assert server.folder_for(uri) is inner
    server.remove_folder(inner.uri)
    assert server.folder_for(uri) is outer


def test_a_symlink_out_of_the_workspace_is_outside(
    server: TappsLanguageServer, ws: Path, tmp_path: Path
) -> None:
    """`inside_workspace` resolves links: one pointing out of every folder is outside."""
    server.add_folder(ws.as_uri())
    secret = tmp_path / "secret.py"
    secret.write_text("KEY = 1\n")
    (ws / "plain" / "link.py").symlink_to(secret)
    assert server.inside_workspace((ws / "plain" / "link.py").as_uri()) is None
    assert server.inside_workspace((ws / "plain" / "m.py").as_uri()) == ws / "plain" / "m.py"


# ---- result_id ----------------------------------------------------------------------


def _review(**changes: object) -> Review:
    review = Review(
        path="/ws/a.py",
        result=FileResult(),
        scores={"complexity": 9.0, "security": 10.0},
        overall=92.0,
        passed=True,
        weakest="complexity",
        threshold=70.0,
        min_security=7.0,
        content_hash="c0ffee",
    )
    return dataclasses.replace(review, **changes)  # type: ignore[arg-type]


def _folder(server: TappsLanguageServer, settings: Settings) -> Folder:
    folder = server.add_folder("file:///ws")
    server.set_settings(folder, settings, [])
    return folder


def test_the_result_id_is_stable(server: TappsLanguageServer) -> None:
    """The same content, settings and scores give the same id (an `unchanged` pull)."""
    folder = _folder(server, Settings())
    again = _folder(server, Settings())
    assert result_id(_review(), folder) == result_id(_review(), again)


@pytest.mark.parametrize(
    "change",
    [
        {"content_hash": "decade"},
        {"overall": 91.5},
        {"passed": False},
        {"weakest": "security"},
        {"scores": {"complexity": 8.0, "security": 10.0}},
        {"path": "/ws/__init__.py"},  # the name changes what ruff reports
    ],
)
def test_the_result_id_changes_with_the_review(
    server: TappsLanguageServer, change: dict[str, object]
) -> None:
    """Content, the scores (which word the gate diagnostic) and the name shape the result."""
    folder = _folder(server, Settings())
    assert result_id(_review(**change), folder) != result_id(_review(), folder)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(severityOverrides={"F401": "error"}),  # presentation only
        Settings(qualityThreshold=90.0),  # scores
        Settings(lintSelect=["E", "F"]),  # the analysis
    ],
)
def test_the_result_id_changes_with_the_settings(
    server: TappsLanguageServer, settings: Settings
) -> None:
    """Settings that change the analysis, the gate or only the presentation all count."""
    assert result_id(_review(), _folder(server, settings)) != result_id(
        _review(), _folder(server, Settings())
    )


def test_the_result_id_changes_with_the_position_encoding(server: TappsLanguageServer) -> None:
    """The same diagnostics in another encoding are other columns: another id."""
    utf16 = _folder(server, Settings())
    server.encoding = "utf-8"
    assert result_id(_review(), _folder(server, Settings())) != result_id(_review(), utf16)
