"""The cache directory's ownership checks: ours alone, writable by nobody else, no links.

What gopls and ssh do (see `make_private_dir`): a directory another local
user could read, replace or write into is refused, never repaired.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


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
