"""The disk tier: diskcache, hardened (`safe_disk`), in a private directory
(`private_dir`), and kept out of the way when it fails.

- A corrupt database is moved aside (`cache.db.corrupt-<time>`) and
  rebuilt, once; a database or directory that cannot be written (read-only,
  disk full) disables the tier. Each is one warning; nothing raises.

Eviction is least-recently-stored, not least-recently-used. Measured on
this 2-core machine (1,000 entries of 17.5 KB, one process): a get costs
11 us with least-recently-stored and 90 us with least-recently-used,
because LRU writes the access time in a transaction on every read. That
write also takes the database's write lock, so readers in one process
queue behind a scan storing results in another, and every read fails on a
full disk or a read-only directory. Hot entries live in the memory tier
anyway; on disk, an entry stored long ago is evicted first and, if still
wanted, is analysed and stored again. A 64 MiB memory map saved 1 us per
get (10.3 against 11.3 us), not worth the SIGBUS risk noted at
`safe_disk.SETTINGS`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import diskcache

from tapps_lsp.cache.private_dir import UnsafeCacheDir, make_private_dir
from tapps_lsp.cache.safe_disk import NEW_FILE, SETTINGS, SafeDisk, UnsafeRow, sanitise

DB_NAME = "cache.db"

# Seconds a writer waits for another process's transaction before giving up on
# that one store (the result stays in memory).
TIMEOUT = 2.0

# SQLite primary result codes (sqlite3.h).
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
# PERM, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL, NOLFS, AUTH: the
# disk or the directory fails us, not the database's content.
_UNUSABLE = {3, 7, 8, 10, 13, 14, 15, 22, 23}


def _error_kind(error: BaseException) -> str:
    """The kind of a failure: busy, unusable (disk or directory) or corrupt (the database)."""
    if isinstance(error, diskcache.Timeout):
        return "busy"
    if isinstance(error, OSError):
        return "unusable"
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF
        if code in _BUSY:
            return "busy"
        if code in _UNUSABLE:
            return "unusable"
    # Anything else, SQLite's or diskcache's (a foreign schema, a duplicated
    # Settings key), is a database we cannot trust: rebuilding it is the fix.
    return "corrupt"


class WarnOnce:
    """Passes each kind of warning on once: a broken cache must not flood the log."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        """Pass messages on to `sink`."""
        self._sink = sink
        self._seen: set[str] = set()

    def __call__(self, kind: str, message: str) -> None:
        """Pass `message` on unless a warning of this `kind` already was."""
        if kind not in self._seen:
            self._seen.add(kind)
            self._sink(message)


class DiskTier:
    """diskcache in one directory, or nothing once it has failed.

    `get`/`put` never raise: a failure is a miss (or a store skipped), with
    one warning per kind of failure for the life of the object.
    """

    def __init__(
        self, directory: Path, size_limit: int, warn: WarnOnce, *, root: Path | None = None
    ) -> None:
        """`root`: the cache directory `directory` is in; it and every folder between
        are checked too (`make_private_dir`)."""
        self.directory = directory
        self.root = root if root is not None else directory
        # Why the directory was refused (`UnsafeCacheDir`), or None.
        self.refused: str | None = None
        self.size_limit = size_limit
        self._settings = {**SETTINGS, "size_limit": size_limit}
        self._warn = warn
        self._lock = threading.Lock()
        self._rebuilt = False
        self._cache: diskcache.Cache | None = None
        self._open()

    @property
    def enabled(self) -> bool:
        """Whether the database is open (False once refused or disabled)."""
        return self._cache is not None

    def _open(self) -> None:
        try:
            make_private_dir(self.directory, self.root)
            self._cache = self._connect()
        except UnsafeCacheDir as refused:
            self._refuse(refused)
        except Exception as error:  # any failure leaves the memory tier working
            if _error_kind(error) == "corrupt" and self._move_aside(error):
                self._open()
            else:
                self._disable(error)

    def _connect(self) -> diskcache.Cache:
        db = self.directory / DB_NAME
        # Created here with mode 0600, so SQLite gives its -wal and -shm files the same.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(db, NEW_FILE, 0o600))
        sanitise(db)
        return diskcache.Cache(
            str(self.directory), timeout=TIMEOUT, disk=SafeDisk, **self._settings
        )

    def _move_aside(self, error: BaseException) -> bool:
        """Rename a corrupt database out of the way; False if already done once."""
        if self._rebuilt:
            return False
        self._rebuilt = True
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        stamp = time.strftime("%Y%m%dT%H%M%S")
        db = self.directory / DB_NAME
        # Keep only the newest corrupt copy, for a bug report; never let them pile up.
        for old in self.directory.glob(f"{DB_NAME}.corrupt-*"):
            with contextlib.suppress(OSError):
                old.unlink()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):  # another process may have moved it already
                os.replace(f"{db}{suffix}", f"{db}.corrupt-{stamp}{suffix}")
        self._warn(
            "corrupt",
            f"the cache database {db} was unreadable ({error}); "
            f"moved it to {db}.corrupt-{stamp} and started an empty one",
        )
        return True

    def _refuse(self, refused: UnsafeCacheDir) -> None:
        """Leave a directory another user could read or write alone: memory only."""
        self.refused = str(refused)
        self._warn(
            "refused",
            f"refused the cache directory {self.root}: {refused}; results are kept in memory "
            "only. Use a directory only you can write to (TAPPS_LSP_CACHE_DIR).",
        )

    def _disable(self, error: BaseException) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            with contextlib.suppress(Exception):
                cache.close()
        self._warn(
            "disabled",
            f"the disk cache in {self.directory} is unusable ({error}); "
            "results are kept in memory only",
        )

    def _failed(self, error: BaseException) -> None:
        kind = _error_kind(error)
        if kind == "busy":
            return
        with self._lock:
            if kind == "corrupt" and self._move_aside(error):
                self._open()
            else:
                self._disable(error)

    def get(self, key: str) -> bytes | None:
        """The value stored under `key`, or None (a miss, also on any failure)."""
        cache = self._cache
        if cache is None:
            return None
        try:
            value: bytes | None = cache.get(key)
            return value
        except UnsafeRow as refused:
            self._warn("unsafe", f"ignored an unsafe cache entry ({refused})")
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
        return None

    def put(self, key: str, value: bytes) -> None:
        """Store one value; a failure skips it."""
        cache = self._cache
        if cache is None:
            return
        try:
            cache.set(key, value)
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)

    def put_many(self, items: list[tuple[str, bytes]]) -> None:
        """Store several entries in one transaction (one commit instead of one each)."""
        cache = self._cache
        if cache is None or not items:
            return
        try:
            with cache.transact():
                for key, value in items:
                    cache.set(key, value)
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)

    def __contains__(self, key: str) -> bool:
        """Whether `key` is stored (False on any failure)."""
        cache = self._cache
        if cache is None:
            return False
        try:
            return key in cache
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return False

    def entries(self) -> int:
        """How many entries are stored (0 on any failure)."""
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(len(cache))
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return 0

    def volume(self) -> int:
        """Bytes the cache takes on disk (0 on any failure)."""
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(cache.volume())
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return 0

    def clear(self) -> int:
        """Remove every entry; how many were removed (0 on any failure)."""
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(cache.clear(retry=True))
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return 0

    def close(self) -> None:
        """Close the database; the tier is off afterwards."""
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()
