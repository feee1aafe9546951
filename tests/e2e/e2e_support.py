"""End-to-end support: the real server (`python -m tapps_lsp`) driven by pytest-lsp.

Each test module shares one server per client variant: VS Code and Neovim
capabilities, each with push and with pull diagnostics. "neovim-push" is
Neovim 0.11 exactly as it is: it offers pull but no refresh, so the server
must fall back to push. Everything is awaited on events, never on sleeps.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from tapps_lsp.review.positions import UTF8, UTF16, from_units, split_lines

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-project"

SERVER_COMMAND = [sys.executable, "-m", "tapps_lsp"]

VARIANTS = ["vscode-push", "vscode-pull", "neovim-push", "neovim-pull"]
CLIENT_NAMES = {"vscode": "visual-studio-code", "neovim": "neovim"}


def capabilities(variant: str) -> types.ClientCapabilities:
    name, mode = variant.split("-")
    caps = client_capabilities(CLIENT_NAMES[name])
    assert caps.text_document is not None and caps.workspace is not None
    if mode == "pull":
        caps.text_document.diagnostic = types.DiagnosticClientCapabilities(
            dynamic_registration=False, related_document_support=False
        )
        caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
            refresh_support=True
        )
    elif name == "vscode":
        caps.text_document.diagnostic = None
    return caps


class Recorder:
    """What the client received, with a way to wait for the next of each kind."""

    def __init__(self) -> None:
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.refreshes = 0
        self.messages: list[types.ShowMessageParams] = []
        self.registrations: list[types.Registration] = []
        self.changed = asyncio.Condition()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 60) -> None:
        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)


def make_client(
    recorder: Recorder | None = None,
    more_features: Callable[[LanguageClient], dict[str, Any]] | None = None,
) -> LanguageClient:
    """A pytest-lsp client whose `recorder` sees what the server sends.

    `more_features` adds or replaces handlers (method -> handler) for the client made.
    """
    client = LanguageClient(converter_factory=default_converter)
    recorder = recorder or Recorder()
    client.recorder = recorder  # type: ignore[attr-defined]

    async def publish(params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        recorder.published.setdefault(params.uri, []).append(params)
        await recorder._notify()

    async def refresh(params: None) -> None:
        recorder.refreshes += 1
        await recorder._notify()

    async def show_message(params: types.ShowMessageParams) -> None:
        recorder.messages.append(params)
        await recorder._notify()

    async def register_capability(params: types.RegistrationParams) -> None:
        # Unanswered, the server's file watchers fail and it logs a warning per session.
        recorder.registrations.extend(params.registrations)
        await recorder._notify()

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.WINDOW_SHOW_MESSAGE] = show_message
    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[types.WORKSPACE_DIAGNOSTIC_REFRESH] = refresh
    if more_features is not None:
        features.update(more_features(client))
    register_lsp_features(client, features)
    return client


class Session:
    """A client speaking to one server, with the few verbs the tests need."""

    def __init__(self, client: LanguageClient, variant: str, workspace: Path) -> None:
        self.client = client
        self.variant = variant
        self.pull = variant.endswith("pull")
        self.utf8 = variant.startswith("neovim")
        self.workspace = workspace
        self.recorder: Recorder = client.recorder  # type: ignore[attr-defined]
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.result_ids: dict[str, str | None] = {}
        self.capabilities: types.ServerCapabilities | None = None

    def write(self, relative: str, text: str) -> str:
        path = self.workspace / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path.as_uri()

    async def _after(
        self, uri: str, send: Callable[[], None], *, saved: bool
    ) -> list[types.Diagnostic]:
        """Send something that makes the server review `uri`, then its diagnostics."""
        if not self.pull:
            published = self.recorder.published.setdefault(uri, [])
            mark = len(published)
            send()
            await self.recorder.wait_for(lambda: len(published) > mark)
            params = published[-1]
            assert params.version == self.versions[uri]
            return list(params.diagnostics)
        mark = self.recorder.refreshes
        send()
        if saved:
            # The client only re-pulls after a save when told to.
            await self.recorder.wait_for(lambda: self.recorder.refreshes > mark)
        return await self.pull_diagnostics(uri)

    async def pull_diagnostics(
        self, uri: str, previous: str | None = None
    ) -> list[types.Diagnostic]:
        report = await self.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                identifier="tapps",
                previous_result_id=previous,
            )
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        self.result_ids[uri] = report.result_id
        return list(report.items)

    async def open(self, uri: str, text: str | None = None) -> list[types.Diagnostic]:
        if text is None:
            text = Path(uri.removeprefix("file://")).read_text(encoding="utf-8")
        self.versions[uri] = 1
        self.texts[uri] = text
        item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        return await self._after(
            uri,
            lambda: self.client.text_document_did_open(types.DidOpenTextDocumentParams(item)),
            saved=False,
        )

    def change(self, uri: str, text: str) -> None:
        """Replace the whole buffer (one incremental change covering everything)."""
        old = split_lines(self.texts[uri])
        end_units = len(old[-1].encode("utf-8" if self.utf8 else "utf-16-le"))
        end = types.Position(len(old) - 1, end_units if self.utf8 else end_units // 2)
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(0, 0), end), text=text
                    )
                ],
            )
        )

    async def save(self, uri: str, text: str | None = None) -> list[types.Diagnostic]:
        """Save (after replacing the buffer with `text` when given)."""
        if text is not None:
            self.change(uri, text)
        return await self._after(
            uri,
            lambda: self.client.text_document_did_save(
                types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
            ),
            saved=True,
        )

    async def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
        )
        if not self.pull:
            published = self.recorder.published.setdefault(uri, [])
            mark = len(published)
            await self.recorder.wait_for(lambda: len(published) > mark)

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments))
        )


def server_env(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TAPPS_LSP_CACHE_DIR"] = str(cache_dir)
    env.setdefault("TAPPS_LSP_LOG_LEVEL", "info")
    return env


async def start_session(
    variant: str,
    workspace: Path,
    cache_dir: Path,
    *,
    folders: list[Path] | None = None,
    configuration: dict[str, Any] | None = None,
    initialization_options: dict[str, Any] | None = None,
) -> Session:
    client = make_client()
    for scope, value in (configuration or {}).items():
        client.set_configuration({"tapps": value}, scope_uri=scope)
    await client.start_io(sys.executable, "-m", "tapps_lsp", env=server_env(cache_dir))
    roots = folders or [workspace]
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(variant),
            workspace_folders=[
                types.WorkspaceFolder(uri=root.as_uri(), name=root.name) for root in roots
            ],
            initialization_options=initialization_options,
        )
    )
    session = Session(client, variant, workspace)
    session.capabilities = result.capabilities
    return session


async def stop_session(session: Session) -> None:
    await session.client.shutdown_session()
    await session.client.stop()


def _offset(text: str, position: types.Position, encoding: str) -> int:
    lines = split_lines(text)
    starts = [0]
    for match_end in _line_ends(text):
        starts.append(match_end)
    col = from_units(lines[position.line], position.character, encoding)
    return starts[position.line] + col


def _line_ends(text: str) -> list[int]:
    ends = []
    i = 0
    while i < len(text):
        if text[i] == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
            ends.append(i + 2)
            i += 2
            continue
        if text[i] in "\r\n":
            ends.append(i + 1)
        i += 1
    return ends


def apply_edits(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    spans = [
        (_offset(text, e.range.start, encoding), _offset(text, e.range.end, encoding), e.new_text)
        for e in edits
    ]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def text_edits(edit: types.WorkspaceEdit, uri: str, version: int) -> list[types.TextEdit]:
    """The edits for `uri`, checking they name the document version they were made for."""
    if edit.document_changes is not None:
        out: list[types.TextEdit] = []
        for change in edit.document_changes:
            assert isinstance(change, types.TextDocumentEdit)
            assert change.text_document.uri == uri
            assert change.text_document.version == version
            out.extend(e for e in change.edits if isinstance(e, types.TextEdit))
        return out
    assert edit.changes is not None
    return list(edit.changes[uri])


def encoding_of(utf8: bool) -> str:
    return UTF8 if utf8 else UTF16
