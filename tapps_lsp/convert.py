"""The review model -> lsprotocol types: the one place where both meet.

Findings carry 0-based lines and code-point columns; the editor counts in
the negotiated encoding (UTF-16 unless UTF-8 was agreed), so every column
goes through `positions.to_units` against the text that was reviewed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from lsprotocol import types

from tapps_lsp.config import Settings
from tapps_lsp.review import scoring
from tapps_lsp.review.messages import gate_reasons, shown_score
from tapps_lsp.review.messages import md_escape as escape
from tapps_lsp.review.messages import md_inline as inline
from tapps_lsp.review.model import Block, Edit, Finding, Review, overridden_severity
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
    """A code-point range -> an LSP range (clamped, never ending before it starts)."""
    start = position(lines, line, col, encoding)
    end = position(lines, end_line, end_col, encoding)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Range(start=start, end=end)


def severity(finding: Finding, overrides: Mapping[str, str]) -> types.DiagnosticSeverity:
    """The finding's severity with `severityOverrides` applied (`model.overridden_severity`).

    The engine has applied them to its findings already; this covers the findings
    made after it, the gate's.
    """
    name = overridden_severity(finding.code, finding.severity, overrides)
    return SEVERITY.get(name, types.DiagnosticSeverity.Information)


def diagnostic(
    finding: Finding, lines: list[str], encoding: str, overrides: Mapping[str, str] = {}
) -> types.Diagnostic:
    """One finding as an LSP diagnostic."""
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
    """Every finding of a review (the gate's included) as LSP diagnostics."""
    return [diagnostic(f, lines, encoding, overrides) for f in review.findings]


def text_edits(edits: Iterable[Edit], lines: list[str], encoding: str) -> list[types.TextEdit]:
    """Edits of the review model as LSP text edits."""
    return [
        types.TextEdit(
            range=to_range(lines, e.line, e.col, e.end_line, e.end_col, encoding), new_text=e.text
        )
        for e in edits
    ]


def whole_document(lines: list[str], encoding: str) -> types.Range:
    """The range of the whole document."""
    last = len(lines) - 1
    return types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=last, character=to_units(lines[last], len(lines[last]), encoding)),
    )


def quality_title(review: Review) -> str:
    """ "Quality 76.5/100 · pass" """
    score = shown_score(review.overall, review.threshold)
    return f"Quality {score}/100 · {'pass' if review.passed else 'fail'}"


def complexity_title(block: Block) -> str:
    """The code lens above a complex block."""
    return f"Complexity {block.complexity} (rank {block.rank})"


def code_lenses(
    review: Review, lines: list[str], encoding: str, uri: str, threshold: int
) -> list[types.CodeLens]:
    """The score on line 1 and the complexity above each block over the threshold."""
    top = types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    title = quality_title(review)
    if review.not_measured:
        title += " · not measured: " + ", ".join(_name(c) for c in review.not_measured)
    lenses = [
        types.CodeLens(
            range=top,
            command=types.Command(title=title, command="tapps.reviewFile", arguments=[uri]),
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
    """The score breakdown on line 1's hover: the gate, each category, what is not counted.

    The weights are the ones the overall score used (categories without a score
    drop out); categories weighted 0 are listed apart. The count of findings is
    the Problems list's: every diagnostic of the file, the gate's included.
    """
    weights = scoring.weights_for(review.scores, settings)
    rows = [f"**{quality_title(review)}**", ""]
    reasons = gate_reasons(review)
    if reasons:
        rows.append(f"Fails the quality gate: {', '.join(reasons)}.")
    rows += [
        f"Gate: overall ≥ {review.threshold:g} and security ≥ {review.min_security:g}"
        + (", with no error-severity lint finding" if settings.gateOnErrors else "")
        + (f"; weakest category: {_name(review.weakest)}." if review.weakest else "."),
        "",
        "| category | score | weight |",
        "|---|---:|---:|",
    ]
    unweighted = []
    for category, score in review.scores.items():
        if category in weights:
            rows.append(f"| {_name(category)} | {score:.1f}/10 | {weights[category]:.0%} |")
        else:
            unweighted.append(f"{_name(category)} {score:.1f}/10")
    rows.append("")
    if unweighted:
        rows += [f"Not counted in the score (weight 0): {', '.join(unweighted)}.", ""]
    for category, why in review.not_measured.items():
        rows += [f"Not measured: {_name(category)}: {escape(why)}.", ""]
    found = len(review.findings)
    count = f"{found} finding{'' if found == 1 else 's'}"
    gate = ", the quality gate's included" if not review.passed else ""
    rows.append(
        f"{count} in Problems{gate}" + (" · result from the cache" if review.from_cache else "")
    )
    if review.result.analyzer_errors:
        rows.append("")
        rows.extend(
            f"- {escape(tool)} did not run: {inline(msg, table=False)}"
            for tool, msg in review.result.analyzer_errors.items()
        )
    return "\n".join(rows)


def _name(category: str) -> str:
    return CATEGORY_NAMES.get(category, category)


# ruff's rule documentation: "## What it does", "## Why is this bad?", "## Example"...
_SECTION = re.compile(r"^##+\s*(.+?)\s*$", re.M)
_EXCERPT = {"what it does": "What it does", "why is this bad?": "Why"}


def rule_excerpt(explanation: str) -> str:
    """The "What it does" and "Why" of a rule's documentation, a paragraph each.

    The rest (examples, options, references) is behind the rule's link: a hover
    is read at a glance, and large headings do not belong in it.
    """
    found = list(_SECTION.finditer(explanation))
    # What comes before the first heading (hover.py's note on a bandit check's twin).
    lead = explanation[: found[0].start()].strip() if found else ""
    parts = [" ".join(lead.split())] if lead else []
    for at, match in enumerate(found):
        label = _EXCERPT.get(match.group(1).strip().lower())
        if label is None:
            continue
        end = found[at + 1].start() if at + 1 < len(found) else len(explanation)
        paragraph = explanation[match.end() : end].strip().split("\n\n")[0]
        if paragraph:
            parts.append(f"**{label}:** {' '.join(paragraph.split())}")
    if not found:
        # No sections: the first paragraph, headings dropped.
        body = _SECTION.sub("", explanation).strip().split("\n\n")[0]
        parts = [" ".join(body.split())] if body else []
    return "\n\n".join(parts)


def finding_markdown(finding: Finding, explanation: str | None) -> str:
    """A finding's hover: the message once, a short excerpt of the rule, a link to the rest.

    The message and code come from the tools and the workspace: escaped, with
    their backtick-quoted spans as code, so that no message can open a link or
    an image.
    """
    parts = [
        f"**{escape(finding.code)}** ({escape(finding.source)}): "
        f"{inline(finding.message, table=False)}"
    ]
    cwe = finding.data.get("cwe")
    if isinstance(cwe, int):
        parts.append(f"CWE-{cwe}")
    if explanation:
        excerpt = rule_excerpt(explanation)
        if excerpt:
            parts.append(excerpt)
    if finding.url and finding.url.startswith("https://"):
        parts.append(f"[The rule's full documentation]({finding.url})")
    return "\n\n".join(parts)
