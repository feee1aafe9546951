"""Workspace folders as the server sees them, and the `file:` URIs that name their files.

Pure: no LSP and no server here, so the features, the scans and the report
export can use them without importing the server.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from tapps_lsp.config import Settings


def uri_to_path(uri: str) -> Path | None:
    """The local path a `file:` URI names, with `..` collapsed; None for anything else.

    `%2e%2e` is decoded before collapsing, so it cannot smuggle a `..` past
    the containment check; `file://host/share` (UNC) is not local. Percent
    escapes are decoded to bytes and then to a file name as the OS does
    (`caf%E9.py` is the Linux name `caf\\xe9.py`, held as a lone surrogate).
    """
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = os.fsdecode(unquote_to_bytes(parts.path))
    if not path.startswith("/") or "\x00" in path:
        return None
    return Path(os.path.normpath(path))


def is_within(path: Path, root: Path) -> bool:
    """Whether `path` is `root` or lies below it (by path parts, no file system access)."""
    return path == root or root in path.parents


@dataclass
class Folder:
    """A workspace folder and its settings (the pseudo-folder for loose files has no root).

    A project nested in a workspace folder (a folder below it with its own
    pyproject.toml, setup.cfg, setup.py or .git) is a Folder too, with the
    workspace folder as `parent`: its files take its settings, as `check` does.
    """

    uri: str
    root: Path | None
    settings: Settings | None = None
    fingerprint: str = ""
    # Digest of everything besides content that shapes the diagnostics we send.
    view_digest: str = ""
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    parent: Folder | None = None
