"""Save -> diagnostics latency through stdio, with a real LSP client (pygls).

    .venv/bin/python tests/e2e/measure_save_latency.py [FILE] [--runs N] [--server tapps|ruff]

For tapps-lsp: "cached" saves unchanged content (served from the cache),
"uncached" changes one comment line and saves (a full review in the
worker). ruff's server lints on change, not on save, so for ruff each
sample is didChange (+ didSave) -> publishDiagnostics; its "cached" row
re-sends the same text. The clock starts when the notification is written
and stops when the client has decoded publishDiagnostics.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

DEFAULT_FILE = "/root/.pyenv/versions/3.11.7/lib/python3.11/pprint.py"


async def measure(server: str, file: Path, runs: int) -> dict[str, list[float]]:
    client = LanguageClient("measure", "1")
    published: asyncio.Queue[tuple[float, types.PublishDiagnosticsParams]] = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        published.put_nowait((time.perf_counter(), params))

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def on_configuration(params: types.ConfigurationParams) -> list[object]:
        return [None for _ in params.items]

    cache = tempfile.mkdtemp(prefix="tapps-measure-")
    if server == "tapps":
        cmd = [sys.executable, "-m", "tapps_lsp"]
    else:
        cmd = [str(Path(sys.prefix) / "bin" / "ruff"), "server"]
    env = dict(os.environ, TAPPS_LSP_CACHE_DIR=cache, TAPPS_LSP_LOG_LEVEL="warning")
    await client.start_io(*cmd, env=env)
    # ruff's notebook selector does not fit lsprotocol's InitializeResult; we need none of it.
    typed = client.protocol.get_result_type
    client.protocol.get_result_type = lambda m: None if m == types.INITIALIZE else typed(m)  # type: ignore[method-assign, assignment]
    folder = file.parent
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                text_document=types.TextDocumentClientCapabilities(
                    publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                        version_support=True
                    ),
                    synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
                ),
                workspace=types.WorkspaceClientCapabilities(configuration=True),
            ),
            workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)],
        )
    )
    client.initialized(types.InitializedParams())
    uri = file.as_uri()
    text = file.read_text(encoding="utf-8")
    version = 1
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", version, text))
    )
    await published.get()

    async def sample(change: str | None) -> float:
        nonlocal version
        start = time.perf_counter()
        if change is not None or server == "ruff":
            version += 1
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                    [types.TextDocumentContentChangeWholeDocument(text=change or text)],
                )
            )
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        while True:
            stamp, params = await published.get()
            if params.uri == uri and (params.version in (None, version)):
                return (stamp - start) * 1000

    results: dict[str, list[float]] = {"cached": [], "uncached": []}
    for i in range(runs):
        results["uncached"].append(await sample(text + f"\n# run {i} {time.time_ns()}\n"))
        # Back to the original text, reviewed at the start: a cached save.
        results["cached"].append(await sample(text))
        results["cached"].append(await sample(None))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return results


def report(server: str, results: dict[str, list[float]]) -> None:
    for kind, values in results.items():
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(
            f"{server:5} {kind:8} n={len(values):3} median {statistics.median(values):7.2f} ms"
            f"  p95 {p95:7.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", default=DEFAULT_FILE)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--server", choices=["tapps", "ruff", "both"], default="both")
    args = parser.parse_args()
    servers = ["tapps", "ruff"] if args.server == "both" else [args.server]
    for server in servers:
        report(server, asyncio.run(measure(server, Path(args.file), args.runs)))


if __name__ == "__main__":
    main()
