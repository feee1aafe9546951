"""Column units: the one place where tools' positions meet the editor's.

Internally a position is (0-based line, 0-based code-point column).
- ruff reports 1-based rows and 1-based code-point columns;
- bandit (and Python's `ast`) report 0-based UTF-8 byte offsets;
- LSP counts UTF-16 code units by default, UTF-8 bytes or code points when
  negotiated through `general.positionEncodings`.

Lines are split the way LSP and ruff split them: on CRLF, CR and LF only
(not on form feeds or U+2028 as `str.splitlines` would).
"""

from __future__ import annotations

import re

_NEWLINE = re.compile(r"\r\n|\r|\n")

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"


def split_lines(text: str) -> list[str]:
    """The document's lines without their terminators (always at least one)."""
    # Without CR only LF splits, and str.split is ten times faster than the regex.
    return text.split("\n") if "\r" not in text else _NEWLINE.split(text)


def _units(ch: str, encoding: str) -> int:
    cp = ord(ch)
    if encoding == UTF16:
        return 2 if cp > 0xFFFF else 1
    if encoding == UTF8:
        if cp < 0x80:
            return 1
        if cp < 0x800:
            return 2
        if cp < 0x10000:
            return 3
        return 4
    return 1


def to_units(line_text: str, col: int, encoding: str) -> int:
    """Code-point column -> column in `encoding` units (clamped to the line)."""
    col = max(0, min(col, len(line_text)))
    if encoding == UTF32 or line_text.isascii():
        return col
    prefix = line_text[:col]
    if encoding == UTF8:
        return len(prefix.encode("utf-8", "surrogatepass"))
    return len(prefix.encode("utf-16-le", "surrogatepass")) // 2


def from_units(line_text: str, units: int, encoding: str) -> int:
    """Column in `encoding` units -> code-point column.

    A column that falls inside a character (half a surrogate pair, the middle
    of a UTF-8 sequence) maps to that character's start; past the end of the
    line it maps to the end.
    """
    if units <= 0:
        return 0
    if encoding == UTF32 or line_text.isascii():
        return min(units, len(line_text))
    seen = 0
    for i, ch in enumerate(line_text):
        width = _units(ch, encoding)
        if seen + width > units:
            return i
        seen += width
    return len(line_text)


def utf8_byte_to_codepoint(line_text: str, byte_offset: int) -> int:
    """A 0-based UTF-8 byte offset (bandit, ast) -> code-point column."""
    return from_units(line_text, byte_offset, UTF8)


def ruff_to_internal(row: int, column: int) -> tuple[int, int]:
    """ruff's 1-based row and 1-based code-point column -> 0-based (line, col)."""
    return max(row - 1, 0), max(column - 1, 0)


def negotiate(client_encodings: list[str] | None) -> str:
    """Pick the server's position encoding from the client's offer.

    UTF-8 when offered (cheapest for us and exact for every tool), else UTF-16,
    which every client must support.
    """
    offered = [str(e).lower() for e in client_encodings or []]
    if UTF8 in offered:
        return UTF8
    return UTF16
