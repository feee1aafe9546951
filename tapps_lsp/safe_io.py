"""Reading files a workspace controls, and showing values it controls.

A cloned repository is untrusted input. Every file we read from one goes
through `read_inside`:

- it must lie inside the folder once every link is resolved (a symlink to
  `/dev/zero`, `/proc/self/fd/0` or `~/.ssh` is refused, not followed);
- the last component is opened with `O_NOFOLLOW | O_NONBLOCK`, so a link
  swapped in after the check is refused and a FIFO never blocks the open;
- it must be a regular file (no FIFO, socket or device);
- it is read with a size cap, and a file that grows past the cap while we
  read it is refused too.

These functions block on the disk: call them from a worker thread
(`asyncio.to_thread`) or a worker process, never on the event loop.

`brief` formats a value a workspace gave us in bounded time and space.
"""

from __future__ import annotations

import errno
import os
import reprlib
import stat

# A settings or data file bigger than this is not one we should read.
CONFIG_CAP = 1 << 20

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class UnsafeRead(OSError):
    """A workspace file we refuse to read; `str()` says why, in words for a user."""


def is_inside(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """Whether `path`, with every link resolved, lies inside `root` (resolved too)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def read_inside(
    root: str | os.PathLike[str], path: str | os.PathLike[str], cap: int = CONFIG_CAP
) -> bytes:
    """The bytes of `path`, a regular file inside `root`, at most `cap` of them.

    Raises `UnsafeRead` (an `OSError`) saying why when the file is outside the
    folder, not a regular file or larger than the cap; `FileNotFoundError` when
    it does not exist; other `OSError`s as the system reports them.
    """
    real = os.path.realpath(path)
    if not is_inside(root, real):
        raise UnsafeRead(f"{path}: links outside the workspace folder; not read")
    return read_regular(real, cap)


def read_regular(path: str | os.PathLike[str], cap: int) -> bytes:
    """The bytes of a regular file, not following a final symlink, at most `cap` of them."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeRead(f"{path}: is a symbolic link; not read") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeRead(f"{path}: not a regular file; not read")
        if st.st_size > cap:
            raise UnsafeRead(f"{path}: {st.st_size:,} bytes, over the limit of {cap:,}; not read")
        chunks = []
        left = cap + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > cap:
        raise UnsafeRead(f"{path}: grew over the limit of {cap:,} bytes while read; not read")
    return data


# The largest source file a review reads (maxFileSize's ceiling).
SOURCE_CAP = 64 << 20
# A workspace's source files may be symlinks (discovery keeps links inside the root), so
# these follow them; non-blocking, so that a FIFO named like a source file never blocks.
_SOURCE_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_source_bytes(
    path: str | os.PathLike[str], cap: int = SOURCE_CAP
) -> tuple[os.stat_result, bytes | None]:
    """A source file's status, from the open descriptor, and its bytes (None when over `cap`).

    The one way a workspace source file is read (the scan workers, the texts of
    diagnostics and exports, tapps.reviewFile). Raises `FileNotFoundError`,
    `UnsafeRead` when it is not a regular file, other `OSError`s as the system
    reports them. Blocks on the disk: call it in a thread, never on the event loop.
    """
    fd = os.open(path, _SOURCE_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeRead(f"{path}: not a regular file; not read")
        if st.st_size > cap:
            return st, None
        with open(fd, "rb", closefd=False) as f:
            data = f.read(cap + 1)
    finally:
        os.close(fd)
    return st, (data if len(data) <= cap else None)


def read_source_text(path: str | os.PathLike[str], cap: int = SOURCE_CAP) -> str:
    """`read_source_bytes` decoded as the engine decodes (undecodable bytes kept as
    surrogates); `UnsafeRead` when the file is over `cap`."""
    st, data = read_source_bytes(path, cap)
    if data is None:
        raise UnsafeRead(f"{path}: {st.st_size:,} bytes, over the limit of {cap:,}; not read")
    return data.decode("utf-8", "surrogateescape")


def read_text_inside(
    root: str | os.PathLike[str], path: str | os.PathLike[str], cap: int = CONFIG_CAP
) -> str:
    """`read_inside`, decoded as UTF-8 with undecodable bytes replaced."""
    return read_inside(root, path, cap).decode("utf-8", "replace")


def try_read_text_inside(
    root: str | os.PathLike[str] | None,
    path: str | os.PathLike[str],
    cap: int = CONFIG_CAP,
) -> str | None:
    """`read_text_inside`, or None when the file is missing, refused or unreadable."""
    if root is None:
        return None
    try:
        return read_text_inside(root, path, cap)
    except OSError:
        return None


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel = 3
_BRIEF.maxlist = _BRIEF.maxtuple = _BRIEF.maxdict = _BRIEF.maxset = 6
_BRIEF.maxstring = _BRIEF.maxother = 60
_BRIEF.maxlong = 40


def brief(value: object, limit: int = 80) -> str:
    """A short repr of an untrusted value: bounded in nesting, items and characters.

    `repr()` of a YAML alias bomb or a 1 MB string is gigabytes or megabytes;
    this is at most `limit` characters, computed in bounded time.
    """
    text = _BRIEF.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
