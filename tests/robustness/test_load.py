"""Load: a burst of saves on one document, and a workspace of 20,000 files.

Memory is read from /proc (VmRSS now, VmHWM the peak); the bounds are a few
times what was measured (see the report), so that growth with the load, not
noise, fails them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from robustness.raw import Raw, rss_kib

PUSH = {
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
    "window": {"workDoneProgress": True},
}
MIB = 1024


def version_text(version: int) -> str:
    """Distinct text per version (each a cache miss), its own unused import to recognise."""
    return f"import os\nimport module_{version}\n\n\ndef f(x):\n    return x * {version}\n"


async def test_200_saves_a_second_end_with_the_last_versions_diagnostics(
    tmp_path: Path, workspace: Path
) -> None:
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], PUSH)
        uri = (workspace / "busy.py").as_uri()
        await raw.open(uri, version_text(1))
        await raw.diagnostics_of(uri, version=1)
        baseline = rss_kib(raw.pid)
        assert raw.proc.stdin is not None
        rate, seconds = 200, 5
        last = 1 + rate * seconds
        started = time.monotonic()
        for version in range(2, last + 1):
            change: dict[str, object] = {"textDocument": {"uri": uri, "version": version}}
            change["contentChanges"] = [{"text": version_text(version)}]
            raw.notify("textDocument/didChange", change)
            raw.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
            if version % 10 == 0:
                # Pace the burst at `rate` saves a second (this is the load, not a wait).
                await raw.proc.stdin.drain()
                await asyncio.sleep(max(0.0, started + (version - 1) / rate - time.monotonic()))
        sent_in = time.monotonic() - started
        final = await raw.diagnostics_of(uri, version=last)
        assert any(f"module_{last}" in d["message"] for d in final), final
        await raw.request(
            "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
        )
        versions = [p["version"] for p in raw.published(uri)]
        # Never an older version's diagnostics after a newer one's, and the last is last.
        assert versions == sorted(versions) and versions[-1] == last
        # Superseded reviews were dropped, not all delivered.
        assert len(versions) < last / 2
        assert sent_in < seconds * 2, "the client could not keep the rate"
        grown = rss_kib(raw.pid) - baseline
        assert grown < 120 * MIB, f"grew by {grown} KiB"
        assert await raw.stop() == 0
    finally:
        await raw.kill()


async def test_a_20000_file_workspace_scans_in_bounded_memory(
    tmp_path: Path, workspace: Path
) -> None:
    text = "import os\n"
    for d in range(100):
        folder = workspace / f"pkg{d:03}"
        folder.mkdir()
        for f in range(200):
            (folder / f"m{f:03}.py").write_text(text)
    raw = await Raw.start(tmp_path)
    try:
        await raw.initialize([workspace], PUSH)
        # The content is known to the cache: the scan reads, hashes, scores and
        # publishes every file, without the hour of analysing 20,000 of them.
        probe = (workspace / "probe.py").as_uri()
        await raw.open(probe, text)
        await raw.diagnostics_of(probe)
        baseline = rss_kib(raw.pid)
        await raw.request(
            "workspace/executeCommand", {"command": "tapps.reviewWorkspace", "arguments": []}
        )
        end = await raw.notification(
            "$/progress", lambda p: p["value"].get("kind") == "end", timeout=240
        )
        assert "20000 files" in end["params"]["value"]["message"]
        published = {
            m["params"]["uri"]
            for m in raw.notifications
            if m["method"] == "textDocument/publishDiagnostics"
        }
        assert len(published) >= 20_000
        peak = rss_kib(raw.pid, "VmHWM")
        assert peak - baseline < 400 * MIB, f"peak {peak} KiB from {baseline} KiB"
        assert await raw.stop() == 0
    finally:
        await raw.kill()
