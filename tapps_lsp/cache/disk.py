"""The disk tier: diskcache, hardened, and kept out of the way when it fails.

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
  its Settings table loses unknown keys and has `count`/`size` recomputed.
- A corrupt database is moved aside (`cache.db.corrupt-<time>`) and
  rebuilt, once; a database or directory that cannot be written (read-only,
  disk full) disables the tier. Each is one warning; nothing raises.

Triggers a planted database carries are left alone: they can only run SQL
on that database (Python's sqlite3 keeps extension loading off), so the
worst they do is spoil cached rows, which a planted row can do anyway.

Eviction is least-recently-stored, not least-recently-used. Measured on
this 2-core machine (1,000 entries of 17.5 KB, one process): a get costs
11 us with least-recently-stored and 90 us with least-recently-used,
because LRU writes the access time in a transaction on every read. That
write also takes the database's write lock, so readers in one process
queue behind a scan storing results in another, and every read fails on a
full disk or a read-only directory. Hot entries live in the memory tier
anyway; on disk, an entry stored long ago is evicted first and, if still
wanted, is analysed and stored again. A 64 MiB memory map saved 1 us per
get (10.3 against 11.3 us), not worth the SIGBUS risk noted at SETTINGS.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import MODE_BINARY, MODE_RAW, UNKNOWN

DB_NAME = "cache.db"

# Every key of diskcache.DEFAULT_SETTINGS, so nothing comes from the database.
SETTINGS: dict[str, Any] = {
    "statistics": 0,  # our counters live in the process: statistics turn reads into writes
    "tag_index": 0,
    "eviction_policy": "least-recently-stored",
    "size_limit": 256 * 2**20,
    "cull_limit": 10,
    "sqlite_auto_vacuum": 1,  # FULL: the file shrinks after eviction
    "sqlite_cache_size": 2**13,
    "sqlite_journal_mode": "wal",  # readers never wait for a writer in another process
    # No memory map: a database truncated by another process while mapped
    # kills the reader with SIGBUS instead of raising an error.
    "sqlite_mmap_size": 0,
    "sqlite_synchronous": 1,  # NORMAL: a crash may lose the last results, never corrupt
    "disk_min_file_size": 2**15,
    "disk_pickle_protocol": 0,  # unused: SafeDisk never pickles
}
_METADATA = ("count", "size", "hits", "misses")

# No result comes near this (a 1 MiB file with a finding on every line is
# about 10 MiB of JSON); a larger file in the cache was not written by us.
MAX_VALUE_BYTES = 64 * 2**20

# Seconds a writer waits for another process's transaction before giving up on
# that one store (the result stays in memory).
TIMEOUT = 2.0
# Opening may wait longer: giving up there turns the disk tier off for good.
OPEN_TIMEOUT = 20.0

# SQLite primary result codes (sqlite3.h).
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
# PERM, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL, NOLFS, AUTH: the
# disk or the directory fails us, not the database's content.
_UNUSABLE = {3, 7, 8, 10, 13, 14, 15, 22, 23}


class UnsafeRow(Exception):
    """A row diskcache would have unpickled or read from outside the cache."""


# A value file or database we create: new, never through a link, ours alone.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class SafeDisk(diskcache.Disk):
    """A diskcache Disk for str keys and bytes values that never unpickles."""

    def __init__(self, directory: str, min_file_size: int = 0, pickle_protocol: int = 0) -> None:
        super().__init__(directory, min_file_size=min_file_size, pickle_protocol=pickle_protocol)
        self._root = os.path.realpath(directory)

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is str:
            return key, True
        raise TypeError(f"cache keys are str, not {type(key).__name__}")

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise UnsafeRow("a pickled key")
        return bytes(key) if isinstance(key, bytes | memoryview) else key

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> Any:
        if read or type(value) is not bytes:
            raise TypeError(f"cache values are bytes, not {type(value).__name__}")
        return super().store(value, False, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> bytes:
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
                fd = os.open(full_path, _NEW_FILE, 0o600)
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


class UnsafeCacheDir(OSError):
    """A cache directory another local user could read, replace or write into.

    Refused, never repaired: the disk tier stays off and the results live in
    memory only (see `make_private_dir`).
    """


# Opening a directory of the cache: never through a symbolic link.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# A tapps-lsp cache holds a few thousand entries (8,192 values of 32 KiB fill
# 256 MiB); a tree much larger than that was not made by us.
MAX_TREE_ENTRIES = 200_000


def _owner_problem(st: os.stat_result) -> str | None:
    """Why an entry of the cache is not private to us (a symlink, someone else's, writable
    by others), or None."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    uid = os.geteuid()
    if st.st_uid != uid:
        return f"is owned by uid {st.st_uid}, not by you (uid {uid})"
    if st.st_mode & 0o022:
        return f"is writable by other users (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _ancestor_problem(st: os.stat_result) -> str | None:
    """Why a folder above the cache lets another user swap the cache for theirs, or None.

    It must be root's or ours, and writable by nobody else unless sticky (like
    /tmp, where nobody can rename what another user made).
    """
    if st.st_uid not in (0, os.geteuid()):
        return f"is owned by uid {st.st_uid}, neither you nor root"
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        return f"is writable by other users without the sticky bit (mode {st.st_mode & 0o7777:04o})"
    return None


def _make_parents(folder: Path) -> None:
    """Create the missing folders of `folder` with mode 0700 (only those we create)."""
    missing = []
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            os.mkdir(candidate, 0o700)
        except FileExistsError:
            continue  # made by another process meanwhile: checked below like any other
        os.chmod(candidate, 0o700)  # ours: mkdir's mode went through the umask


