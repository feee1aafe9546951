"""The review model -> lsprotocol types: the one place where both meet.

Findings carry 0-based lines and code-point columns; the editor counts in
the negotiated encoding (UTF-16 unless UTF-8 was agreed), so every column
goes through `positions.to_units` against the text that was reviewed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lsprotocol import types

from tapps_lsp.config import Settings
from tapps_lsp.review.model import Block, Edit, Finding, Review
from tapps_lsp.review.positions import to_units

SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
TAGS = {
    "unnecessary": types.DiagnosticTag.Unnecessary,
    "deprecated": types.DiagnosticTag.Deprecated,
}


def position(lines: list[str], line: int, col: int, encoding: str) -> types.Position:
    """A code-point position -> an LSP position (clamped into the document)."""
    if line >= len(lines):
        last = len(lines) - 1
        return types.Position(
            line=last, character=to_units(lines[last], len(lines[last]), encoding)
        )
    line = max(line, 0)
    return types.Position(line=line, character=to_units(lines[line], col, encoding))


def to_range(
    lines: list[str], line: int, col: int, end_line: int, end_col: int, encoding: str
) -> types.Range:
    start = position(lines, line, col, encoding)
    end = position(lines, end_line, end_col, encoding)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Range(start=start, end=end)


def severity(finding: Finding, overrides: Mapping[str, str]) -> types.DiagnosticSeverity:
    """The finding's severity, or the override with the longest prefix of its code."""
    best = ""
    for prefix in overrides:
        if finding.code.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    name = overrides[best] if best else finding.severity
    return SEVERITY.get(name, types.DiagnosticSeverity.Information)


def diagnostic(
    finding: Finding, lines: list[str], encoding: str, overrides: Mapping[str, str] = {}
) -> types.Diagnostic:
    tags = [TAGS[t] for t in finding.tags if t in TAGS]
    return types.Diagnostic(
        range=to_range(
            lines, finding.line, finding.col, finding.end_line, finding.end_col, encoding
        ),
        message=finding.message,
        severity=severity(finding, overrides),
        code=finding.code,
        code_description=types.CodeDescription(href=finding.url) if finding.url else None,
        source=finding.source,
        tags=tags or None,
    )


def diagnostics(
    review: Review, lines: list[str], encoding: str, overrides: Mapping[str, str] = {}
) -> list[types.Diagnostic]:
    return [diagnostic(f, lines, encoding, overrides) for f in review.findings]


def text_edits(edits: Iterable[Edit], lines: list[str], encoding: str) -> list[types.TextEdit]:
    return [
        types.TextEdit(
            range=to_range(lines, e.line, e.col, e.end_line, e.end_col, encoding), new_text=e.text
        )
        for e in edits
    ]


def whole_document(lines: list[str], encoding: str) -> types.Range:
    last = len(lines) - 1
    return types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=last, character=to_units(lines[last], len(lines[last]), encoding)),
    )


def quality_title(review: Review) -> str:
    """ "Quality 76.5/100 · pass" """
    return f"Quality {review.overall:.1f}/100 · {'pass' if review.passed else 'fail'}"


def complexity_title(block: Block) -> str:
    return f"Complexity {block.complexity} (rank {block.rank})"


def code_lenses(
    review: Review, lines: list[str], encoding: str, uri: str, threshold: int
) -> list[types.CodeLens]:
    """The score on line 1 and the complexity above each block over the threshold."""
    top = types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    lenses = [
        types.CodeLens(
            range=top,
            command=types.Command(
                title=quality_title(review), command="tapps.reviewFile", arguments=[uri]
            ),
        )
    ]
    for block in review.result.metrics.blocks:
        if block.complexity > threshold:
            at = position(lines, block.line, block.col, encoding)
            lenses.append(
                types.CodeLens(
                    range=types.Range(start=at, end=at),
                    command=types.Command(title=complexity_title(block), command=""),
                )
            )
    return lenses


CATEGORY_NAMES = {
    "test_coverage": "test coverage",
    "type_checking": "type checking",
    "devex": "developer experience",
}


def score_table(review: Review, settings: Settings) -> str:
    """The score breakdown as a markdown table (hover on line 1)."""
    weights = settings.normalised_weights()
    verdict = "pass" if review.passed else "fail"
    rows = [
        f"**{quality_title(review)}** (gate: overall ≥ {review.threshold:g}, "
        f"security ≥ {review.min_security:g}; weakest: {review.weakest})",
        "",
        "| category | score | weight |",
        "|---|---:|---:|",
    ]
    for category, score in review.scores.items():
        name = CATEGORY_NAMES.get(category, category)
        rows.append(f"| {name} | {score:.1f}/10 | {weights.get(category, 0.0):.0%} |")
    rows.append("")
    rows.append(
        f"{len(review.result.findings)} findings · {verdict}"
        + (" · from cache" if review.from_cache else "")
    )
    if review.result.analyzer_errors:
        rows.append("")
        rows.extend(
            f"- {tool} did not run: {msg}" for tool, msg in review.result.analyzer_errors.items()
        )
    return "\n".join(rows)


def finding_markdown(finding: Finding, explanation: str | None) -> str:
    """A finding's hover: code, source, message, link, and the rule's explanation."""
    head = f"**{finding.code}** ({finding.source}): {finding.message}"
    parts = [head]
    cwe = finding.data.get("cwe")
    if cwe:
        parts.append(f"CWE-{cwe}")
    if finding.url:
        parts.append(f"[Rule documentation]({finding.url})")
    if explanation:
        parts.append(explanation.strip())
    return "\n\n".join(parts)
