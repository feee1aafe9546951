"""Words shown to people about a review: scores against their limits, the gate, skips.

One place for each text, so that the CLI, the reports, the hover and the
diagnostics say the same thing the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Protocol


# What the wording reads of model.Finding and model.Review, as protocols: model.py builds
# its gate finding with gate_message, so this module must not import model.py.
class FindingFacts(Protocol):
    """A finding as the gate's wording reads it (model.Finding)."""

    @property
    def code(self) -> str:
        """The finding's code, e.g. F821."""
        ...

    @property
    def line(self) -> int:
        """Its 0-based line."""
        ...

    @property
    def message(self) -> str:
        """Its message."""
        ...


class ReviewFacts(Protocol):
    """A review as the gate's wording reads it (model.Review)."""

    @property
    def overall(self) -> float:
        """The overall score, 0-100."""
        ...

    @property
    def threshold(self) -> float:
        """The gate's threshold on the overall score."""
        ...

    @property
    def min_security(self) -> float:
        """The gate's minimum security score."""
        ...

    @property
    def scores(self) -> Mapping[str, float]:
        """Category -> score, 0-10."""
        ...

    @property
    def weakest(self) -> str:
        """The weakest weighted category."""
        ...

    @property
    def gate_errors(self) -> Sequence[FindingFacts]:
        """Error-severity findings that fail the gate (gateOnErrors)."""
        ...


SKIP_PREFIX = "File skipped: "

# C0 and C1 control characters (ESC, BEL, CSI...) and DEL, which a terminal acts on,
# tabs aside; and the C1 bytes of a name that is not UTF-8 (kept as surrogates by
# surrogateescape), which a terminal in an 8-bit mode would act on too.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\udc80-\udc9f]")


def shown_score(value: float, limit: float) -> str:
    """`value` to one decimal, never rounded up to `limit` when it is below it.

    69.96 against a threshold of 70 shows as "69.9", not "70.0" (which would
    read as passing); every other value is rounded as usual (67.59: "67.6").
    """
    shown = f"{value:.1f}"
    if value < limit and float(shown) >= limit:
        return f"{math.floor(value * 10) / 10:.1f}"
    return shown


def gate_reasons(review: ReviewFacts) -> list[str]:
    """Why a review fails the gate: "F821 on line 3: ...", "53.8/100 < 70", "security 7.0 < 8.5"."""
    reasons = [error_reason(review.gate_errors)] if review.gate_errors else []
    if review.overall < review.threshold:
        reasons.append(
            f"{shown_score(review.overall, review.threshold)}/100 < {review.threshold:g}"
        )
    security = review.scores.get("security", 10.0)
    if security < review.min_security:
        reasons.append(
            f"security {shown_score(security, review.min_security)} < {review.min_security:g}"
        )
    return reasons


def error_reason(errors: Sequence[FindingFacts]) -> str:
    """The first gate error, and how many more: "F821 on line 3: Undefined name `x` (+1 error)"."""
    first = errors[0]
    more = len(errors) - 1
    extra = f" (+{more} error{'s' if more > 1 else ''})" if more else ""
    return f"{first.code} on line {first.line + 1}: {first.message}{extra}"


def gate_message(review: ReviewFacts) -> str:
    """The gate diagnostic, short enough for a Problems row.

    "Quality gate failed: 53.8/100 < 70 (weakest: maintainability 4.9)"; the
    hover on line 1 gives the details (every category, its weight, the limits).
    """
    reasons = gate_reasons(review)
    error = reasons.pop(0) + "; " if review.gate_errors else ""  # the error first
    reasons = reasons or [f"{review.overall:.1f}/100"]
    weakest = ""
    if review.weakest:
        weakest = f" (weakest: {review.weakest} {review.scores.get(review.weakest, 0.0):.1f})"
    return f"Quality gate failed: {error}{', '.join(reasons)}{weakest}"


def skip_text(reason: str) -> str:
    """A skip reason without its "File skipped: " prefix: "not valid UTF-8 (line 3, ...)"."""
    return reason.removeprefix(SKIP_PREFIX)


def terminal_safe(text: str) -> str:
    """`text` with control characters shown as escapes (\\x1b), harmless on a terminal.

    File names and tool messages come from the workspace: an ESC or OSC
    sequence in one must be seen, not obeyed. Tabs are kept; newlines are not
    (one record per line).
    """
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00 if code >= 0xDC00 else code:02x}"


# A run of text between two backticks: ruff writes names and code so, e.g. "`os` imported".
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def code_spans(text: str) -> list[tuple[bool, str]]:
    """`text` cut into (is_code, part) pieces at its backtick-quoted spans.

    Reports render the code parts as code (escaped like the rest); an unpaired
    backtick stays plain text.
    """
    parts: list[tuple[bool, str]] = []
    at = 0
    for match in _CODE_SPAN.finditer(text):
        if match.start() > at:
            parts.append((False, text[at : match.start()]))
        parts.append((True, match.group(1)))
        at = match.end()
    if at < len(text):
        parts.append((False, text[at:]))
    return parts


# CommonMark lets any ASCII punctuation be backslash-escaped; these are the
# characters that can start markup inside a table cell.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!&~])")


def md_escape(text: str) -> str:
    """`text` on one line, every character that could start markup backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_inline(text: str, *, table: bool = True) -> str:
    """A tool's message as Markdown: its backtick-quoted spans as code, the rest escaped.

    Inside a code span nothing is markup (no link, image or HTML opens there).
    In a table cell a pipe is still escaped, as GitHub's tables split cells on it
    even inside code.
    """
    out = []
    for is_code, part in code_spans(" ".join(text.split())):
        if not is_code:
            out.append(_SPECIAL.sub(r"\\\1", part))
        else:
            out.append("`" + (part.replace("|", "\\|") if table else part) + "`")
    return "".join(out)
