"""Readers of the coverage report formats: Cobertura `coverage.xml` and `lcov.info`.

Both are untrusted input (see coverage.py, which reads the bytes through
`safe_io` and picks the file): XML is parsed by expat as a stream (memory
bounded by the input), and a document that declares entities (a "billion
laughs") or refers to external ones is refused.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from tapps_lsp.safe_io import brief

__all__ = ["CoverageError", "cobertura_rates", "data_key", "lcov_rates"]

_CHUNK = 1 << 20  # bytes fed to expat at a time


class CoverageError(ValueError):
    """A coverage data file we could not use; `str()` says why, for a user."""


# ---- paths ------------------------------------------------------------------------------------


def data_key(root: Path, name: str) -> str:
    """The root-relative POSIX path a data file's path means, else the path itself."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute():
        for base in (root, Path(os.path.realpath(root))):
            try:
                return PurePosixPath(os.path.normpath(pure)).relative_to(base.as_posix()).as_posix()
            except ValueError:
                continue
        return pure.as_posix()
    return PurePosixPath(os.path.normpath(pure)).as_posix()


# ---- Cobertura ----------------------------------------------------------------------------------


def cobertura_rates(data: bytes, root: Path) -> dict[str, float]:
    """Line rate per file of a Cobertura report: hit lines / lines, as coverage.py counts.

    Files are named relative to one of the report's `<source>` folders; each
    reading is kept. A class without lines takes its `line-rate` attribute.
    """
    sources, counts, rates = _parse_cobertura(data)
    out: dict[str, float] = {}
    for filename, (covered, total) in counts.items():
        rate = covered / total if total else rates.get(filename, 0.0)
        for source in ["", *sources]:
            full = f"{source.rstrip('/')}/{filename}" if source else filename
            out.setdefault(data_key(root, full), rate)
    return out


class _Cobertura:
    """What a streaming parse of a Cobertura report collects, element by element."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.sources: list[str] = []
        self.text: list[str] = []
        self.counts: dict[str, list[int]] = {}  # [covered, total] per filename
        self.rates: dict[str, float] = {}  # line-rate per filename
        self.current: str | None = None  # the filename of the class being read
        self.root_name: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element opens: a class, a line of a class, or a source folder."""
        stack = self.stack
        if not stack and self.root_name is None:
            self.root_name = name
        parent = stack[-1] if stack else ""
        grandparent = stack[-2] if len(stack) > 1 else ""
        stack.append(name)
        if name == "class":
            self.current = filename = attrs.get("filename") or None
            if filename is not None:
                self.counts.setdefault(filename, [0, 0])
                self.rates.setdefault(filename, _number(attrs.get("line-rate"), 0.0))
        elif name == "line" and parent == "lines" and grandparent == "class" and self.current:
            seen = self.counts[self.current]
            seen[1] += 1
            if _number(attrs.get("hits"), 0.0) > 0:
                seen[0] += 1
        elif name == "source":
            self.text.clear()

    def end(self, name: str) -> None:
        """An element closes: a source folder's text is complete."""
        self.stack.pop()
        if name == "source":
            value = "".join(self.text).strip()
            if value:
                self.sources.append(value)
        elif name == "class":
            self.current = None

    def characters(self, chunk: str) -> None:
        """Text: kept inside a `<source>` only, at most 4096 chunks."""
        if self.stack and self.stack[-1] == "source" and len(self.text) < 4096:
            self.text.append(chunk)


def _refuse(*_args: object) -> None:
    raise CoverageError("declares XML entities; not read")


def _parse_cobertura(
    data: bytes,
) -> tuple[list[str], dict[str, list[int]], dict[str, float]]:
    """(sources, [covered, total] per filename, line-rate per filename) by streaming expat."""
    found = _Cobertura()
    parser = expat.ParserCreate()
    parser.StartElementHandler = found.start
    parser.EndElementHandler = found.end
    parser.CharacterDataHandler = found.characters
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse  # type: ignore[assignment]
    try:
        for offset in range(0, max(len(data), 1), _CHUNK):
            parser.Parse(data[offset : offset + _CHUNK], offset + _CHUNK >= len(data))
    except expat.ExpatError as exc:
        raise CoverageError(f"not valid XML ({expat.ErrorString(exc.code)})") from None
    if found.root_name != "coverage":
        shown = brief(found.root_name or "", 40)
        raise CoverageError(f"not a Cobertura report (root element {shown})")
    return found.sources, found.counts, found.rates


def _number(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


# ---- lcov ---------------------------------------------------------------------------------------


def lcov_rates(text: str, root: Path) -> dict[str, float]:
    """Line rate per `SF:` record of an lcov tracefile: `DA` lines hit / `DA` lines.

    A record without `DA` lines takes `LH` / `LF`.
    """
    out: dict[str, float] = {}
    name: str | None = None
    covered = total = 0
    found = hit = 0
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("SF:"):
            name, covered, total, found, hit = line[3:], 0, 0, 0, 0
        elif name is None:
            continue
        elif line.startswith("DA:"):
            fields = line[3:].split(",")
            total += 1
            if len(fields) > 1 and _number(fields[1], 0.0) > 0:
                covered += 1
        elif line.startswith("LF:"):
            found = int(_number(line[3:], 0.0))
        elif line.startswith("LH:"):
            hit = int(_number(line[3:], 0.0))
        elif line == "end_of_record":
            rate = covered / total if total else (hit / found if found else 0.0)
            out.setdefault(data_key(root, name), min(1.0, max(0.0, rate)))
            name = None
    if not out and "SF:" not in text:
        raise CoverageError("not an lcov tracefile (no SF: record)")
    return out
