"""Code actions: ruff's fixes as quick fixes, `source.fixAll.tapps`, and suppressions.

Every edit names the document version it was computed for, so an editor
whose buffer moved on rejects it instead of applying it in the wrong place.
Actions are only offered when the last review is of the current text.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import tokenize
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from tapps_lsp.review.model import Edit, Finding, Fix
from tapps_lsp.server import TappsLanguageServer

if TYPE_CHECKING:
    from tapps_lsp.config import Settings
    from tapps_lsp.documents import DocState

log = logging.getLogger(__name__)

FIX_ALL = "source.fixAll.tapps"

# ruff's directive: a blanket noqa, or noqa, a colon and codes (F401, E501).
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.I)
# bandit's directive: a blanket nosec, or nosec and test ids (B602, B607).
NOSEC = re.compile(r"#\s*nosec:?(?P<codes>[ \t]*[A-Z][0-9]+(?:[ \t]*,[ \t]*[A-Z][0-9]+)*)?")


def directive_line(text: str, lines: list[str], line: int) -> int:
    """The physical line where a suppression comment for `line` must go.

    Inside a multi-line string or a backslash-continued statement a comment
    cannot follow the line itself; ruff and bandit read it at the end of the
    construct, so it goes there.
    """
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            start, end = tok.start[0] - 1, tok.end[0] - 1
            if start > line:
                break
            if start <= line < end and tok.type == tokenize.STRING:
                line = end
    except (tokenize.TokenError, SyntaxError):
        pass
    while line + 1 < len(lines) and lines[line].rstrip().endswith("\\"):
        line += 1
    return line


def suppression(line_text: str, line: int, finding: Finding) -> Edit | None:
    """The edit that adds `finding`'s code to the line's noqa/nosec comment.

    An existing directive gets the code appended (other comments stay as they
    are); a blanket directive already covers it, so there is nothing to do.
    """
    pattern, keyword, sep = (
        (NOSEC, "nosec", ", ") if finding.source == "bandit" else (NOQA, "noqa:", ", ")
    )
    match = pattern.search(line_text)
    if match:
        codes = match.group("codes")
        if not codes or finding.code in re.split(r"[\s,]+", codes.strip()):
            return None
        at = match.end("codes")
        return Edit(line, at, line, at, f"{sep}{finding.code}")
    end = len(line_text.rstrip())
    return Edit(line, end, line, len(line_text), f"  # {keyword} {finding.code}")


async def fix_all_text(text: str, settings: Settings, filename: str) -> str | None:
    """The text with every safe ruff fix applied (ruff iterates to a fixed point)."""
    # Imported on first use: the analyzers are not needed to answer `initialize`.
    from tapps_lsp.review.analyzers import ToolError, ruff

    try:
        return await asyncio.to_thread(ruff.fix_all, text, settings, filename)
    except ToolError as exc:
        log.warning("ruff cannot run for fix-all: %s", exc)
        return None


def _intersects(finding: Finding, rng: types.Range) -> bool:
    return finding.line <= rng.end.line and max(finding.end_line, finding.line) >= rng.start.line


def _wants(only: list[str] | None, kind: str) -> bool:
    return only is None or any(kind == k or kind.startswith(k + ".") for k in only)


class _Builder:
    def __init__(self, ls: TappsLanguageServer, state: DocState, version: int):
        self.ls = ls
        self.state = state
        self.version = version
        workspace = ls.client_capabilities.workspace
        edit_caps = workspace.workspace_edit if workspace else None
        self.document_changes = bool(edit_caps and edit_caps.document_changes)

    def edit(self, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
        if self.document_changes:
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(
                            uri=self.state.uri, version=self.version
                        ),
                        edits=list(edits),
                    )
                ]
            )
        return types.WorkspaceEdit(changes={self.state.uri: list(edits)})

    def convert(self, edits: list[Edit]) -> list[types.TextEdit]:
        from tapps_lsp.convert import text_edits  # imported after `initialize` is answered

        return text_edits(edits, self.state.lines, self.ls.encoding)


async def code_actions(
    ls: TappsLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction]:
    """Quick fixes and suppressions for the findings in the range, and fix-all."""
    build = await _builder(ls, params.text_document.uri)
    if build is None:
        return []
    only = [str(k) for k in params.context.only] if params.context.only else None
    actions: list[types.CodeAction] = []
    if _wants(only, types.CodeActionKind.QuickFix):
        actions += _quick_fixes(build, params.range)
    if _wants(only, FIX_ALL):
        fix_all = await _fix_all(build)
        if fix_all is not None:
            actions.append(fix_all)
    return actions


async def _builder(ls: TappsLanguageServer, uri: str) -> _Builder | None:
    """The builder for a document whose last review is of its current text, else None."""
    state = await ls.documents.current(uri)
    doc = ls.workspace.text_documents.get(uri)
    if state is None or doc is None or state.review is None or state.settings is None:
        return None
    if state.version != doc.version and not ls.documents.review_from_cache(uri):
        return None
    version = doc.version
    assert version is not None and state.review is not None and state.settings is not None
    return _Builder(ls, state, version)


def _quick_fixes(build: _Builder, rng: types.Range) -> list[types.CodeAction]:
    """Each finding's fix and suppression, for the findings the range touches."""
    state = build.state
    assert state.review is not None
    actions: list[types.CodeAction] = []
    for index, finding in enumerate(state.review.findings):
        if not _intersects(finding, rng) or finding.source == "tapps":
            continue
        diag = [state.diagnostics[index]]
        if finding.fix is not None and finding.fix.edits:
            actions.append(_fix_action(build, finding, finding.fix, diag))
        if finding.source in ("ruff", "bandit"):
            suppress = _suppress_action(build, finding, diag)
            if suppress is not None:
                actions.append(suppress)
    return actions


