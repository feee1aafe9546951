"""The result cache (memory tier in front of the disk tier) and the stat index.

Layout of the cache directory (mode 0700, never inside a workspace):
``results/`` holds content-keyed results, ``stat/`` the (path, size,
mtime_ns) -> content-hash index. Both are diskcache databases that any
number of processes may share.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import platformdirs

from tapps_lsp.cache.disk import DiskTier, WarnOnce, make_private_dir
from tapps_lsp.cache.memory import MemoryLRU

MEMORY_BYTES = 32 * 2**20
DISK_BYTES = 256 * 2**20
STAT_BYTES = 32 * 2**20
# The stat index keeps this many paths in memory before it starts over.
_STAT_MEMORY_ENTRIES = 200_000

_log = logging.getLogger(__name__)


def default_directory() -> Path:
    """`TAPPS_LSP_CACHE_DIR` when set, else the user cache directory of tapps-lsp."""
    configured = os.environ.get("TAPPS_LSP_CACHE_DIR")
    if configured:
        # Absolute now: a relative path must not follow the working directory into a workspace.
        return Path(configured).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("tapps-lsp"))


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class ResultCache:
    """Content-keyed `FileResult` dicts: a byte-bounded memory LRU over diskcache.

    `get` returns the dict the memory tier holds, shared by every caller:
    treat it as read-only and build a `FileResult` from it.
    Nothing here raises because the disk is corrupt, full or read-only; the
    cache warns once through `warn` and carries on with the memory tier.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        memory_bytes: int = MEMORY_BYTES,
        disk_bytes: int = DISK_BYTES,
        warn: Callable[[str], None] | None = None,
        persistent: bool = True,
    ) -> None:
        self._warn = WarnOnce(warn or _log.warning)
        self._memory = MemoryLRU(memory_bytes)
        self.directory: Path | None = None
        self._disk: DiskTier | None = None
        if persistent:
            self.directory = directory if directory is not None else default_directory()
            # mkdir(parents=True) gives parents the umask's mode: make the root private first.
            with contextlib.suppress(OSError):  # the tier below reports an unusable directory
                make_private_dir(self.directory)
            self._disk = DiskTier(self.directory / "results", disk_bytes, self._warn)
        self._memory_hits = 0
        self._disk_hits = 0
        self._misses = 0

    @classmethod
    def memory_only(
        cls, *, memory_bytes: int = MEMORY_BYTES, warn: Callable[[str], None] | None = None
    ) -> ResultCache:
        """A cache that forgets everything when the process ends (`check --no-cache`)."""
        return cls(memory_bytes=memory_bytes, warn=warn, persistent=False)

    @functools.cached_property
    def stat_index(self) -> StatIndex:
        """The stat index beside the results (in memory only when the cache is)."""
        directory = None if self.directory is None else self.directory / "stat"
        return StatIndex(directory, warn=self._warn)

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._memory.get(key)
        if value is not None:
            self._memory_hits += 1
            return value
        blob = self._disk.get(key) if self._disk is not None else None
        if blob is not None:
            try:
                value = json.loads(blob)
            except (ValueError, RecursionError):
                value = None
            if isinstance(value, dict):
                self._disk_hits += 1
                self._memory.put(key, value, len(blob))
                return value
            self._warn("unreadable", f"ignored a cache entry that is not a JSON object ({key})")
        self._misses += 1
        return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.put_many([(key, value)])

    def put_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Store several results, on disk in one transaction."""
        encoded = []
        for key, value in items:
            blob = _encode(value)
            # Keep the decoded copy, not the caller's: later changes to the
            # caller's dict must not leak in, and a memory hit then returns
            # exactly what a disk hit would.
            self._memory.put(key, json.loads(blob), len(blob))
            encoded.append((key, blob))
        if self._disk is not None:
            self._disk.put_many(encoded)

    def stats(self) -> dict[str, Any]:
        hits = self._memory_hits + self._disk_hits
        looked_up = hits + self._misses
        disk = self._disk
        disk_enabled = disk is not None and disk.enabled
        disk_entries = disk.entries() if disk is not None else 0
        disk_bytes = disk.volume() if disk is not None else 0
        return {
            "hits": hits,
            "misses": self._misses,
            "hitRate": round(hits / looked_up, 4) if looked_up else 0.0,
            # Every result stored goes to both tiers: the disk holds the lot.
            "entries": disk_entries if disk_enabled else len(self._memory),
            "bytes": self._memory.bytes + disk_bytes,
            "memory": {
                "hits": self._memory_hits,
                "misses": self._disk_hits + self._misses,
                "entries": len(self._memory),
                "bytes": self._memory.bytes,
                "limit": self._memory.limit,
            },
            "disk": {
                "enabled": disk_enabled,
                "directory": str(disk.directory) if disk is not None else None,
                "hits": self._disk_hits,
                "misses": self._misses if disk_enabled else 0,
                "entries": disk_entries,
                "bytes": disk_bytes,
                "limit": disk.size_limit if disk is not None else 0,
            },
        }

    def clear(self) -> int:
        """Forget every result (and the stat index); returns how many results there were."""
        only_in_memory = sum(
            1 for key in self._memory.keys() if self._disk is None or key not in self._disk
        )
        self._memory.clear()
        cleared = only_in_memory + (self._disk.clear() if self._disk is not None else 0)
        self.stat_index.clear()
        return cleared

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
        if "stat_index" in self.__dict__:
            self.stat_index.close()


def _path_key(path: str) -> str:
    # SQLite text must be valid UTF-8; names holding lone surrogates (file
    # names with undecodable bytes) get a hex form no real path can take.
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "\0" + path.encode("utf-8", "surrogatepass").hex()
    return path


class StatIndex:
    """(path, size, mtime_ns) -> content hash, so a scan can skip reading unchanged files.

    A hit only says what the file's hash was when it had this size and
    mtime; whoever reads the file anyway must hash what it read and
    `record` the result, so a wrong entry is corrected on the next read.
    """

    def __init__(
        self, directory: Path | None = None, *, warn: Callable[[str], None] | WarnOnce | None = None
    ) -> None:
        if not isinstance(warn, WarnOnce):
            warn = WarnOnce(warn or _log.warning)
        self._memory: dict[str, tuple[int, int, str]] = {}
        self._disk = DiskTier(directory, STAT_BYTES, warn) if directory is not None else None
        self.directory = directory

    def lookup(self, path: str, size: int, mtime_ns: int) -> str | None:
        key = _path_key(path)
        entry = self._memory.get(key)
        if entry is None and self._disk is not None:
            entry = self._parse(self._disk.get(key))
            if entry is not None:
                self._remember(key, entry)
        if entry is None or entry[0] != size or entry[1] != mtime_ns:
            return None
        return entry[2]

    def record(self, path: str, size: int, mtime_ns: int, content_hash: str) -> None:
        self.record_many([(path, size, mtime_ns, content_hash)])

    def record_many(self, items: Iterable[tuple[str, int, int, str]]) -> None:
        """Record several files, on disk in one transaction."""
        encoded = []
        for path, size, mtime_ns, content_hash in items:
            key = _path_key(path)
            entry = (size, mtime_ns, content_hash)
            if self._memory.get(key) == entry:
                continue
            self._remember(key, entry)
            encoded.append((key, f"{size}:{mtime_ns}:{content_hash}".encode()))
        if self._disk is not None:
            self._disk.put_many(encoded)

    def clear(self) -> int:
        count = len(self._memory)
        self._memory.clear()
        if self._disk is not None:
            count = self._disk.clear()
        return count

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()

    def _remember(self, key: str, entry: tuple[int, int, str]) -> None:
        if len(self._memory) >= _STAT_MEMORY_ENTRIES:
            self._memory.clear()
        self._memory[key] = entry

    @staticmethod
    def _parse(blob: bytes | None) -> tuple[int, int, str] | None:
        if blob is None:
            return None
        try:
            size, mtime_ns, content_hash = blob.decode().split(":")
            return int(size), int(mtime_ns), content_hash
        except ValueError:
            return None
