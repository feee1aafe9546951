"""The server end to end, under VS Code and Neovim capabilities, pushing and pulling."""

from __future__ import annotations

import os

import pytest
from e2e_support import Session, apply_edits, encoding_of, text_edits
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


def by_code(diagnostics: list[types.Diagnostic], code: str) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.code == code]


async def test_pull_only_with_refresh_and_the_negotiated_encoding(session: Session) -> None:
    caps = session.capabilities
    assert caps is not None
    # Neovim 0.11 offers pull without refresh: it must get push (see server.on_initialize).
    assert (caps.diagnostic_provider is not None) == session.pull
    if session.pull:
        assert isinstance(caps.diagnostic_provider, types.DiagnosticOptions)
        assert caps.diagnostic_provider.identifier == "tapps"
    assert caps.position_encoding == ("utf-8" if session.utf8 else "utf-16")


async def test_expected_codes_on_the_sample_project(session: Session) -> None:
    ws = session.workspace / "inventory"
    cli = await session.open((ws / "cli.py").as_uri())
    assert {"F401", "F821"} <= set(codes(cli))
    (undefined,) = by_code(cli, "F821")
    assert undefined.severity == types.DiagnosticSeverity.Error and undefined.source == "ruff"
    for unused in by_code(cli, "F401"):
        assert list(unused.tags or []) == [types.DiagnosticTag.Unnecessary]
        assert unused.code_description is not None
        assert "docs.astral.sh/ruff/rules" in unused.code_description.href

    storage = await session.open((ws / "storage.py").as_uri())
    assert {"B105", "B404", "B602"} <= set(codes(storage))
    (shell,) = by_code(storage, "B602")
    assert shell.source == "bandit" and shell.code_description is not None
    assert "bandit.readthedocs.io" in shell.code_description.href

    reports = await session.open((ws / "reports.py").as_uri())
    (cc,) = by_code(reports, "TAPPS-CC")
    assert cc.source == "tapps" and "Cyclomatic complexity" in cc.message

    pricing = await session.open((ws / "pricing.py").as_uri())
    assert "TAPPS-GATE" not in codes(pricing)


async def test_reviews_are_logged_to_the_client(session: Session) -> None:
    uri = session.write("logged.py", f"VARIANT = {session.variant!r}\n")
    await session.open(uri)
    logged = [m.message for m in session.client.log_messages]
    assert any(m.startswith("reviewed ") and "logged.py" in m for m in logged)


async def test_dynamic_registration_is_answered_without_a_warning(session: Session) -> None:
    if not session.variant.startswith("vscode"):
        pytest.skip("Neovim's capabilities offer no dynamic registration of file watchers")
    rec = session.recorder
    await rec.wait_for(lambda: bool(rec.registrations), timeout=10)
    assert [r.method for r in rec.registrations] == [types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
    # Two round trips: whatever the server did with the answer has reached us by then.
    await session.command("tapps.cacheStats")
    await session.command("tapps.cacheStats")
    warnings = [m.message for m in session.client.log_messages if m.type <= 2]
    assert warnings == []


async def test_second_pull_is_unchanged(session: Session) -> None:
    if not session.pull:
        pytest.skip("pull clients only")
    uri = session.write("pull_me.py", "import os\n")
    await session.open(uri)
    result_id = session.result_ids[uri]
    assert result_id
    report = await session.client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=result_id
        )
    )
    assert isinstance(report, types.RelatedUnchangedDocumentDiagnosticReport)
    assert report.result_id == result_id


async def test_a_cached_save_runs_no_tool(session: Session) -> None:
    uri = session.write("cached.py", f"import sys\nVARIANT = {session.variant!r}\n")
    first = await session.open(uri)
    before = await session.command("tapps.cacheStats")
    again = await session.save(uri)
    after = await session.command("tapps.cacheStats")
    assert codes(again) == codes(first) == ["F401"]
    assert after["misses"] == before["misses"]
    assert after["hits"] == before["hits"] + 1


