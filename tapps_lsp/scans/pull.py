"""`workspace/diagnostic`: the reports of every reviewed file that is not open.

The request is held open until there is something new. With a
partialResultToken, what is new is streamed as partial results (during a
scan, until it ends) and the final response is empty.
"""

from __future__ import annotations

from lsprotocol import types

from tapps_lsp.server import TappsLanguageServer

# Items per partial result of workspace/diagnostic.
PARTIAL_ITEMS = 200

Report = types.WorkspaceDocumentDiagnosticReport


def reports(ls: TappsLanguageServer, known: dict[str, str], *, changed_only: bool) -> list[Report]:
    """Reports of the files whose result id differs from `known` (all: unchanged ones too)."""
    out: list[Report] = []
    for uri, entry in ls.scans.entries.items():
        if uri in ls.workspace.text_documents:
            continue  # open documents are pulled one by one
        if known.get(uri) != entry.result_id:
            out.append(
                types.WorkspaceFullDocumentDiagnosticReport(
                    uri=uri, items=entry.diagnostics, version=None, result_id=entry.result_id
                )
            )
        elif not changed_only:
            out.append(
                types.WorkspaceUnchangedDocumentDiagnosticReport(
                    uri=uri, result_id=entry.result_id, version=None
                )
            )
    return out


def stream(
    ls: TappsLanguageServer, token: int | str, changed: list[Report], known: dict[str, str]
) -> None:
    """Send `changed` as partial results on `token`, PARTIAL_ITEMS at a time; the client
    knows them from now on."""
    known.update((report.uri, report.result_id or "") for report in changed)
    for start in range(0, len(changed), PARTIAL_ITEMS):
        ls.progress(
            types.ProgressParams(
                token=token,
                value=types.WorkspaceDiagnosticReportPartialResult(
                    items=changed[start : start + PARTIAL_ITEMS]
                ),
            )
        )


async def workspace_diagnostic(
    ls: TappsLanguageServer, params: types.WorkspaceDiagnosticParams
) -> types.WorkspaceDiagnosticReport:
    """Reports for every reviewed file; held open until there is something new."""
    known = {p.uri: p.value for p in params.previous_result_ids}
    token = params.partial_result_token
    streamed = False
    while True:
        wake = ls.scans.changed
        changed = reports(ls, known, changed_only=True)
        if changed and token is None:
            return types.WorkspaceDiagnosticReport(items=reports(ls, known, changed_only=False))
        if changed and token is not None:
            stream(ls, token, changed, known)
            streamed = True
        if streamed and not ls.scans.scanning:
            return types.WorkspaceDiagnosticReport(items=[])
        await wake.wait()
