"""Save -> diagnostics round trips, the way an editor drives them.

Each function returns one latency per edit in milliseconds: from the moment
the triggering notification is written to the server's stdin to the moment
the matching publishDiagnostics is fully read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.lsp_client import LspClient, now_ms

# A server that never answers is a failed measurement, not a hang; generous,
# as a first review starts worker processes on a machine that may be busy.
_TIMEOUT_S = 120.0


class Document:
    """An open buffer: its uri, current text and version."""

    def __init__(self, client: LspClient, uri: str, text: str) -> None:
        self.client = client
        self.uri = uri
        self.text = text
        self.version = 1
        # Send the text with didSave only when the server asked for it, as editors do.
        save = client.capabilities.get("textDocumentSync", {})
        save = save.get("save") if isinstance(save, dict) else None
        self.include_text = isinstance(save, dict) and bool(save.get("includeText"))
        self.result_id: str | None = None

    async def open(self) -> float:
        """didOpen; returns the ms until the first diagnostics arrive."""
        waiter = self.client.expect_diagnostics(self.uri)
        start = now_ms()
        await self.client.did_open(self.uri, self.text, self.version)
        received, _ = await asyncio.wait_for(waiter, _TIMEOUT_S)
        return received - start

    async def change(self, text: str) -> float:
        """didChange (full text); returns the ms until diagnostics of that version."""
        self.version += 1
        self.text = text
        version = self.version
        waiter = self.client.expect_diagnostics(self.uri, _version_at_least(version))
        start = now_ms()
        await self.client.did_change(self.uri, text, version)
        received, _ = await asyncio.wait_for(waiter, _TIMEOUT_S)
        return received - start

    async def edit_then_save(self, text: str | None = None) -> float:
        """didChange (when `text` differs) then didSave; returns the ms from the save."""
        if text is not None and text != self.text:
            self.version += 1
            self.text = text
            await self.client.did_change(self.uri, text, self.version)
        waiter = self.client.expect_diagnostics(self.uri, _version_at_least(self.version))
        start = now_ms()
        await self.client.did_save(self.uri, self.text if self.include_text else None)
        received, _ = await asyncio.wait_for(waiter, _TIMEOUT_S)
        return received - start

    async def pull(self) -> dict[str, Any]:
        """textDocument/diagnostic with the last result id, as a pull client asks."""
        params = {"textDocument": {"uri": self.uri}, "previousResultId": self.result_id}
        report = await self.client.request("textDocument/diagnostic", params, timeout=_TIMEOUT_S)
        self.result_id = report.get("resultId", self.result_id)
        answer: dict[str, Any] = report
        return answer

    async def save_then_pull(self) -> float:
        """didSave, the server's refresh request, then the client's pull: a VS Code save."""
        while not self.client.refreshes.empty():
            self.client.refreshes.get_nowait()
        start = now_ms()
        await self.client.did_save(self.uri, self.text if self.include_text else None)
        await asyncio.wait_for(self.client.refreshes.get(), _TIMEOUT_S)
        await self.pull()
        return now_ms() - start

    async def close(self) -> None:
        await self.client.did_close(self.uri)


def _version_at_least(version: int) -> Callable[[dict[str, Any]], bool]:
    # A server that omits the version (allowed by the protocol) is taken at its word.
    return lambda params: params.get("version") is None or params["version"] >= version


def varied(text: str, index: int) -> str:
    """The same file with a changing trailing comment, so every save misses a cache."""
    return f"{text}\n# benchmark edit {index}\n"


async def repeat(
    action: Callable[[int], Awaitable[float]], count: int, *, warmup: int, pause_s: float = 0.0
) -> list[float]:
    """Runs `action(i)` warmup + count times; returns the last `count` latencies."""
    samples: list[float] = []
    for index in range(warmup + count):
        elapsed = await action(index)
        if index >= warmup:
            samples.append(elapsed)
        if pause_s:
            # Pacing, not synchronisation: lets a debounced or background
            # server settle between edits as it would between keystrokes.
            await asyncio.sleep(pause_s)
    return samples
