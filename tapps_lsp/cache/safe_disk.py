"""diskcache, hardened against a planted cache directory.

diskcache trusts its database. `Disk.fetch` unpickles any row whose mode
column says pickle (even `JSONDisk` does), reads whatever path a row's
filename column names, and `Disk.remove` deletes it. At open, `Cache`
merges the database's Settings table under the caller's settings: a key
the caller did not pass is applied as stored, every `sqlite_*` key becomes
a `PRAGMA name = value` built by string formatting, every `disk_*` key a
Disk constructor argument, and `count`/`size` are reloaded from it. A
cache directory can be planted (copied, restored from a backup, shared),
so:

- `SafeDisk` stores bytes only, reads only raw rows and files that resolve
  inside the cache directory, and never unpickles; anything else raises
  `UnsafeRow`, which the tier turns into a miss and one warning.
- Every setting is passed explicitly (`SETTINGS` covers all of
  `diskcache.DEFAULT_SETTINGS`), and before diskcache opens the database
  its Settings table loses unknown keys and has `count`/`size` recomputed
  (`sanitise`).

Triggers a planted database carries are left alone: they can only run SQL
on that database (Python's sqlite3 keeps extension loading off), so the
worst they do is spoil cached rows, which a planted row can do anyway.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import MODE_BINARY, MODE_RAW, UNKNOWN

# Every key of diskcache.DEFAULT_SETTINGS, so nothing comes from the database.
SETTINGS: dict[str, Any] = {
    "statistics": 0,  # our counters live in the process: statistics turn reads into writes
    "tag_index": 0,
    "eviction_policy": "least-recently-stored",
    "size_limit": 256 * 2**20,
    "cull_limit": 10,
    "sqlite_auto_vacuum": 1,  # FULL: the file shrinks after eviction
    # Pages (4 KiB) each connection keeps: diskcache opens one per thread, and a scan
    # reads and writes from several. At 2**13 (32 MiB each) they grew with every file a
    # scan stored, 1.7 KB of RSS per file; the OS caches the file for the rest.
    "sqlite_cache_size": 2**9,
    "sqlite_journal_mode": "wal",  # readers never wait for a writer in another process
    # No memory map: a database truncated by another process while mapped
    # kills the reader with SIGBUS instead of raising an error.
    "sqlite_mmap_size": 0,
    "sqlite_synchronous": 1,  # NORMAL: a crash may lose the last results, never corrupt
    "disk_min_file_size": 2**15,
    "disk_pickle_protocol": 0,  # unused: SafeDisk never pickles
}
METADATA = ("count", "size", "hits", "misses")

# No result comes near this (a 1 MiB file with a finding on every line is
# about 10 MiB of JSON); a larger file in the cache was not written by us.
MAX_VALUE_BYTES = 64 * 2**20


# Seconds `sanitise` may wait for another process's transaction when the tier
# opens (longer than a store's wait: giving up there turns the tier off for good).
OPEN_TIMEOUT = 20.0


class UnsafeRow(Exception):
    """A row diskcache would have unpickled or read from outside the cache."""


# A value file or database we create: new, never through a link, ours alone.
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class SafeDisk(diskcache.Disk):
    """A diskcache Disk for str keys and bytes values that never unpickles."""

    def __init__(self, directory: str, min_file_size: int = 0, pickle_protocol: int = 0) -> None:
        """A Disk for `directory`, whose files are the only ones it reads or removes."""
        super().__init__(directory, min_file_size=min_file_size, pickle_protocol=pickle_protocol)
        self._root = os.path.realpath(directory)

    def put(self, key: Any) -> tuple[Any, bool]:
        """A key as stored: str keys only, raw."""
        if type(key) is str:
            return key, True
        raise TypeError(f"cache keys are str, not {type(key).__name__}")

    def get(self, key: Any, raw: bool) -> Any:
        """A stored key: raw ones only, never unpickled."""
        if not raw:
            raise UnsafeRow("a pickled key")
        return bytes(key) if isinstance(key, bytes | memoryview) else key

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> Any:
        """Store bytes (no file objects, nothing pickled)."""
        if read or type(value) is not bytes:
            raise TypeError(f"cache values are bytes, not {type(value).__name__}")
        return super().store(value, False, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> bytes:
        """A stored value: raw bytes, or a regular file of ours inside the cache; else UnsafeRow."""
        if mode == MODE_RAW and isinstance(value, bytes):
            return value
        if mode == MODE_BINARY and not read:
            path = self._inside(filename)
            if path is None:
                raise UnsafeRow(f"a row naming a file outside the cache: {filename!r}")
            return _read_regular_file(path)
        raise UnsafeRow(f"a row stored in mode {mode!r} (only raw bytes are written)")

    def _write(self, full_path: str, iterator: Any, mode: str, encoding: str | None = None) -> int:
        """diskcache's, with folders of mode 0700 and files of mode 0600 whatever the umask.

        The cache's folders are checked for other users' write access when it
        opens: a umask of 002 must not make our own cache look unsafe.
        """
        folder = os.path.dirname(full_path)
        for count in range(1, 11):
            with contextlib.suppress(FileExistsError):
                os.mkdir(os.path.dirname(folder), 0o700)
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, 0o700)
            try:
                # Another process may have removed the folder before the file was opened.
                fd = os.open(full_path, NEW_FILE, 0o600)
            except FileNotFoundError:
                if count == 10:
                    raise
                continue
            with open(fd, "wb") as writer:
                size = 0
                for chunk in iterator:
                    size += len(chunk)
                    writer.write(chunk)
                return size
        raise AssertionError("unreachable")

    def remove(self, file_path: str) -> None:
        """Remove a value's file, only when it is inside the cache."""
        # diskcache removes the file of a row it replaces or evicts: never outside.
        if self._inside(file_path) is not None:
            super().remove(file_path)

    def _inside(self, filename: Any) -> str | None:
        if not isinstance(filename, str) or not filename:
            return None
        path = os.path.realpath(os.path.join(self._root, filename))
        if os.path.commonpath([path, self._root]) != self._root or path == self._root:
            return None
        return path


