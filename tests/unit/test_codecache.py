"""codecache.py: attrs' and cattrs' generated code, compiled once and kept between starts."""

from __future__ import annotations

import builtins
import json
import marshal
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tapps_lsp import codecache


@pytest.fixture(autouse=True)
def _bytecode_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # PYTHONDONTWRITEBYTECODE keeps the file from being written, as it keeps .pyc files.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


# A start in a fresh interpreter: the cache installed, lsprotocol imported, one message
# type converted (cattrs generates its converter), the cache saved.
START = """
import json, sys
from pathlib import Path
import pytest

from tapps_lsp import codecache


@pytest.fixture(autouse=True)
def _bytecode_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # PYTHONDONTWRITEBYTECODE keeps the file from being written, as it keeps .pyc files.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
cache = codecache.install(Path(sys.argv[1]))
from lsprotocol import types
from lsprotocol.converters import get_converter
params = get_converter().structure(
    {"textDocument": {"uri": "file:///a.py"}, "position": {"line": 1, "character": 2}},
    types.HoverParams,
)
hits, misses = cache.hits, cache.misses
codecache.save()
import attr._make, cattrs.gen
print(json.dumps({
    "hits": hits,
    "misses": misses,
    "equal": types.Position(1, 2) == params.position,
    "repr": repr(types.Position(1, 2)),
    "restored": "compile" not in vars(attr._make) and "compile" not in vars(cattrs.gen),
}))
"""


def _start(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-I", "-c", START, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(done.stdout))


def test_a_second_start_compiles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "__pycache__" / "generated.marshal"
    first = _start(path)
    assert first["hits"] == 0 and int(str(first["misses"])) > 500  # lsprotocol's classes
    assert path.is_file() and not path.stat().st_mode & 0o077
    second = _start(path)
    assert second["misses"] == 0 and second["hits"] == first["misses"]
    for start in (first, second):
        assert start["equal"] is True and start["repr"] == "1:2"
        assert start["restored"] is True


SOURCE = "def __init__(self, x: Unknown, y=(1, 'a')):\n    self.x = x\n    self.y = y\n"


def _same(a: types.CodeType, b: types.CodeType) -> bool:
    return marshal.dumps(a) == marshal.dumps(b)


def test_the_code_is_the_builtins_with_the_generators_future(tmp_path: Path) -> None:
    cache = codecache.CodeCache(tmp_path / "cache.marshal")
    code = cache.compile(SOURCE, "<attrs generated methods m.C>", "exec")
    # attr._make and cattrs.gen compile under `from __future__ import annotations`.
    expected = builtins.compile(
        SOURCE, "<attrs generated methods m.C>", "exec", codecache._FLAGS, True
    )
    assert _same(code, expected) and (cache.hits, cache.misses) == (0, 1)
    namespace: dict[str, object] = {}
    exec(code, namespace)
    assert namespace["__init__"].__annotations__ == {"x": "Unknown"}
    cache.write()
    again = codecache.CodeCache(tmp_path / "cache.marshal")
    assert _same(again.compile(SOURCE, "<attrs generated methods m.C>", "exec"), expected)
    assert (again.hits, again.misses) == (1, 0)
    # Another file name is another entry.
    again.compile(SOURCE, "<attrs generated methods m.D>", "exec")
    assert again.misses == 1


def test_a_file_that_is_not_private_or_not_ours_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "cache.marshal"
    cache = codecache.CodeCache(path)
    cache.compile(SOURCE, "<f>", "exec")
    cache.write()
    assert len(codecache._load(path)) == 1
    os.chmod(path, 0o664)  # group-writable: anyone in the group could plant code
    assert codecache._load(path) == {}
    for data in (b"\x00garbage", marshal.dumps(["not", "a", "dict"]), marshal.dumps({b"k": 1})):
        path.write_bytes(data)
        os.chmod(path, 0o600)
        assert codecache._load(path) == {}
    # Nothing read: every entry is compiled and the file written anew.
    fresh = codecache.CodeCache(path)
    fresh.compile(SOURCE, "<f>", "exec")
    fresh.write()
    assert len(codecache._load(path)) == 1


def test_nothing_is_written_when_nothing_was_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cache.marshal"
    cache = codecache.CodeCache(path)
    cache.compile(SOURCE, "<f>", "exec")
    cache.write()
    stamp = path.stat().st_mtime_ns
    path.touch()
    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))
    hit = codecache.CodeCache(path)
    hit.compile(SOURCE, "<f>", "exec")
    hit.write()
    assert path.stat().st_mtime_ns == stamp - 10**9
    # Nor when bytecode is not written (PYTHONDONTWRITEBYTECODE, -B).
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    other = codecache.CodeCache(tmp_path / "other.marshal")
    other.compile(SOURCE, "<g>", "exec")
    other.write()
    assert not (tmp_path / "other.marshal").exists()
