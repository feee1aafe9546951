"""The feature lifecycle (features/base.py): setup.py's order, started in it, shut down reversed."""

from __future__ import annotations

import asyncio

from tapps_lsp.features.base import Feature
from tapps_lsp.features.configuration import Configuration
from tapps_lsp.features.workspace import Workspace
from tapps_lsp.scans.state import ScanState
from tapps_lsp.setup import create_server


class Recording(Feature):
    """Notes each lifecycle step in a shared list."""

    def __init__(self, name: str, steps: list[str], yields: int = 0) -> None:
        self.name = name
        self.steps = steps
        self.yields = yields

    async def initialized(self) -> None:
        for _ in range(self.yields):  # started together, a later feature would finish first
            await asyncio.sleep(0)
        self.steps.append(f"initialized {self.name}")

    def shutdown(self) -> None:
        self.steps.append(f"shutdown {self.name}")


def test_the_settings_start_before_the_workspace() -> None:
    server = create_server()
    assert [type(f) for f in server.features] == [Configuration, Workspace]
    assert isinstance(server.scans, ScanState)
    assert not hasattr(server, "initialized_hooks")


def test_features_start_in_order_and_shut_down_in_reverse() -> None:
    server = create_server()
    steps: list[str] = []
    server.features = [Recording("a", steps, yields=3), Recording("b", steps)]
    asyncio.run(server.start_features())
    assert steps == ["initialized a", "initialized b"]
    server.end_session()
    assert steps[2:] == ["shutdown b", "shutdown a"]
