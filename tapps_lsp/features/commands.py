"""Per-file commands: tapps.reviewFile, tapps.cacheStats, tapps.clearCache."""

from __future__ import annotations

import asyncio
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from tapps_lsp.safe_io import UnsafeRead, read_source_text
from tapps_lsp.server import TappsLanguageServer


async def review_file(ls: TappsLanguageServer, uri: str) -> dict[str, Any]:
    """The file's review; an open document's text wins over the disk.

    A file is read from disk only when it lies inside a workspace folder.
    """
    doc = ls.workspace.text_documents.get(uri)
    folder = ls.folder_for(uri)
    if doc is not None:
        text = doc.source
    else:
        path = ls.inside_workspace(uri)
        if path is None:
            raise JsonRpcInvalidParams(f"{uri} is neither open nor inside a workspace folder")
        try:
            text = await asyncio.to_thread(read_source_text, path)
        except UnsafeRead as exc:  # a FIFO or device, or over the size limit
            why = str(exc).rsplit(": ", 1)[-1].removesuffix("; not read")
            raise JsonRpcInvalidParams(f"{uri} is {why}") from exc
        except OSError as exc:
            raise JsonRpcInvalidParams(f"cannot read {uri}: {exc.strerror}") from exc
    settings = await ls.settings_of(folder)
    reviewer = await ls.ready_reviewer()
    review = await reviewer.review_text(text, ls.documents.path(uri), settings, folder.root)
    return review.to_dict()


def register(server: TappsLanguageServer) -> None:
    """Register the tapps.* workspace/executeCommand commands."""

    @server.command("tapps.reviewFile")
    async def tapps_review_file(ls: TappsLanguageServer, uri: str) -> dict[str, Any]:
        return await review_file(ls, uri)

    @server.command("tapps.cacheStats")
    async def tapps_cache_stats(ls: TappsLanguageServer) -> dict[str, Any]:
        # In a thread: the disk tier's counts are SQLite queries and the lifetime
        # counters a locked file (both of the user's cache directory).
        return await asyncio.to_thread(lambda: ls.cache.stats())

    @server.command("tapps.clearCache")
    def tapps_clear_cache(ls: TappsLanguageServer) -> dict[str, int]:
        return {"cleared": ls.cache.clear()}
