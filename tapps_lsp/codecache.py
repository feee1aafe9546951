"""Start-up: the code attrs and cattrs generate, kept from one server start to the next.

pygls imports `lsprotocol.types`, about 570 attrs classes whose methods attrs
writes as Python source and compiles at import; cattrs does the same for each
message type the first time it converts one. Compiling is about 40 % of the
server's start-up CPU (130 ms). `install()` puts a caching `compile` in those two
modules: the code objects are kept in a file in our package's `__pycache__`,
beside our own bytecode, so whoever can change that file can already change what
the server runs (only a file of ours or root's, writable by nobody else, is read).

Each entry is keyed by a hash of the generated source, its file name and mode,
and the file's name carries the interpreter's cache tag and optimisation level,
so another attrs, cattrs or lsprotocol only misses. `save()`, once start-up is
over, rewrites the file with the entries this start used when it compiled any,
and puts the plain `compile` back: the entries are not held any longer.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import logging
import marshal
import os
import stat
import sys
import threading
import types
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# attrs' and cattrs' code generators: each calls the builtin `compile` by its name.
PATCHED = ("attr._make", "cattrs.gen")
# Both modules compile with `from __future__ import annotations` in force (the name
# that import binds is the feature itself).
_FLAGS = annotations.compiler_flag
# A file bigger than this is not ours (the server's own is about 1.3 MB).
_MAX_BYTES = 32 * 1024 * 1024


def default_path() -> Path:
    """`__pycache__/generated-code.<cache tag>[.opt-N].marshal` beside this module."""
    tag = sys.implementation.cache_tag or "none"
    opt = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    return Path(__file__).resolve().parent / "__pycache__" / f"generated-code.{tag}{opt}.marshal"


def _trusted(st: os.stat_result) -> bool:
    """A regular file of ours or root's that nobody else may write."""
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_uid in (os.getuid(), 0)
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and st.st_size <= _MAX_BYTES
    )


def _load(path: Path) -> dict[bytes, types.CodeType]:
    """The entries of `path`; nothing when it is missing, not trusted or not ours."""
    try:
        with open(path, "rb") as file:
            if not _trusted(os.fstat(file.fileno())):
                log.info("not reading %s: not a private file of this user", path)
                return {}
            data = marshal.loads(file.read())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, EOFError, TypeError) as exc:
        log.info("not reading %s: %s", path, exc)
        return {}
    if not isinstance(data, dict) or not all(
        isinstance(k, bytes) and isinstance(v, types.CodeType) for k, v in data.items()
    ):
        return {}
    return data


class CodeCache:
    """Compiled code by a hash of its source; `compile` is the builtin's stand-in."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stored = _load(path)
        self._used: dict[bytes, types.CodeType] = {}
        self.misses = 0
        self._lock = threading.Lock()

    @property
    def hits(self) -> int:
        """Entries of the file this process has used."""
        return len(self._used) - self.misses

    def compile(
        self,
        source: Any,
        filename: Any,
        mode: str,
        flags: int = 0,
        dont_inherit: bool = False,
        optimize: int = -1,
    ) -> Any:
        """The builtin's result for generated source text, from the file when it has it."""
        if not isinstance(source, str) or flags or dont_inherit or optimize != -1:
            return builtins.compile(source, filename, mode, flags, dont_inherit, optimize)
        key = hashlib.blake2b(
            f"{filename}\0{mode}\0{source}".encode("utf-8", "surrogatepass"), digest_size=16
        ).digest()
        with self._lock:
            code = self._stored.get(key) or self._used.get(key)
        if code is None:
            code = builtins.compile(source, filename, mode, _FLAGS, True)
            with self._lock:
                self.misses += 1
        with self._lock:
            self._used[key] = code
        return code

    def write(self) -> None:
        """Replace the file with the entries used, if any had to be compiled."""
        with self._lock:
            if not self.misses or sys.dont_write_bytecode:
                return
            data = marshal.dumps(dict(self._used))
        import tempfile  # (with random and shutil) only when there is something to write

        folder = self.path.parent
        try:
            folder.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".generated-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:  # a read-only installation: every start compiles
            log.debug("cannot write %s: %s", self.path, exc)


_active: CodeCache | None = None


def install(path: Path | None = None) -> CodeCache | None:
    """Compile attrs' and cattrs' generated code through a CodeCache until `save()`.

    Call it before `lsprotocol.types` is imported. None when either generator is not
    importable or no longer compiles by the builtin's name (then nothing is patched).
    """
    global _active
    if _active is not None:
        return _active
    try:
        modules = [__import__(name, fromlist=["_"]) for name in PATCHED]
    except ImportError:
        return None
    if any("compile" in vars(module) for module in modules):
        return None
    _active = CodeCache(path or default_path())
    for module in modules:
        module.compile = _active.compile  # type: ignore[attr-defined]
    return _active


def save() -> None:
    """Start-up is over: write the file if it changed and compile as before."""
    global _active
    cache, _active = _active, None
    if cache is None:
        return
    for name in PATCHED:
        module = sys.modules.get(name)
        if module is not None and vars(module).get("compile") == cache.compile:
            del module.compile
    log.debug("generated code: %d from %s, %d compiled", cache.hits, cache.path, cache.misses)
    cache.write()