def _fix_action(
    build: _Builder, finding: Finding, fix: Fix, diag: list[types.Diagnostic]
) -> types.CodeAction:
    """The quick fix of a finding with a tool's fix."""
    title = fix.message or f"Fix {finding.code}"
    return types.CodeAction(
        title=f"{title} ({finding.code})" + ("" if fix.safe else " (unsafe)"),
        kind=types.CodeActionKind.QuickFix,
        diagnostics=diag,
        is_preferred=fix.safe,
        edit=build.edit(build.convert(list(fix.edits))),
    )


def _suppress_action(
    build: _Builder, finding: Finding, diag: list[types.Diagnostic]
) -> types.CodeAction | None:
    """The `# noqa` / `# nosec` quick fix; None when a directive already covers it."""
    state = build.state
    line = directive_line(state.text, state.lines, finding.line)
    sup = suppression(state.lines[line], line, finding)
    if sup is None:
        return None
    word = "nosec" if finding.source == "bandit" else "noqa"
    return types.CodeAction(
        title=f"Suppress {finding.code} on this line (# {word})",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=diag,
        edit=build.edit(build.convert([sup])),
    )


async def _fix_all(build: _Builder) -> types.CodeAction | None:
    """`source.fixAll.tapps` when a safe ruff fix exists and ruff's text still applies."""
    ls, state = build.ls, build.state
    assert state.review is not None and state.settings is not None
    if not any(
        f.source == "ruff" and f.fix is not None and f.fix.safe for f in state.review.findings
    ):
        return None
    result_id, text = state.result_id or "", state.text
    if state.fix_all is None or state.fix_all[0] != result_id:
        fixed = await fix_all_text(text, state.settings, Path(ls.documents.path(state.uri)).name)
        state.fix_all = (result_id, fixed)
    fixed = state.fix_all[1] if state.fix_all[0] == result_id else None
    current = ls.workspace.text_documents.get(state.uri)
    if fixed is None or fixed == text or current is None or current.version != build.version:
        return None
    from tapps_lsp.convert import whole_document

    whole = whole_document(state.lines, ls.encoding)
    return types.CodeAction(
        title="Fix all auto-fixable problems (tapps)",
        kind=FIX_ALL,
        edit=build.edit([types.TextEdit(range=whole, new_text=fixed)]),
    )


def register(server: TappsLanguageServer) -> None:
    """Wire textDocument/codeAction with its two kinds."""
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False
        ),
    )(code_actions)
