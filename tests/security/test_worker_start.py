"""A worker process started from inside a cloned repository imports nothing from it.

Issue 17 replaced the multiprocessing fork server by workers of our own
(review/worker_process.py). Here the owner itself runs inside the repository,
with an empty PYTHONPATH entry (which means the cwd) and without PYTHONSAFEPATH:
the worst a parent could hand down. The repository plants modules the worker
imports while it starts (`json`, `tapps_lsp`) and after it has moved into the
repository (`bandit`, loaded on the first review with securityEngine "bandit"),
and `multiprocessing`; each writes a marker when imported. The worker runs
under the address-space limit of `memory_cap`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapps_lsp.config import Settings
from tapps_lsp.review import worker_wire
from tapps_lsp.review.model import FileResult
from tapps_lsp.supervised_pool import ChunkQueue, SupervisedPool

PLANTED = ("json", "tapps_lsp", "bandit", "multiprocessing")
SOURCE = "import subprocess\n\nsubprocess.call('ls', shell=True)\n"


async def test_a_worker_started_inside_the_repository_imports_nothing_from_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_cap: int
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    for name in PLANTED:
        (repo / name).mkdir()
        (repo / name / "__init__.py").write_text(f"open({str(markers / name)!r}, 'w').close()\n")
    (repo / "app.py").write_text(SOURCE)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PYTHONPATH", os.pathsep)
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    settings = Settings(securityEngine="bandit")
    pool = SupervisedPool(1)
    try:
        request = worker_wire.analyze_request(SOURCE, str(repo / "app.py"), settings)
        result = FileResult.from_dict(await pool.call(request, retry_note="retry"))
        # A scan's chunk: the worker reads `app.py` by the relative path, in the repository.
        found: list[FileResult] = []
        await pool.run(
            ChunkQueue([("app.py", len(SOURCE))]),
            settings,
            on_item=lambda item: found.append(FileResult.from_dict(item.data or {})),
            on_lost=lambda name, why: pytest.fail(f"{name} lost: {why}"),
        )
    finally:
        pool.close(kill_workers=False, wait=True)
    assert "B602" in {f.code for f in result.findings}, result.analyzer_errors
    assert [f.code for f in found[0].findings] == [f.code for f in result.findings]
    assert sorted(os.listdir(markers)) == []
