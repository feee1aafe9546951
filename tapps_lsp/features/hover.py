"""Hover: the score breakdown on line 1, the rule's explanation on a line with findings."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tapps_lsp.server import TappsLanguageServer


async def ruff_explanation(ls: TappsLanguageServer, code: str) -> str | None:
    """`ruff rule CODE`'s explanation, asked once per code per session."""
    if code in ls.rule_docs:
        return ls.rule_docs[code]
    # Imported on first use: the analyzers are not needed to answer `initialize`.
    from tapps_lsp.review.analyzers import ToolError, ruff

    try:
        explanation = await asyncio.to_thread(ruff.rule_explanation, code)
    except ToolError:
        explanation = ""  # ruff missing, or it could not start or timed out
    ls.rule_docs[code] = explanation
    return explanation or None


async def explanation_of(ls: TappsLanguageServer, source: str, code: str) -> str | None:
    """The rule's explanation: ruff's own, and for a bandit check ruff's twin of it."""
    if source == "ruff":
        return await ruff_explanation(ls, code)
    if source != "bandit":
        return None
    from tapps_lsp.review.analyzers.ruff_security import TABLE

    twin = next((s for s, (b, *_) in TABLE.items() if b == code), None)
    explanation = await ruff_explanation(ls, twin) if twin else None
    if not explanation:
        return None
    return f"The same check as ruff's `{twin}`.\n\n{explanation}"


async def hover(ls: TappsLanguageServer, params: types.HoverParams) -> types.Hover | None:
    """The score table on line 1, and each finding on the line with its rule's excerpt."""
    state = await ls.documents.current(params.text_document.uri)
    if state is None or state.review is None or state.settings is None:
        return None
    from tapps_lsp import convert  # imported after `initialize` is answered

    line = params.position.line
    parts = []
    if line == 0:
        parts.append(convert.score_table(state.review, state.settings))
    for finding in state.review.result.findings:
        if finding.line <= line <= max(finding.end_line, finding.line):
            explanation = await explanation_of(ls, finding.source, finding.code)
            parts.append(convert.finding_markdown(finding, explanation))
    if not parts:
        return None
    kind = types.MarkupKind.Markdown if ls.markdown else types.MarkupKind.PlainText
    return types.Hover(contents=types.MarkupContent(kind=kind, value="\n\n---\n\n".join(parts)))


def register(server: TappsLanguageServer) -> None:
    """Wire textDocument/hover."""
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
