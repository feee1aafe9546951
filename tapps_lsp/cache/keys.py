"""Cache identity: what a file's content hashes to, and what the engine was.

A key is the xxh3_128 of the text plus a fingerprint of everything else that
changes a `FileResult`: the tapps-lsp version, the analyzers' versions, the
result schema and the result-affecting settings. Path and mtime are not part
of it, so a renamed or touched file is still a hit.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import weakref

from tapps_lsp import __version__
from tapps_lsp.config import Settings
from tapps_lsp.review.hashing import content_hash
from tapps_lsp.review.model import SCHEMA_VERSION

# mypy only counts when the settings enable it, so upgrading an unused mypy
# does not throw every cached result away.
__all__ = ["content_hash", "fingerprint", "make_key", "tool_versions"]

_ALWAYS = ("ruff", "radon", "bandit")
_OPTIONAL = ("mypy",)


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


@functools.lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Versions of the analyzers installed beside tapps-lsp, read once per process.

    Read from package metadata (about 1 ms each) rather than by running the
    tools; the engine only ever runs the copies installed with it.
    """
    versions = {"tapps-lsp": __version__}
    versions.update({name: _installed_version(name) for name in _ALWAYS + _OPTIONAL})
    return versions


def _compute_fingerprint(settings: Settings) -> str:
    versions = tool_versions()
    used = {k: v for k, v in versions.items() if k not in _OPTIONAL}
    if settings.mypyEnabled:
        used["mypy"] = versions["mypy"]
    blob = json.dumps(
        {"tools": used, "schema": SCHEMA_VERSION, "settings": settings.digest()},
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


# Settings are frozen but hold lists and dicts, so they cannot be dict keys;
# remember the last few by identity, because digest() costs about 17 us and
# the cached-save path runs this on every keystroke.
_memo: dict[int, tuple[weakref.ref[Settings], tuple[str, ...], str]] = {}
_MEMO_SIZE = 64


def fingerprint(settings: Settings) -> str:
    """Identity of the engine and the result-affecting settings, as 32 hex digits."""
    versions = tuple(tool_versions().values())
    entry = _memo.get(id(settings))
    if entry is not None and entry[0]() is settings and entry[1] == versions:
        return entry[2]
    value = _compute_fingerprint(settings)
    if len(_memo) >= _MEMO_SIZE:
        _memo.clear()
    _memo[id(settings)] = (weakref.ref(settings), versions, value)
    return value


def make_key(content_hash: str, fingerprint: str) -> str:
    """The cache key of one file's result under one engine fingerprint."""
    return f"{content_hash}.{fingerprint}"