async def test_a_new_text_is_looked_up_once(session: Session) -> None:
    """A miss costs one cache lookup: the worker's review does not ask the cache again."""
    # A first review builds the reviewer, so the next one takes the synchronous lookup.
    await session.open(session.write("warm.py", f"WARM = {session.variant!r}\n"))
    before = await session.command("tapps.cacheStats")
    uri = session.write("fresh.py", f"import os\nFRESH = {session.variant!r}\n")
    assert codes(await session.open(uri)) == ["F401"]
    after = await session.command("tapps.cacheStats")
    assert after["misses"] == before["misses"] + 1


async def test_quick_fix_really_fixes_the_finding(session: Session) -> None:
    text = "import os\nimport sys\n\nprint(sys.argv)\n"
    uri = session.write("quickfix.py", text)
    (unused,) = by_code(await session.open(uri), "F401")
    actions = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=unused.range,
            context=types.CodeActionContext(diagnostics=[unused]),
        )
    )
    assert actions is not None
    fixes = [
        a
        for a in actions
        if isinstance(a, types.CodeAction) and a.kind == "quickfix" and a.is_preferred
    ]
    assert len(fixes) == 1 and fixes[0].edit is not None
    edits = text_edits(fixes[0].edit, uri, session.versions[uri])
    fixed = apply_edits(text, edits, encoding_of(session.utf8))
    assert fixed == "import sys\n\nprint(sys.argv)\n"
    assert codes(await session.save(uri, fixed)) == []


async def test_fix_all(session: Session) -> None:
    text = "import os\nimport json\nimport sys\nx = 1 \nprint(sys.argv, x)\n"
    uri = session.write("fixall.py", text)
    assert codes(await session.open(uri)) == ["F401", "F401", "W291"]
    actions = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.tapps"]),
        )
    )
    assert actions is not None
    (fix_all,) = actions
    assert isinstance(fix_all, types.CodeAction) and fix_all.edit is not None
    fixed = apply_edits(
        text, text_edits(fix_all.edit, uri, session.versions[uri]), encoding_of(session.utf8)
    )
    assert fixed == "import sys\nx = 1\nprint(sys.argv, x)\n"
    assert codes(await session.save(uri, fixed)) == []


async def _suppress(session: Session, uri: str, text: str, code: str) -> str:
    diagnostics = await session.open(uri, text) if uri not in session.versions else None
    if diagnostics is None:
        diagnostics = await session.save(uri, text)
    (target,) = by_code(diagnostics, code)
    actions = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=target.range,
            context=types.CodeActionContext(diagnostics=[target]),
        )
    )
    assert actions is not None
    (action,) = [a for a in actions if isinstance(a, types.CodeAction) and "Suppress" in a.title]
    assert action.edit is not None
    edits = text_edits(action.edit, uri, session.versions[uri])
    return apply_edits(text, edits, encoding_of(session.utf8))


async def test_suppressions_keep_other_comments(session: Session) -> None:
    uri = session.write("suppress.py", "")
    text = (
        "import os  # noqa: E401  # keep\n"
        "import subprocess  # noqa: S404\n"
        "\n\n"
        "def run(cmd):\n"
        "    return subprocess.run(cmd, shell=True)  # why\n"
    )
    fixed = await _suppress(session, uri, text, "F401")
    assert fixed.splitlines()[0] == "import os  # noqa: E401, F401  # keep"
    fixed = await _suppress(session, uri, fixed, "B602")
    assert (
        fixed.splitlines()[5] == "    return subprocess.run(cmd, shell=True)  # why  # nosec B602"
    )
    remaining = codes(await session.save(uri, fixed))
    assert "F401" not in remaining and "B602" not in remaining


async def test_hover_shows_scores_and_rule_explanations(session: Session) -> None:
    uri = (session.workspace / "inventory" / "cli.py").as_uri()
    diagnostics = await session.open(uri)
    top = await session.client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri=uri), types.Position(0, 0))
    )
    assert top is not None and isinstance(top.contents, types.MarkupContent)
    assert top.contents.kind == types.MarkupKind.Markdown
    assert "| category | score | weight |" in top.contents.value
    assert "| security |" in top.contents.value
    (undefined,) = by_code(diagnostics, "F821")
    rule = await session.client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri=uri), undefined.range.start)
    )
    assert rule is not None and isinstance(rule.contents, types.MarkupContent)
    assert "**F821** (ruff)" in rule.contents.value
    assert "**What it does:**" in rule.contents.value
    # The sample project uses bandit: its checks are explained by ruff's twin rule.
    uri = (session.workspace / "inventory" / "storage.py").as_uri()
    (shell,) = by_code(await session.open(uri), "B602")
    rule = await session.client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri=uri), shell.range.start)
    )
    assert rule is not None and isinstance(rule.contents, types.MarkupContent)
    assert "**B602** (bandit)" in rule.contents.value
    assert "The same check as ruff's `S602`." in rule.contents.value
    assert "**What it does:**" in rule.contents.value


