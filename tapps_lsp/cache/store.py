"""The result cache (memory tier in front of the disk tier) and the stat index.

Layout of the cache directory (mode 0700, never inside a workspace):
``results/`` holds content-keyed results, ``stat/`` the (path, size, mtime,
ctime, inode, device) -> content-hash index. Both are diskcache databases that any
number of processes may share.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import platformdirs

from tapps_lsp.cache.disk import DiskTier, WarnOnce
from tapps_lsp.cache.lifetime import Lifetime
from tapps_lsp.cache.memory import MemoryTier
from tapps_lsp.cache.tiers import DiskResults, Found, Stored, Tier, encode

MEMORY_BYTES = 32 * 2**20
DISK_BYTES = 256 * 2**20
STAT_BYTES = 32 * 2**20
# The stat index keeps this many paths in memory before it starts over (about 600 bytes
# each): its database has them all, and a scan of 200,000 files must not hold them all.
# In memory only (no cache directory), the dict is the whole index: it holds more.
_STAT_MEMORY_ENTRIES = 4_096
_STAT_MEMORY_ONLY_ENTRIES = 65_536

_log = logging.getLogger(__name__)


def default_directory() -> Path:
    """`TAPPS_LSP_CACHE_DIR` when set, else the user cache directory of tapps-lsp."""
    configured = os.environ.get("TAPPS_LSP_CACHE_DIR")
    if configured:
        # Absolute now: a relative path must not follow the working directory into a workspace.
        return Path(configured).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("tapps-lsp"))


class ResultCache:
    """Content-keyed `FileResult` dicts in a list of tiers, fastest first (see tiers.py).

    The memory LRU, then diskcache, then any tier given as `extra` (the team
    cache on Redis, remote.py). `get` returns the dict the memory tier holds,
    shared by every caller: treat it as read-only and build a `FileResult`
    from it. Nothing here raises because a tier fails; the cache warns once
    through `warn` and carries on with the tiers that work.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        memory_bytes: int = MEMORY_BYTES,
        disk_bytes: int = DISK_BYTES,
        warn: Callable[[str], None] | None = None,
        persistent: bool = True,
        extra: Sequence[Tier] = (),
    ) -> None:
        self._warn = WarnOnce(warn or _log.warning)
        self._memory = MemoryTier(memory_bytes)
        self.tiers: list[Tier] = [self._memory]
        self.directory: Path | None = None
        self._disk: DiskResults | None = None
        # Why the cache directory was refused (another user could write to it), or None.
        self.refused: str | None = None
        if persistent:
            self.directory = directory if directory is not None else default_directory()
            # The tier checks (and makes) the directory, `root` included: see private_dir.py.
            disk = DiskTier(self.directory / "results", disk_bytes, self._warn, root=self.directory)
            self.refused = disk.refused
            self._disk = DiskResults(disk, self._warn)
            self.tiers.append(self._disk)
        self.tiers.extend(extra)
        self._hits = 0
        self._misses = 0
        self._lifetime = Lifetime(None if self.refused else self.directory)
        # Why there is no remote tier, for `cache stats` (remote.open_cache sets it).
        self.remote_note = "not configured"

    @classmethod
    def memory_only(
        cls,
        *,
        memory_bytes: int = MEMORY_BYTES,
        warn: Callable[[str], None] | None = None,
        extra: Sequence[Tier] = (),
    ) -> ResultCache:
        """A cache that forgets everything when the process ends (`check --no-cache`)."""
        return cls(memory_bytes=memory_bytes, warn=warn, persistent=False, extra=extra)

    @functools.cached_property
    def stat_index(self) -> StatIndex:
        """The stat index beside the results (in memory only when the cache is)."""
        if self.directory is None or self.refused:
            return StatIndex(warn=self._warn)
        return StatIndex(self.directory / "stat", warn=self._warn, root=self.directory)

    @property
    def remote(self) -> Tier | None:
        """The first tier that may wait on the network, if any."""
        return next((tier for tier in self.tiers if tier.remote), None)

    def get(self, key: str) -> dict[str, Any] | None:
        """One result from the local tiers (never the network): the path of a cached save."""
        value = self._memory.get(key)
        if value is not None:
            self._hits += 1
            return value
        return self.get_many([key], remote=False, start=1).get(key)

    def get_many(
        self, keys: Sequence[str], *, remote: bool = True, start: int = 0, bulk: bool = False
    ) -> dict[str, dict[str, Any]]:
        """The results found for `keys`, each tier asked once for what the earlier ones missed.

        A hit is written to the tiers before the one that had it (`bulk`, a scan:
        not to the memory tier while the disk tier can hold it). `remote=False`
        leaves out tiers that wait on the network (call those from a thread).
        """
        wanted = list(dict.fromkeys(keys))
        out: dict[str, dict[str, Any]] = {}
        for number in range(start, len(self.tiers)):
            tier = self.tiers[number]
            if not wanted:
                break
            if tier.remote and not remote:
                continue
            found = tier.get_many(wanted)
            if found:
                self._backfill(number, found, bulk)
                out.update((key, hit.value) for key, hit in found.items())
                wanted = [key for key in wanted if key not in found]
        self._hits += len(out)
        self._misses += len(wanted)
        return out

    def fetch_remote(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Ask only the remote tiers (from a thread); what they have is stored locally."""
        first = next((n for n, tier in enumerate(self.tiers) if tier.remote), len(self.tiers))
        found = self.get_many(keys, start=first)
        return found

    async def get_remote(self, key: str, budget: float | None = None) -> dict[str, Any] | None:
        """The remote tiers' result for `key`, if they answer within `budget` seconds.

        `budget` defaults to the remote tier's own (`remoteCacheBudgetMs`, 20 ms).
        The event loop never waits longer; an answer that comes later is still
        stored in the local tiers (by the thread that got it), for the next save.
        """
        remote = self.remote
        if remote is None or not getattr(remote, "available", lambda: True)():
            return None
        if budget is None:
            budget = float(getattr(remote, "budget", 0.02))
        future = asyncio.ensure_future(asyncio.to_thread(self.fetch_remote, [key]))
        try:
            found = await asyncio.wait_for(asyncio.shield(future), budget)
        except asyncio.TimeoutError:
            late = getattr(remote, "late", None)
            if callable(late):
                late()
            return None
        return found.get(key)

    def _backfill(self, number: int, found: dict[str, Found], bulk: bool) -> None:
        tiers = self._local_tiers(self.tiers[:number], bulk)
        if not tiers:
            return
        items = [
            Stored(key, hit.value, hit.blob if hit.blob is not None else encode(hit.value))
            for key, hit in found.items()
        ]
        for tier in tiers:
            tier.put_many(items)

    def _local_tiers(self, tiers: list[Tier], bulk: bool) -> list[Tier]:
        """`tiers` without the memory tier for a scan (`bulk`) while the disk tier works.

        The memory tier is for the editor's files: a scan of 200,000 files would fill it
        to its limit with files nobody has open, and a warm re-scan is served by the
        stat index and the scored-review memo before any tier is asked.
        """
        if not bulk or self._disk is None or self.refused or not self._disk.tier.enabled:
            return tiers
        return [tier for tier in tiers if tier is not self._memory]

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store one result in every tier."""
        self.put_many([(key, value)])

    def put_many(self, items: Iterable[tuple[str, dict[str, Any]]], *, bulk: bool = False) -> None:
        """Store several results in every tier (on disk in one transaction); `bulk` (a
        scan's results): not in the memory tier while the disk tier can hold them."""
        stored = []
        for key, value in items:
            blob = encode(value)
            # Keep the decoded copy, not the caller's: later changes to the
            # caller's dict must not leak in, and a memory hit then returns
            # exactly what a disk hit would.
            stored.append(Stored(key, json.loads(blob), blob))
        if stored:
            for tier in self._local_tiers(self.tiers, bulk):
                tier.put_many(stored)

    def stats(self) -> dict[str, Any]:
        """Counters of this process, lifetime counters of the cache directory, sizes per tier."""
        self._lifetime.flush(self._hits, self._misses)
        looked_up = self._hits + self._misses
        memory = self._memory.stats()
        disk = self._disk.stats() if self._disk is not None else _NO_DISK
        out: dict[str, Any] = {
            "hits": self._hits,
            "misses": self._misses,
            "hitRate": round(self._hits / looked_up, 4) if looked_up else 0.0,
            # Every result stored goes to both tiers: the disk holds the lot.
            "entries": disk["entries"] if disk["enabled"] else memory["entries"],
            "bytes": memory["bytes"] + disk["bytes"],
            "lifetime": self._lifetime.totals(),
            "memory": memory,
            "disk": disk,
        }
        for tier in self.tiers:
            if tier.name not in out:
                out[tier.name] = tier.stats()
        out.setdefault("remote", {"enabled": False, "reason": self.remote_note})
        return out

    def clear(self) -> int:
        """Forget every local result (and the stat index); returns how many results there were.

        A remote tier is shared by a team: it is not cleared from here.
        """
        disk = self._disk
        only_in_memory = sum(1 for key in self._memory.keys() if disk is None or key not in disk)
        self._memory.clear()
        cleared = only_in_memory + (disk.clear() if disk is not None else 0)
        self.stat_index.clear()
        return cleared

    def close(self) -> None:
        """Flush the counters, wait for pending remote writes, close files and connections."""
        self._lifetime.flush(self._hits, self._misses)
        for tier in self.tiers:
            tier.close()
        if "stat_index" in self.__dict__:
            self.stat_index.close()


_NO_DISK: dict[str, Any] = {
    "enabled": False,
    "directory": None,
    "hits": 0,
    "misses": 0,
    "entries": 0,
    "bytes": 0,
    "limit": 0,
}


def _path_key(path: str) -> str:
    # SQLite text must be valid UTF-8; names holding lone surrogates (file
    # names with undecodable bytes) get a hex form no real path can take.
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "\0" + path.encode("utf-8", "surrogatepass").hex()
    return path


# What the stat index compares, as git's index does (size, mtime, ctime, inode,
# device): a file rewritten with the same size and its mtime put back
# (`touch -r`, os.utime) still has a new ctime, which no user call can set, and
# a file replaced by another has a new inode.
Stamp = tuple[int, int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    """The stat index's view of a file: (size, mtime_ns, ctime_ns, inode, device)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class StatIndex:
    """(path, size, mtime, ctime, inode, device) -> content hash, so a scan can skip
    reading unchanged files.

    A hit only says what the file's hash was when it had this stamp; whoever
    reads the file anyway must hash what it read and `record` the result, so
    a wrong entry is corrected on the next read.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        warn: Callable[[str], None] | WarnOnce | None = None,
        root: Path | None = None,
    ) -> None:
        """`directory`: where the index lives (None: in memory only); `root`: the cache
        directory it is in, checked with it (see `make_private_dir`)."""
        if not isinstance(warn, WarnOnce):
            warn = WarnOnce(warn or _log.warning)
        self._memory: dict[str, tuple[Stamp, str]] = {}
        self._disk = (
            DiskTier(directory, STAT_BYTES, warn, root=root) if directory is not None else None
        )
        self.directory = directory
        self._limit = _STAT_MEMORY_ENTRIES if directory is not None else _STAT_MEMORY_ONLY_ENTRIES

    def lookup(self, path: str, stamp: Stamp) -> str | None:
        """The content hash recorded for `path` with exactly this stamp, else None."""
        key = _path_key(path)
        entry = self._memory.get(key)
        if entry is None and self._disk is not None:
            entry = self._parse(self._disk.get(key))
            if entry is not None:
                self._remember(key, entry)
        if entry is None or entry[0] != stamp:
            return None
        return entry[1]

    def record(self, path: str, stamp: Stamp, content_hash: str) -> None:
        """Remember that `path` with this stamp hashed to `content_hash`."""
        self.record_many([(path, stamp, content_hash)])

    def record_many(self, items: Iterable[tuple[str, Stamp, str]]) -> None:
        """Record several files, on disk in one transaction."""
        encoded = []
        for path, stamp, content_hash in items:
            key = _path_key(path)
            entry = (stamp, content_hash)
            if self._memory.get(key) == entry:
                continue
            self._remember(key, entry)
            fields = ":".join(str(number) for number in stamp)
            encoded.append((key, f"{fields}:{content_hash}".encode()))
        if self._disk is not None:
            self._disk.put_many(encoded)

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        count = len(self._memory)
        self._memory.clear()
        if self._disk is not None:
            count = self._disk.clear()
        return count

    def close(self) -> None:
        """Close the database."""
        if self._disk is not None:
            self._disk.close()

    def _remember(self, key: str, entry: tuple[Stamp, str]) -> None:
        if len(self._memory) >= self._limit:
            self._memory.clear()
        self._memory[key] = entry

    @staticmethod
    def _parse(blob: bytes | None) -> tuple[Stamp, str] | None:
        # Entries of the older (size, mtime) form have three fields: unknown, read again.
        if blob is None:
            return None
        try:
            *numbers, content_hash = blob.decode().split(":")
            size, mtime_ns, ctime_ns, inode, device = (int(n) for n in numbers)
        except ValueError:
            return None
        return (size, mtime_ns, ctime_ns, inode, device), content_hash
