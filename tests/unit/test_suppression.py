"""Suppression comments: where they go and how they merge with existing ones."""

from __future__ import annotations

from tapps_lsp.features.code_actions import directive_line, suppression
from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import split_lines


def finding(source: str, code: str, line: int = 0) -> Finding:
    return Finding(source, code, "m", "warning", "linting", line, 0, line, 1)


def apply(line_text: str, f: Finding) -> str:
    edit = suppression(line_text, 0, f)
    assert edit is not None
    return line_text[: edit.col] + edit.text + line_text[edit.end_col :]


def test_new_noqa_replaces_trailing_whitespace() -> None:
    assert apply("import os   ", finding("ruff", "F401")) == "import os  # noqa: F401"


def test_noqa_merges_into_an_existing_directive_keeping_other_comments() -> None:
    line = "import os  # noqa: E401  # keep me"
    assert apply(line, finding("ruff", "F401")) == "import os  # noqa: E401, F401  # keep me"


def test_noqa_after_another_comment() -> None:
    line = "import os  # type: ignore"
    assert apply(line, finding("ruff", "F401")) == "import os  # type: ignore  # noqa: F401"


def test_blanket_or_present_codes_need_nothing() -> None:
    assert suppression("import os  # noqa", 0, finding("ruff", "F401")) is None
    assert suppression("import os  # noqa: F401", 0, finding("ruff", "F401")) is None
    assert suppression("x()  # nosec", 0, finding("bandit", "B602")) is None


def test_nosec_new_and_merged() -> None:
    assert apply("run(cmd, shell=True)", finding("bandit", "B602")) == (
        "run(cmd, shell=True)  # nosec B602"
    )
    assert apply("run(cmd)  # nosec B603  # why", finding("bandit", "B602")) == (
        "run(cmd)  # nosec B603, B602  # why"
    )
    assert apply("run(cmd)  # noqa: S602", finding("bandit", "B602")) == (
        "run(cmd)  # noqa: S602  # nosec B602"
    )


def test_directive_goes_after_a_multiline_string_and_continuations() -> None:
    text = 'x = f(\n    """a\nb""", y)\nz = 1 + \\\n    2\n'
    lines = split_lines(text)
    assert directive_line(text, lines, 1) == 2
    assert directive_line(text, lines, 3) == 4
    assert directive_line(text, lines, 0) == 0
