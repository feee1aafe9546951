"""Fixtures for the end-to-end tests (helpers live in e2e_support.py)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from e2e_support import SAMPLE, VARIANTS, Session, start_session, stop_session


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample project per module (tests may edit files in it)."""
    root = tmp_path_factory.mktemp("ws") / "sample-project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".ruff_cache", "__pycache__"))
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=VARIANTS)
async def session(
    request: pytest.FixtureRequest, workspace: Path, cache_dir: Path
) -> AsyncIterator[Session]:
    s = await start_session(request.param, workspace, cache_dir)
    yield s
    await stop_session(s)