def _read_regular_file(path: str) -> bytes:
    """The bytes of a regular file of ours, at most MAX_VALUE_BYTES; else UnsafeRow."""
    # Non-blocking and regular files only: a planted FIFO would hang the open
    # forever, a device or a huge file would never finish reading.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with open(fd, "rb") as reader:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeRow(f"a row naming something that is not a regular file: {path}")
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            raise UnsafeRow(f"a row naming a file another user owns: {path}")
        data = reader.read(MAX_VALUE_BYTES + 1)
    if len(data) > MAX_VALUE_BYTES:
        raise UnsafeRow(f"a row naming a file larger than {MAX_VALUE_BYTES} bytes: {path}")
    return data


def sanitise(db_path: Path) -> None:
    """Drop Settings keys diskcache would apply as pragmas or Disk arguments."""
    if not db_path.exists():
        return
    con = sqlite3.connect(db_path, timeout=OPEN_TIMEOUT, isolation_level=None)
    try:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        if "Settings" not in tables:
            return
        known = sorted(set(SETTINGS) | set(METADATA))
        marks = ",".join("?" * len(known))
        con.execute("BEGIN IMMEDIATE")
        con.execute(f"DELETE FROM Settings WHERE key NOT IN ({marks})", known)
        if "Cache" in tables:
            # Eviction compares these to size_limit: a planted size would empty the cache.
            con.execute(
                "UPDATE Settings SET value = (SELECT COUNT(*) FROM Cache) WHERE key = 'count'"
            )
            con.execute(
                "UPDATE Settings SET value = (SELECT COALESCE(SUM(size), 0) FROM Cache)"
                " WHERE key = 'size'"
            )
        con.execute("COMMIT")
    finally:
        con.close()
