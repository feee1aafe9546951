"""A scan in progress: cancelled from a command or from the client's progress UI, a
save answered while it runs, a file deleted under it. Each scan starts cold
(`tapps.clearCache`) so there is work in flight."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from e2e_support import Session
from lsprotocol import types
from workspace_support import (
    generate,
    recorder,
    scan,
    start,
    status,
    stop,
    wait_end,
    wait_results,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Five scan chunks of up to 256 files: a worker reads a chunk when it takes it, so the
# last ones are read (and can be cancelled or lose a file) well after results flow.
FILES = 1200
VICTIM = "aaa_victim.py"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cancel") / "project"
    generate(root, FILES)
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["vscode-push", "vscode-pull"])
async def session(
    request: pytest.FixtureRequest, workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Session]:
    s = await start(request.param, workspace, tmp_path_factory.mktemp("cache"))
    yield s
    await stop(s)


async def _cold_scan(session: Session) -> tuple[str, str | int]:
    """Start a scan with an empty cache and wait until results are flowing."""
    await session.command("tapps.clearCache")
    task_id, token, _ = await scan(session)
    await wait_results(session, token)
    return task_id, token


async def test_cancel_task_stops_the_scan_within_a_second(session: Session) -> None:
    task_id, token = await _cold_scan(session)
    asked = time.perf_counter()
    assert await session.command("tapps.cancelTask", task_id) == {"cancelled": True}
    end = await wait_end(session, token)
    ended = recorder(session).progress[token][-1][0]
    assert ended - asked < 1.0
    assert end.message.startswith("Cancelled: ")
    state = await status(session, task_id)
    assert state["state"] == "cancelled" and state["summary"]["cancelled"] is True
    assert state["done"] < FILES
    assert await session.command("tapps.cancelTask", task_id) == {"cancelled": False}
    values = recorder(session).values(token)
    assert [v.kind for v in values].count("begin") == [v.kind for v in values].count("end") == 1


async def test_cancel_from_the_progress_ui(session: Session) -> None:
    task_id, token = await _cold_scan(session)
    asked = time.perf_counter()
    session.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    await wait_end(session, token)
    assert recorder(session).progress[token][-1][0] - asked < 1.0
    assert (await status(session, task_id))["state"] == "cancelled"


async def test_a_save_during_a_scan_is_answered_at_once(session: Session) -> None:
    task_id, token = await _cold_scan(session)
    # A file the scan does not know (it was discovered before this file existed).
    uri = session.write("fresh.py", "import json\n")
    await session.open(uri)
    asked = time.perf_counter()
    diagnostics = await session.save(uri, "import json\nimport csv\n\nprint(undefined_name)\n")
    answered = time.perf_counter() - asked
    rec = recorder(session)
    assert not rec.ended(token), "the scan ended before the save was answered"
    assert {"F401", "F821"} <= {str(d.code) for d in diagnostics}
    # The interactive worker is separate from the scan pool: no queueing behind the scan.
    assert answered < 2.0
    await session.command("tapps.cancelTask", task_id)
    await wait_end(session, token)
    await session.close(uri)
    (session.workspace / "fresh.py").unlink()


async def test_a_file_deleted_during_a_scan_is_skipped_and_cleared(session: Session) -> None:
    rec = recorder(session)
    # The smallest file is analysed last (chunks go largest first), in the last chunk.
    victim = session.workspace / VICTIM
    victim.write_text("import os\n", encoding="utf-8")
    uri = victim.as_uri()
    _, token, _ = await scan(session)
    await wait_end(session, token)
    if not session.pull:
        assert [d.code for d in rec.published[uri][-1].diagnostics] == ["F401"]

    task_id, token = await _cold_scan(session)
    victim.unlink()
    end = await wait_end(session, token)
    summary = (await status(session, task_id))["summary"]
    assert summary["deleted"] == [str(victim)]
    assert summary["files"] == FILES
    assert "1 deleted during the review" in end.message
    if session.pull:
        report = await session.client.workspace_diagnostic_async(
            types.WorkspaceDiagnosticParams(previous_result_ids=[])
        )
        (gone,) = [item for item in report.items if item.uri == uri]
        assert isinstance(gone, types.WorkspaceFullDocumentDiagnosticReport)
        assert list(gone.items) == []
    else:
        assert list(rec.published[uri][-1].diagnostics) == []
