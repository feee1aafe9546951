"""Start-up: what the language server imports before its first answer and for one
cached file (issue 17), and a start whose input is already at its end.

The server is started the way the editors start it, `python -I -m tapps_lsp`, with
`-X importtime`: CPython then writes one stderr line for every module the process
imports, for its whole life. The engine, the scan machinery and the report writers
are loaded when first used (the engine only in the worker processes), so that
`initialize` is answered sooner and a server with one file open stays small.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from robustness.raw import Raw, server_env

SERVER = [sys.executable, "-X", "importtime", "-I", "-m", "tapps_lsp"]

# What the first answer (`initialize`) never needs: conversion and scoring, the cache
# (diskcache, SQLite, package metadata), settings files, the reviewer and its engine,
# discovery's pattern matchers, reports, the scan machinery, YAML.
NOT_BEFORE_INITIALIZE = (
    "tapps_lsp.convert",
    "tapps_lsp.documents",
    "tapps_lsp.review.scoring",
    "tapps_lsp.review.project",
    "tapps_lsp.settings_sources",
    "tomllib",
    "tapps_lsp.cache",
    "diskcache",
    "sqlite3",
    "importlib.metadata",
    "tapps_lsp.reviewer",
    "tapps_lsp.review.engine",
    "tapps_lsp.review.fastmetrics",
    "tapps_lsp.review.analyzers",
    "tapps_lsp.review.discovery",
    "pathspec",
    "re2",
    "hyperscan",
    "tapps_lsp.reports",
    "tapps_lsp.scans.runner",
    "tapps_lsp.scans.watch",
    "tapps_lsp.tasks.registry",
    "yaml",
)

# What a session that opens one file, answered from the cache, never needs: a scan's
# file discovery with its pattern matchers, YAML (no .tapps-agents/config.yaml), package
# metadata through importlib.metadata (review/versions.py reads it directly), and the
# report renderers (the scan state imports the reports package for its summary). Nor
# the analysis engine: it runs in the worker processes.
NOT_FOR_ONE_FILE = (
    "tapps_lsp.review.engine",
    "tapps_lsp.review.fastmetrics",
    "tapps_lsp.review.analyzers.registry",
    "tapps_lsp.reports.html_report",
    "tapps_lsp.reports.sarif",
    "tapps_lsp.reports.markdown",
    "tapps_lsp.reports.json_report",
    "tapps_lsp.reports.text",
    "tapps_lsp.review.discovery",
    "tapps_lsp.review.gitignore",
    "pathspec",
    "re2",
    "hyperscan",
    "yaml",
    "importlib.metadata",
    "email",
    "zipfile",
    "csv",
)


def imported(stderr: str) -> set[str]:
    """The modules named by `-X importtime` lines ("import time: self | total | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def loaded(names: set[str], wanted: tuple[str, ...]) -> list[str]:
    """The modules of `wanted` (or modules inside them) among `names`."""
    return sorted(n for n in names if any(n == w or n.startswith(w + ".") for w in wanted))


def test_initialize_is_answered_before_the_rest_is_imported(tmp_path: Path) -> None:
    # A pipe at its end at once: the server imports what it imports before reading its
    # first message, reads nothing and exits (1: the client left before `shutdown`).
    done = subprocess.run(
        SERVER,
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=server_env(tmp_path / "cache"),
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    names = imported(done.stderr)
    # The parse works: what the first answer needs is there.
    assert {"lsprotocol.types", "pygls.lsp.server", "tapps_lsp.server"} <= names
    assert loaded(names, NOT_BEFORE_INITIALIZE) == []


def test_start_up_leaves_little_garbage_frozen() -> None:
    """create_server freezes what start-up built (full collections then skip it). With the
    collector off during the imports, the cyclic garbage of building lsprotocol's classes
    was frozen with it, for good: 17,000 objects, 9 MB of the server's RSS at rest."""
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import gc; from tapps_lsp.setup import create_server; create_server(); "
            "frozen = gc.get_freeze_count(); gc.unfreeze(); print(frozen, gc.collect())",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, garbage = (int(n) for n in done.stdout.split())
    assert frozen > 20_000  # start-up's objects were frozen
    assert garbage < 2_000, garbage


def test_input_from_dev_null_ends_the_server(tmp_path: Path) -> None:
    """asyncio takes /dev/null for a pipe, and epoll then refuses it in a callback: the
    server waited for ever for input that had ended. It is read in a thread instead."""
    done = subprocess.run(
        [sys.executable, "-I", "-m", "tapps_lsp"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=server_env(tmp_path / "cache"),
        timeout=60,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


async def _open_once(tmp_path: Path, project: Path, source: Path) -> tuple[str, dict[str, int]]:
    raw = await Raw.start(tmp_path, command=SERVER, env=server_env(tmp_path / "cache"))
    try:
        await raw.initialize([project])
        await raw.open(source.as_uri(), source.read_text())
        assert await raw.diagnostics_of(source.as_uri())  # `import os` is unused: F401
        stats = await raw.request(
            "workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []}
        )
    finally:
        await raw.stop()
    return raw.stderr, stats


async def test_one_cached_file_needs_no_scan_modules(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    source = project / "module.py"
    source.write_text("import os\n\n\ndef double(value):\n    return 2 * value\n")

    await _open_once(tmp_path, project, source)  # reviews the file, caches its result
    stderr, stats = await _open_once(tmp_path, project, source)
    assert stats["hits"] == 1 and stats["misses"] == 0, stats  # answered from the cache
    names = imported(stderr)
    assert "tapps_lsp.documents" in names  # the session's own imports are listed
    assert loaded(names, NOT_FOR_ONE_FILE) == []