def _check_ancestors(folder: Path) -> None:
    """Refuse a cache whose parent folders another user could rename things in."""
    real = Path(os.path.realpath(folder))
    for ancestor in (*reversed(real.parents), real):
        problem = _ancestor_problem(os.stat(ancestor))
        if problem is not None:
            raise UnsafeCacheDir(f"{ancestor}, a folder above the cache, {problem}")


def _open_private_child(parent_fd: int, name: str, shown: Path, *, create: bool = True) -> int:
    """Open (or create with mode 0700) the folder `name` in `parent_fd`, checked via fstat."""
    created = False
    if create:
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
            created = True
        except FileExistsError:
            pass
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        # O_NOFOLLOW with O_DIRECTORY: Linux says ENOTDIR for a link, others ELOOP.
        link = stat.S_ISLNK(os.lstat(name, dir_fd=parent_fd).st_mode)
        kind = "a symbolic link" if link else "not a directory"
        raise UnsafeCacheDir(f"{shown} is {kind}") from None
    try:
        st = os.fstat(fd)
        if created and st.st_uid == os.geteuid():
            os.fchmod(fd, 0o700)  # ours: mkdir's mode went through the umask
            st = os.fstat(fd)
        problem = _owner_problem(st)
        if problem is not None:
            raise UnsafeCacheDir(f"{shown} {problem}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_entry(fd: int, entry: os.DirEntry[str], inner: str) -> int | None:
    """Check one entry of the cache; a folder's descriptor to walk next, else None.

    An entry another process removes meanwhile (SQLite's -wal file, an
    evicted value's folder) is skipped.
    """
    try:
        problem = _owner_problem(entry.stat(follow_symlinks=False))
        if problem is not None:
            raise UnsafeCacheDir(f"{inner} {problem}")
        if entry.is_dir(follow_symlinks=False):
            return _open_private_child(fd, entry.name, Path(inner), create=False)
    except FileNotFoundError:
        pass
    return None


def _check_tree(top_fd: int, shown: Path, *, depth: int | None = None) -> None:
    """Every folder and file below `top_fd` (`depth` levels of folders, or all): ours,
    writable by nobody else, no links."""
    # Paths as strings: pathlib's joining would cost more than the system calls.
    pending = [(os.dup(top_fd), str(shown), 0)]
    entries = 0
    try:
        while pending:
            fd, where, level = pending.pop()
            try:
                with os.scandir(fd) as listing:
                    for entry in listing:
                        entries += 1
                        if entries > MAX_TREE_ENTRIES:
                            raise UnsafeCacheDir(
                                f"{shown} holds more than {MAX_TREE_ENTRIES:,} entries: "
                                "not a tapps-lsp cache"
                            )
                        inner = f"{where}{os.sep}{entry.name}"
                        child = _check_entry(fd, entry, inner)
                        if child is None:
                            continue
                        if depth is not None and level + 1 >= depth:
                            os.close(child)
                        else:
                            pending.append((child, inner, level + 1))
            finally:
                os.close(fd)
    finally:
        for fd, _, _ in pending:
            os.close(fd)


def make_private_dir(path: Path, root: Path | None = None) -> None:
    """Make sure `path` (inside the cache root `root`, by default `path` itself) is ours.

    What gopls and ssh do: the root and every folder from it down to `path`
    must be owned by us, writable by nobody else and not a symbolic link,
    checked with fstat on descriptors opened with O_NOFOLLOW; folders above the
    root must be root's or ours, and writable by others only when sticky.
    Missing folders are created with mode 0700; nothing we did not create is
    ever chmod-ed. Everything already in `path` is checked the same way (the
    database files too), and so are the root's own entries (each tier walks
    its own folder: a walk costs about 30 us an entry). Raises
    `UnsafeCacheDir` with the reason.
    """
    if not hasattr(os, "geteuid"):  # no POSIX owners (Windows): the user profile is private
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return
    root = Path(os.path.abspath(path if root is None else root))
    below = Path(os.path.abspath(path)).relative_to(root).parts  # ValueError: a caller's mistake
    _make_parents(root.parent)
    parent_fd = os.open(os.path.realpath(root.parent), _DIR_FLAGS)
    try:
        _check_ancestors(root.parent)
        root_fd = _open_private_child(parent_fd, root.name, root)
    finally:
        os.close(parent_fd)
    try:
        fd, shown = os.dup(root_fd), root
        for name in below:
            try:
                child = _open_private_child(fd, name, shown / name)
            finally:
                os.close(fd)
            fd, shown = child, shown / name
        try:
            _check_tree(fd, shown)
        finally:
            os.close(fd)
        if below:
            _check_tree(root_fd, root, depth=1)
    finally:
        os.close(root_fd)


def _sanitise(db_path: Path) -> None:
    """Drop Settings keys diskcache would apply as pragmas or Disk arguments."""
    if not db_path.exists():
        return
    con = sqlite3.connect(db_path, timeout=OPEN_TIMEOUT, isolation_level=None)
    try:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        if "Settings" not in tables:
            return
        known = sorted(set(SETTINGS) | set(_METADATA))
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
        self._sink = sink
        self._seen: set[str] = set()

    def __call__(self, kind: str, message: str) -> None:
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
            os.close(os.open(db, _NEW_FILE, 0o600))
        _sanitise(db)
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
        cache = self._cache
        if cache is None:
            return False
        try:
            return key in cache
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return False

    def entries(self) -> int:
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(len(cache))
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return 0

    def volume(self) -> int:
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(cache.volume())
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return 0

    def clear(self) -> int:
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(cache.clear(retry=True))
        except Exception as error:  # sqlite, the disk, or diskcache on a planted database
            self._failed(error)
            return 0

    def close(self) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()
