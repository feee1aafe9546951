"""Fixtures for the robustness tests: a raw client on a fresh server per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from robustness.raw import Raw


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest_asyncio.fixture
async def raw(tmp_path: Path) -> AsyncIterator[Raw]:
    server = await Raw.start(tmp_path)
    yield server
    await server.kill()
