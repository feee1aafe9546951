"""Review triggers and the diagnostics they produce (push or pull).

didOpen and didSave review the document's current text; didChange only
with `run: "onType"`, debounced. The handlers are plain functions so that
a cache hit is answered within the same turn of the event loop.
"""

from __future__ import annotations

from lsprotocol import types

from tapps_lsp.server import TappsLanguageServer


def register(server: TappsLanguageServer) -> None:
    """Register the document events that review a file and publish its diagnostics."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TappsLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.review_document(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: TappsLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.review_document(params.text_document.uri, refresh=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TappsLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        settings = ls.folder_for(params.text_document.uri).settings
        if settings is not None and settings.run == "onType":
            ls.documents.schedule(params.text_document.uri, settings.debounceMs)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TappsLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="tapps", inter_file_dependencies=False, workspace_diagnostics=True
        ),
    )
    async def diagnostic(
        ls: TappsLanguageServer, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        state = await ls.documents.current(uri)
        doc = ls.workspace.text_documents.get(uri)
        if state is not None and doc is not None and state.version != doc.version:
            # Edited since the last review (onSave): exact results if the text is cached.
            ls.documents.review_from_cache(uri)
        if state is None or state.result_id is None:
            # Never opened here (or closed): we only review text the client sent us.
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        if params.previous_result_id == state.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=state.result_id)
        return types.RelatedFullDocumentDiagnosticReport(
            items=state.diagnostics, result_id=state.result_id
        )
