"""Cache identity: what a file's content hashes to, and what the engine was.

A key is the xxh3_128 of the text, a fingerprint of everything else that
changes a `FileResult` (the tapps-lsp version, the analyzers' versions, the
result schema and the result-affecting settings) and the facts about the
file's name that the analyzers look at (`name_facts`). The folder and the
mtime are not part of it, so a moved or touched file is still a hit, and so
are two ordinary modules with the same text; an `__init__.py` with a.py's
text is not (ruff offers no fix for an unused import there).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import weakref

from tapps_lsp.config import Settings
from tapps_lsp.review.hashing import content_hash
from tapps_lsp.review.model import SCHEMA_VERSION
from tapps_lsp.review.versions import ANALYZERS, tool_versions

__all__ = ["content_hash", "fingerprint", "make_key", "name_facts"]

# mypy only counts when the settings enable it, so upgrading an unused mypy
# does not throw every cached result away; every other analyzer always counts.
_OPTIONAL = ("mypy",)
_ALWAYS = tuple(name for name in ANALYZERS if name not in _OPTIONAL)


def _compute_fingerprint(settings: Settings) -> str:
    versions = tool_versions()
    # A tool that is not installed counts as "absent": installing it changes the key.
    counted = ("tapps-lsp", *ANALYZERS) if settings.mypyEnabled else ("tapps-lsp", *_ALWAYS)
    used = {name: versions.get(name, "absent") for name in counted}
    # The server's Python parses the file: newer syntax is measured on 3.12, not on 3.11.
    used["python"] = f"{sys.version_info[0]}.{sys.version_info[1]}"
    blob = json.dumps(
        {"tools": used, "schema": SCHEMA_VERSION, "settings": settings.digest()},
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:32] + _name_flags(settings)


# Settings are frozen but hold lists and dicts, so they cannot be dict keys;
# remember the last few by identity, because digest() costs about 17 us and
# the cached-save path runs this on every keystroke.
_memo: dict[int, tuple[weakref.ref[Settings], tuple[str, ...], str]] = {}
_MEMO_SIZE = 64


def fingerprint(settings: Settings) -> str:
    """Identity of the engine and the result-affecting settings: 32 hex digits, then
    "-" and the name flags (`name_facts`) when the selected rules read more of a name."""
    versions = tuple(tool_versions().values())
    entry = _memo.get(id(settings))
    if entry is not None and entry[0]() is settings and entry[1] == versions:
        return entry[2]
    value = _compute_fingerprint(settings)
    if len(_memo) >= _MEMO_SIZE:
        _memo.clear()
    _memo[id(settings)] = (weakref.ref(settings), versions, value)
    return value


# Rules whose verdict depends on more of the name than its kind (package, stub):
# docstring rules skip private modules (`_x.py`); invalid-module-name,
# stdlib-module-shadowing and import-self read the module's own name.
_VISIBILITY_RULES = ("D100", "D101", "D102", "D103", "D104", "D105", "D106", "D107")
_STEM_RULES = ("N999", "A005", "PLW0406")


def _selects(selectors: list[str], codes: tuple[str, ...]) -> bool:
    """Whether a ruff `--select` list may enable one of `codes` (prefixes, or ALL)."""
    wanted = [s.strip().upper() for s in selectors]
    return any(s == "ALL" or code.startswith(s) for s in wanted if s for code in codes)


def _name_flags(settings: Settings) -> str:
    """Which parts of a name the selected rules read: "v" visibility, "s" the stem."""
    flags = "v" if _selects(settings.lintSelect, _VISIBILITY_RULES) else ""
    flags += "s" if _selects(settings.lintSelect, _STEM_RULES) else ""
    return f"-{flags}" if flags else ""


def name_facts(path: str, fingerprint: str) -> str:
    """What the file's name changes in its result, under `fingerprint`'s settings.

    The analyzers see the base name only (ruff runs `--isolated` on that name,
    mypy on its suffix, bandit on "<stdin>"): whether it is a package's
    `__init__` and whether it is a stub always count (ruff offers no fix for
    an unused import in an `__init__.py`; stubs have rules of their own);
    whether the module is private, and the name itself, count only when the
    selected rules read them (the fingerprint's flags). Nothing else about the
    path reaches the result: our ruff settings have no per-file ignores, and
    whether a file is a test is decided when scoring, after the cache.
    """
    name = os.path.basename(path) or "file"
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    facts = "stub" if suffix == "pyi" else "module"
    if stem == "__init__":
        facts = "package-" + facts
    flags = fingerprint.rpartition("-")[2] if "-" in fingerprint else ""
    dunder = stem.startswith("__") and stem.endswith("__")
    if "v" in flags and stem.startswith("_") and not dunder:
        facts += "-private"
    if "s" in flags:
        # Hashed: a name can hold anything (a lone surrogate is not valid SQLite text).
        facts += "-" + hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return facts


def make_key(content_hash: str, fingerprint: str, path: str) -> str:
    """The cache key of the result of file `path` with this content under one fingerprint.

    Two files share a key when their text, the engine and what their names
    tell the analyzers (`name_facts`) are the same.
    """
    return f"{content_hash}.{fingerprint}.{name_facts(path, fingerprint)}"
