"""What runs in the worker processes (and the scan's reading thread).

Kept apart from `tapps_lsp.reviewer` so that a worker imports the engine and
nothing else: no asyncio, no diskcache or SQLite (about 7 MB less in each
worker). The worker's process itself is review/worker_main.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tapps_lsp.config import Settings
from tapps_lsp.review import heap
from tapps_lsp.review.hashing import content_hash
from tapps_lsp.safe_io import UnsafeRead, read_source_bytes


@dataclass
class Read:
    """A file as one read found it."""

    path: str
    status: str  # "ok" | "deleted" | "unreadable" | "large"
    size: int = 0
    mtime_ns: int = 0
    text: str | None = None
    error: str = ""
    # With size and mtime, what the stat index compares (cache/store.py `Stamp`).
    ctime_ns: int = 0
    inode: int = 0
    device: int = 0

    @property
    def hash(self) -> str:
        """The content hash of the text read (of "" when none was)."""
        return content_hash(self.text or "")

    @property
    def stamp(self) -> tuple[int, int, int, int, int]:
        """(size, mtime_ns, ctime_ns, inode, device) as the open descriptor had them."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode, self.device)


def read_file(path: str, max_size: int) -> Read:
    """Read one file; its size and times come from the open descriptor, not a second stat."""
    try:
        st, data = read_source_bytes(path, max_size)
    except FileNotFoundError:
        return Read(path, "deleted")
    except UnsafeRead:
        return Read(path, "unreadable", error="not a regular file")
    except OSError as exc:
        return Read(path, "unreadable", error=exc.strerror or str(exc))
    if data is None:
        return Read(path, "large", st.st_size, st.st_mtime_ns)
    # Undecodable bytes survive as surrogates; the engine skips such text.
    text = data.decode("utf-8", "surrogateescape")
    return Read(
        path, "ok", st.st_size, st.st_mtime_ns, text, "", st.st_ctime_ns, st.st_ino, st.st_dev
    )


@dataclass
class Hashed:
    """A file read and hashed, its text dropped."""

    read: Read
    hash: str = ""


def hash_files(paths: list[str], max_size: int) -> list[Hashed]:
    """Read and hash files the stat index does not know, keeping no text."""
    out = []
    for path in paths:
        read = read_file(path, max_size)
        digest = read.hash if read.status == "ok" else ""
        read.text = None
        out.append(Hashed(read, digest))
    return out


@dataclass
class Analysed:
    """A file read, hashed and analysed (no result when it could not be read).

    `data` is the result as the cache stores it (`FileResult.to_dict`): what the
    worker sends, and what the owner caches without converting it again.
    """

    read: Read
    hash: str = ""
    data: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        """JSON values (the text is never sent)."""
        read = dataclasses.asdict(self.read)
        read.pop("text", None)
        return {"read": read, "hash": self.hash, "data": self.data}

    @classmethod
    def from_wire(cls, value: dict[str, Any]) -> Analysed:
        """The item `to_wire` wrote."""
        return cls(Read(**value["read"]), value["hash"], value["data"])


def analyze_chunk(paths: list[str], settings: Settings) -> Iterator[Analysed]:
    """Worker: read a chunk of files and analyse them, ruff once for the chunk; each file's
    item as soon as its analysis ends, in the order of `paths`."""
    from tapps_lsp.review import engine  # the worker's, not the server's (which reads here)

    reads = [read_file(path, settings.maxFileSize) for path in paths]
    readable = [r for r in reads if r.status == "ok"]
    results = engine.iter_batch([(r.path, r.text or "") for r in readable], settings)
    for read in reads:
        item = Analysed(read)
        if read.status == "ok":
            item.hash = read.hash
            item.data = next(results).to_dict()
        read.text = None  # the text stays in the worker, and goes once it is analysed
        yield item
    # A large module's trees and tokens take tens of MB for a moment; glibc keeps freed
    # pages, so a worker would stay at the size of the largest file it ever analysed
    # (measured on stdlib files: 6 MB less per worker, 0.3 ms).
    heap.trim()
