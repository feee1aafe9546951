"""Code lens: "Quality 76.5/100 · pass" on line 1, the complexity above complex blocks."""

from __future__ import annotations

from lsprotocol import types

from tapps_lsp.server import TappsLanguageServer


async def code_lens(
    ls: TappsLanguageServer, params: types.CodeLensParams
) -> list[types.CodeLens] | None:
    """The score lens on line 1 and the complexity lenses, from the last review."""
    uri = params.text_document.uri
    state = await ls.documents.current(uri)
    if state is None or state.review is None or state.settings is None:
        return None
    from tapps_lsp import convert  # imported after `initialize` is answered

    return convert.code_lenses(
        state.review, state.lines, ls.encoding, uri, state.settings.complexityThreshold
    )


def register(server: TappsLanguageServer) -> None:
    """Register textDocument/codeLens (no resolve step)."""
    server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))(
        code_lens
    )