async def test_code_lens(session: Session) -> None:
    uri = (session.workspace / "inventory" / "reports.py").as_uri()
    (cc,) = by_code(await session.open(uri), "TAPPS-CC")
    lenses = await session.client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri=uri))
    )
    assert lenses is not None
    titles = {(lens.range.start.line, lens.command.title) for lens in lenses if lens.command}
    (top,) = [title for line, title in titles if line == 0]
    assert top.startswith("Quality ") and (" · pass" in top or " · fail" in top)
    # The sample project has no coverage data: the lens says what is not measured.
    assert top.endswith(" · not measured: test coverage"), top
    complexity = [title for line, title in titles if line == cc.range.start.line]
    assert len(complexity) == 1 and complexity[0].startswith("Complexity ")
    assert complexity[0].split()[1] in cc.message


async def test_exact_ranges_after_emoji(session: Session) -> None:
    # `os` follows two emoji: 2 UTF-16 units or 4 UTF-8 bytes each.
    text = 'x = "😀😀"; import os\n'
    uri = session.write("emoji.py", text)
    (unused,) = by_code(await session.open(uri), "F401")
    before = 'x = "😀😀"; import '
    units = len(before.encode("utf-8")) if session.utf8 else len(before.encode("utf-16-le")) // 2
    assert unused.range.start == types.Position(0, units)
    assert unused.range.end == types.Position(0, units + 2)


async def test_review_file_command(session: Session) -> None:
    uri = (session.workspace / "inventory" / "storage.py").as_uri()
    review = await session.command("tapps.reviewFile", uri)
    assert review["path"].endswith("storage.py")
    assert {"B105", "B602"} <= {f["code"] for f in review["findings"]}
    assert 0 <= review["overall"] <= 100


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/hostname",
        "WS/../../../../etc/hostname",
        "WS/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/hostname",
        "file://server/share/x.py",
        "WS/escape.py",
    ],
)
async def test_files_outside_the_workspace_are_never_read(session: Session, uri: str) -> None:
    link = session.workspace / "escape.py"
    if not link.is_symlink():
        link.symlink_to("/etc/hostname")
    uri = uri.replace("WS", session.workspace.as_uri())
    with pytest.raises(Exception, match="neither open nor inside a workspace folder"):
        await session.command("tapps.reviewFile", uri)


async def test_review_file_refuses_what_is_not_a_regular_file(session: Session) -> None:
    fifo = session.workspace / "pipe.py"
    if not fifo.exists():
        os.mkfifo(fifo)
    with pytest.raises(Exception, match="not a regular file"):
        await session.command("tapps.reviewFile", fifo.as_uri())


async def test_close_clears_pushed_diagnostics(session: Session) -> None:
    uri = session.write("closing.py", "import os\n")
    assert codes(await session.open(uri)) == ["F401"]
    await session.close(uri)
    if not session.pull:
        assert not session.recorder.published[uri][-1].diagnostics


async def test_a_newer_save_supersedes_a_running_review(session: Session) -> None:
    uri = session.write("superseded.py", "x = 1\n")
    await session.open(uri)
    published = session.recorder.published.setdefault(uri, [])
    mark = len(published)
    # Two saves of content never seen before, the second before the first is reviewed.
    session.change(uri, f"import os\nVARIANT = {session.variant!r}\n")
    first = session.versions[uri]
    session.client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
    )
    last = await session.save(uri, f"import sys\nVARIANT = {session.variant!r}\n")
    assert "F401" in codes(last)
    assert "`sys` imported but unused" in by_code(last, "F401")[0].message
    if not session.pull:
        assert all(p.version != first for p in published[mark:])
