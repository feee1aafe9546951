"""Review all: a generated workspace of 2,000 files, cold then from the cache, through a
real server, with the exact progress sequence and the results reaching push and pull
clients."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from e2e_support import Session
from lsprotocol import types
from workspace_support import generate, recorder, scan, start, status, stop, wait_end, wait_results

pytestmark = pytest.mark.asyncio(loop_scope="module")

FILES = 2000
# The server promises reports about 100 ms apart and never closer than 50 ms.
FLOOR = 0.05


@pytest.fixture(scope="module")
def big_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big") / "generated"
    generate(root, FILES)
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["vscode-push", "vscode-pull"])
async def session(
    request: pytest.FixtureRequest, big_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Session]:
    # A cache of its own per client: each variant's first scan is cold.
    s = await start(request.param, big_workspace, tmp_path_factory.mktemp("cache"))
    yield s
    await stop(s)


def _uris(root: Path) -> set[str]:
    return {p.as_uri() for p in root.rglob("*.py")}


async def _pull(session: Session, previous: dict[str, str]) -> types.WorkspaceDiagnosticReport:
    return await session.client.workspace_diagnostic_async(
        types.WorkspaceDiagnosticParams(
            previous_result_ids=[
                types.PreviousResultId(uri=uri, value=value) for uri, value in previous.items()
            ],
            identifier="tapps",
        )
    )


async def test_cold_scan_reports_progress_and_delivers_results(
    session: Session, record_property: Callable[[str, object], None]
) -> None:
    rec = recorder(session)
    # Start-up work (warming the review worker imports the engine and blocks the server
    # for a moment) is over once a document has been reviewed by that worker.
    await session.open("untitled:Ready-1", "ready = 1\n")
    await session.close("untitled:Ready-1")
    started = time.perf_counter()
    await session.command("tapps.listTasks")
    round_trip = time.perf_counter() - started
    asked = time.perf_counter()  # before the server can have sent `begin`
    task_id, token, answer_seconds = await scan(session)
    # The command answers at once (no slower than a trivial request on a machine so
    # busy that even that takes longer); the scan goes on in the background.
    assert answer_seconds < max(0.1, 3 * round_trip), (answer_seconds, round_trip)
    assert not rec.ended(token)
    again = await session.command("tapps.reviewWorkspace")
    named = await session.command("tapps.reviewWorkspace", {"folder": session.workspace.as_uri()})
    assert again["taskId"] == named["taskId"] == task_id

    await wait_results(session, token)
    running = await status(session, task_id)
    assert running["state"] == "running" and running["total"] == FILES
    assert 0 < running["done"] < FILES
    listed = await session.command("tapps.listTasks")
    assert task_id in [t["taskId"] for t in listed]

    end = await wait_end(session, token)
    timeline = rec.progress[token]
    values = [v for _, v in timeline]
    begin, reports = values[0], values[1:-1]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert (begin.title, begin.cancellable, begin.percentage) == ("Reviewing workspace", True, 0)
    assert reports and all(isinstance(r, types.WorkDoneProgressReport) for r in reports)
    percentages = [r.percentage for r in reports]
    assert percentages == sorted(percentages) and percentages[-1] <= 100
    for report in reports:
        assert re.fullmatch(rf"\d+/{FILES}( pkg\d\d/mod\d{{4}}\.py)?", report.message or "")
    assert isinstance(end, types.WorkDoneProgressEnd)
    assert re.fullmatch(
        rf"{FILES} files \(0 from cache\), \d+ failing the gate, mean score [\d.]+, [\d.]+ s",
        end.message or "",
    )
    # Begin and reports are throttled; end is sent as soon as the work is done.
    times = [t for t, v in timeline if v.kind != "end"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    record_property("progress_gaps_ms", [round(g * 1000) for g in gaps])
    # The server spaces them >= FLOOR apart by its own clock (tests/unit/test_tasks.py checks
    # that exactly). Arrival times add the client's scheduling delays on a busy machine: a
    # client that stalls receives what was sent meanwhile in a burst, so no window of
    # arrivals can bound them. What load cannot move: every report was sent between the
    # command (before `begin`) and the arrival of `end`, at least FLOOR apart.
    ended_at = timeline[-1][0]
    assert len(reports) <= (ended_at - asked) / FLOOR + 1, (len(reports), ended_at - asked)
    # About every 100 ms, also while a chunk of files is in the workers and none finishes.
    assert statistics.median(gaps) < 0.25, [round(g * 1000) for g in gaps]

    done = await status(session, task_id)
    assert done["state"] == "done"
    assert done["summary"]["files"] == FILES and done["summary"]["fromCache"] == 0
    assert done["done"] == done["total"] == FILES

    uris = _uris(session.workspace)
    if session.pull:
        assert rec.refreshes >= 1
        report = await _pull(session, {})
        assert {item.uri for item in report.items} == uris
        for item in report.items:
            assert isinstance(item, types.WorkspaceFullDocumentDiagnosticReport)
            assert item.result_id and "F401" in {d.code for d in item.items}
            session.result_ids[item.uri] = item.result_id
    else:
        await rec.wait_for(lambda: uris <= set(rec.published))
        for uri in uris:
            assert "F401" in {d.code for d in rec.published[uri][-1].diagnostics}


async def test_second_scan_is_served_from_the_cache(session: Session) -> None:
    rec = recorder(session)
    published = {uri: len(items) for uri, items in rec.published.items()}
    task_id, token, _ = await scan(session)
    end = await wait_end(session, token)
    assert end.message.startswith(f"{FILES} files ({FILES} from cache)")
    summary = (await status(session, task_id))["summary"]
    assert summary["fromCache"] == FILES
    # Nothing changed: push clients are not sent the same diagnostics again.
    assert {uri: len(items) for uri, items in rec.published.items()} == published


async def test_workspace_pull_is_unchanged_and_held_open_until_something_changes(
    session: Session,
) -> None:
    if not session.pull:
        pytest.skip("pull clients only")
    files = _uris(session.workspace)
    previous = {uri: rid for uri, rid in session.result_ids.items() if rid and uri in files}
    assert len(previous) == FILES
    # Sent now (not when a task gets to run), so it reaches the server before the command.
    pending = asyncio.wrap_future(
        session.client.workspace_diagnostic(
            types.WorkspaceDiagnosticParams(
                previous_result_ids=[
                    types.PreviousResultId(uri=uri, value=value) for uri, value in previous.items()
                ]
            )
        )
    )
    # Two round trips after the pull (the first may overtake an answer the server is about
    # to send): had the pull been answered at once, it would be done.
    await session.command("tapps.listTasks")
    await session.command("tapps.listTasks")
    assert not pending.done()

    changed = session.workspace / "pkg00" / "mod0000.py"
    changed.write_text("import sys\n", encoding="utf-8")
    _, token, _ = await scan(session)
    report = await asyncio.wait_for(pending, 60)
    await wait_end(session, token)
    full = [i for i in report.items if isinstance(i, types.WorkspaceFullDocumentDiagnosticReport)]
    assert [i.uri for i in full] == [changed.as_uri()]
    assert full[0].result_id != previous[changed.as_uri()]
    unchanged = [
        i for i in report.items if isinstance(i, types.WorkspaceUnchangedDocumentDiagnosticReport)
    ]
    assert len(unchanged) == FILES - 1
    assert all(i.result_id == previous[i.uri] for i in unchanged)


async def test_workspace_pull_streams_partial_results(session: Session) -> None:
    if not session.pull:
        pytest.skip("pull clients only")
    rec = recorder(session)
    token = "partial-1"
    rec.partials[token] = []
    report = await session.client.workspace_diagnostic_async(
        types.WorkspaceDiagnosticParams(previous_result_ids=[], partial_result_token=token)
    )
    # Everything came as partial results; the final answer is empty (LSP spec).
    assert list(report.items) == []
    # The client cannot know the type of a partial result: it stays plain JSON.
    streamed = [item for chunk in rec.partials[token] for item in chunk["items"]]
    assert {item["uri"] for item in streamed} == _uris(session.workspace)
    assert all(item["kind"] == "full" and item["resultId"] for item in streamed)
    assert len(rec.partials[token]) > 1
