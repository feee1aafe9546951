"""A scan streams its results out and keeps only what a client must be told again
(issue 17): a file without findings is never sent, a file whose findings went gets its
empty report once, and the report of the last scan is read back from the cache."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from e2e_support import Session
from lsprotocol import types
from workspace_support import recorder, scan, start, stop, wait_end

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module", params=["vscode-push", "vscode-pull"])
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, variant: str) -> Path:
    root = tmp_path_factory.mktemp("streamed") / "project"
    root.mkdir()
    (root / "clean.py").write_text("VALUE = 1\n", encoding="utf-8")
    (root / "fixme.py").write_text("import os\n", encoding="utf-8")
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(
    variant: str, workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Session]:
    s = await start(variant, workspace, tmp_path_factory.mktemp("cache"))
    yield s
    await stop(s)


async def _scan(session: Session) -> str:
    _, token, _ = await scan(session)
    end = await wait_end(session, token)
    return str(end.message)


async def _pull(session: Session) -> dict[str, types.WorkspaceDocumentDiagnosticReport]:
    report = await session.client.workspace_diagnostic_async(
        types.WorkspaceDiagnosticParams(
            previous_result_ids=[
                types.PreviousResultId(uri=uri, value=value or "")
                for uri, value in session.result_ids.items()
            ],
            identifier="tapps",
        )
    )
    items = {item.uri: item for item in report.items}
    session.result_ids.update((uri, item.result_id or "") for uri, item in items.items())
    return items


async def _only_report(session: Session, uri: str) -> list[str]:
    """The codes a pull client gets for `uri`, the only file it is told about."""
    items = await _pull(session)
    assert set(items) == {uri}
    full = items[uri]
    assert isinstance(full, types.WorkspaceFullDocumentDiagnosticReport)
    return [str(d.code) for d in full.items]


async def test_only_files_with_findings_reach_the_client(session: Session, workspace: Path) -> None:
    clean, fixme = (workspace / "clean.py").as_uri(), (workspace / "fixme.py").as_uri()
    assert (await _scan(session)).startswith("2 files (0 from cache)")
    rec = recorder(session)
    if session.pull:
        assert await _only_report(session, fixme) == ["F401"]
    else:
        await rec.wait_for(lambda: fixme in rec.published)
        assert [d.code for d in rec.published[fixme][-1].diagnostics] == ["F401"]
    assert clean not in rec.published


async def test_a_fixed_file_gets_its_empty_report_once(session: Session, workspace: Path) -> None:
    fixme = (workspace / "fixme.py").as_uri()
    (workspace / "fixme.py").write_text("VALUE = 2\n", encoding="utf-8")
    assert (await _scan(session)).startswith("2 files (1 from cache)")
    rec = recorder(session)
    if session.pull:
        assert await _only_report(session, fixme) == []
    else:
        await rec.wait_for(lambda: not rec.published[fixme][-1].diagnostics)
        assert len(rec.published[fixme]) == 2
    # Nothing changed: a third scan tells the client nothing new (a pull would be held
    # open); a client that knows nothing gets the empty report, and still none for clean.py.
    assert (await _scan(session)).startswith("2 files (2 from cache)")
    if session.pull:
        session.result_ids.clear()
        assert await _only_report(session, fixme) == []
    else:
        await session.command("tapps.listTasks")  # anything sent before this has arrived
        assert len(rec.published[fixme]) == 2


async def test_the_report_is_read_back_from_the_cache(session: Session, workspace: Path) -> None:
    (workspace / "fixme.py").write_text("import sys\n", encoding="utf-8")
    path = Path(await session.command("tapps.exportReport", {"format": "json"}))
    report = json.loads(path.read_text(encoding="utf-8"))
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert sorted(files) == ["clean.py", "fixme.py"]
    # The scan kept no reviews: the report reviews the folder again, from the cache where
    # nothing changed, so a file edited since the scan is reported as it is now.
    assert [f["code"] for f in files["fixme.py"]["findings"]] == ["F401"]
    assert "sys" in files["fixme.py"]["findings"][0]["message"]
    assert report["summary"]["files"] == 2
