"""Fixtures for the hostile-repository tests.

Each test builds a small proof-of-concept repository (what `git clone` could
check out: files, symlinks, FIFOs made by a hook or by hand) and points the
server, `tapps-lsp check` or a client at it. Everything they start runs under
an address-space limit (RLIMIT_AS), so a regression that reads /dev/zero or
expands a YAML bomb fails the test with MemoryError instead of taking the
machine down.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from robustness.raw import Raw, server_env

# Enough for the server, its workers and ruff (a review of this package peaks
# well under 1 GiB of address space); far less than a runaway read needs.
ADDRESS_SPACE = 1 << 30
TAPPS = str(Path(sys.executable).with_name("tapps-lsp"))


def limit_address_space(limit: int = ADDRESS_SPACE) -> Callable[[], None]:
    """A `preexec_fn` that caps the child's address space (its children inherit it)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


@pytest.fixture
def memory_cap() -> Iterator[int]:
    """Cap this test process's own address space at its current size plus 512 MiB.

    For tests that call a reader in-process: a regression raises MemoryError
    here instead of growing until the OOM killer picks a victim.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = size + (512 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run_check(
    *args: str, cwd: Path, cache_dir: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`tapps-lsp check ARGS` from `cwd` under the address-space limit."""
    environment = server_env(cache_dir, **env)
    return subprocess.run(
        [TAPPS, "check", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        preexec_fn=limit_address_space(),
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty folder for the proof-of-concept repository."""
    root = tmp_path / "cloned"
    root.mkdir()
    return root


@pytest_asyncio.fixture
async def hostile_server(tmp_path: Path) -> AsyncIterator[Raw]:
    """A real server on stdio, started from tmp_path, under the address-space limit."""
    server = await Raw.start(tmp_path, preexec_fn=limit_address_space())
    yield server
    await server.kill()
