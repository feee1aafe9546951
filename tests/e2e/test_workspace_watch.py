"""Files changed outside the editor (workspace/didChangeWatchedFiles): registered
dynamically, re-reviewed in the background, coalesced; a settings file change
re-reviews the folder with the new settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from e2e_support import Session
from lsprotocol import types
from workspace_support import recorder, scan, start, status, stop, wait_end

pytestmark = pytest.mark.asyncio(loop_scope="module")

FILES = {
    "a.py": "import os\n",
    "b.py": "import sys\n",
    "c.py": "import json\n",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["vscode-push", "vscode-pull"])
async def session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Session]:
    # A workspace of its own per client: the tests change and delete its files.
    workspace = tmp_path_factory.mktemp("watch") / "project"
    workspace.mkdir()
    for name, text in FILES.items():
        (workspace / name).write_text(text, encoding="utf-8")
    s = await start(request.param, workspace, tmp_path_factory.mktemp("cache"))
    yield s
    await stop(s)


def _notify(session: Session, *changes: tuple[str, types.FileChangeType]) -> None:
    session.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=(session.workspace / name).as_uri(), type=kind)
                for name, kind in changes
            ]
        )
    )


async def _codes(session: Session, name: str, mark: int) -> list[str]:
    """The codes of `name` once the client has been told something new about it."""
    rec = recorder(session)
    uri = (session.workspace / name).as_uri()
    if not session.pull:
        published = rec.published.setdefault(uri, [])
        await rec.wait_for(lambda: len(published) > mark)
        return sorted(str(d.code) for d in published[-1].diagnostics)
    await rec.wait_for(lambda: rec.refreshes > mark)
    report = await session.client.workspace_diagnostic_async(
        types.WorkspaceDiagnosticParams(previous_result_ids=[])
    )
    (item,) = [i for i in report.items if i.uri == uri]
    assert isinstance(item, types.WorkspaceFullDocumentDiagnosticReport)
    return sorted(str(d.code) for d in item.items)


def _mark(session: Session, name: str) -> int:
    rec = recorder(session)
    if session.pull:
        return rec.refreshes
    return len(rec.published.get((session.workspace / name).as_uri(), []))


async def test_watchers_are_registered_dynamically(session: Session) -> None:
    rec = recorder(session)
    await rec.wait_for(lambda: bool(rec.registrations))
    (registration,) = rec.registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    options = types.DidChangeWatchedFilesRegistrationOptions(
        **{"watchers": registration.register_options["watchers"]}  # type: ignore[index]
    )
    patterns = sorted(w["globPattern"] for w in options.watchers)  # type: ignore[index]
    assert patterns == [
        "**/*.py",
        "**/.coverage",  # coverage data: files are re-scored when it changes
        "**/.tapps-agents/config.yaml",
        "**/coverage.xml",
        "**/lcov.info",
        "**/pyproject.toml",
    ]


async def test_changes_outside_the_editor_are_reviewed_in_the_background(
    session: Session,
) -> None:
    _, token, _ = await scan(session)
    await wait_end(session, token)
    mark_a, mark_b = _mark(session, "a.py"), _mark(session, "b.py")
    (session.workspace / "a.py").write_text("print(undefined_a)\n", encoding="utf-8")
    (session.workspace / "b.py").write_text("print(undefined_b)\n", encoding="utf-8")
    # A burst of events (a branch switch) arrives in several notifications.
    _notify(session, ("a.py", types.FileChangeType.Changed))
    _notify(session, ("b.py", types.FileChangeType.Changed))
    # An undefined name is an error, and errors fail the gate (gateOnErrors).
    assert await _codes(session, "a.py", mark_a) == ["F821", "TAPPS-GATE"]
    assert await _codes(session, "b.py", mark_b) == ["F821", "TAPPS-GATE"]
    if session.pull:
        # Coalesced: one re-review, one refresh for the burst.
        assert recorder(session).refreshes == mark_a + 1

    mark_c = _mark(session, "c.py")
    (session.workspace / "c.py").unlink()
    _notify(session, ("c.py", types.FileChangeType.Deleted))
    assert await _codes(session, "c.py", mark_c) == []


async def test_a_settings_file_change_re_reviews_the_folder(session: Session) -> None:
    rec = recorder(session)
    tokens = len(rec.tokens)
    mark = _mark(session, "a.py")
    pyproject = session.workspace / "pyproject.toml"
    pyproject.write_text('[tool.tapps-lsp]\nlintIgnore = ["E501", "F821"]\n', encoding="utf-8")
    _notify(session, ("pyproject.toml", types.FileChangeType.Created))
    await rec.wait_for(lambda: len(rec.tokens) > tokens)
    await wait_end(session, rec.tokens[tokens])
    assert await _codes(session, "a.py", mark) == []
    tasks = await session.command("tapps.listTasks")
    assert (await status(session, tasks[-1]["taskId"]))["state"] == "done"
    pyproject.unlink()
