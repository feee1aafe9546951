"""A planted, tampered, corrupt or unwritable cache: a miss and one warning, never code run."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import diskcache
import pytest

from tapps_lsp.cache import ResultCache
from tapps_lsp.cache.safe_disk import SETTINGS, SafeDisk

MODE_BINARY, MODE_TEXT, MODE_PICKLE = 2, 3, 4


class _CreatesFile:
    """Unpickling this creates `path`: proof that a pickle row was loaded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.path, "w"))


def _make(directory: Path, warnings: list[str], **kwargs: Any) -> ResultCache:
    return ResultCache(directory, warn=warnings.append, **kwargs)


def _plant(
    db: Path,
    key: str,
    *,
    mode: int,
    value: bytes | str | None = None,
    filename: str | None = None,
    size: int = 0,
) -> None:
    """Insert a row the way a hostile copy of cache.db would carry it."""
    now = time.time()
    con = sqlite3.connect(db)
    with con:
        con.execute(
            "INSERT OR REPLACE INTO Cache(key, raw, store_time, expire_time, access_time,"
            " access_count, tag, size, mode, filename, value)"
            " VALUES (?, 1, ?, NULL, ?, 0, NULL, ?, ?, ?, ?)",
            (key, now, now, size, mode, filename, value),
        )
    con.close()


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A cache directory that has been opened once, so cache.db has its tables."""
    directory = tmp_path / "cache"
    ResultCache(directory).close()
    return directory


def _db(directory: Path) -> Path:
    return directory / "results" / "cache.db"


def test_settings_cover_every_diskcache_setting() -> None:
    assert set(SETTINGS) == set(diskcache.DEFAULT_SETTINGS)


@pytest.mark.parametrize("in_file", [False, True], ids=["inline", "file"])
def test_pickle_row_is_never_loaded(
    planted: Path, tmp_path: Path, warnings: list[str], in_file: bool
) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_CreatesFile(str(marker)))
    if in_file:
        (planted / "results" / "ab").mkdir()
        (planted / "results" / "ab" / "x.val").write_bytes(payload)
        _plant(_db(planted), "key", mode=MODE_PICKLE, filename="ab/x.val", size=len(payload))
    else:
        _plant(_db(planted), "key", mode=MODE_PICKLE, value=payload)

    cache = _make(planted, warnings)
    assert cache.get("key") is None
    assert cache.get("key") is None
    cache.close()
    assert not marker.exists()
    assert len(warnings) == 1 and "unsafe" in warnings[0]

    # The planted row is live ammunition: stock diskcache runs it.
    diskcache.Cache(str(planted / "results")).get("key")
    assert marker.exists()


def _sentinel(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.json"
    secret.write_text('{"sentinel": "outside the cache"}')
    return secret


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_row_naming_a_file_outside_the_cache_is_not_read(
    planted: Path, tmp_path: Path, warnings: list[str], how: str
) -> None:
    secret = _sentinel(tmp_path)
    # Opened first: a link already there when the cache opens refuses the whole
    # directory (tests/security/test_cache_dir.py); this is one planted later.
    cache = _make(planted, warnings)
    if how == "absolute":
        filename = str(secret)
    elif how == "dotdot":
        filename = os.path.relpath(secret, planted / "results")
    else:
        (planted / "results" / "ab").mkdir()
        (planted / "results" / "ab" / "link.val").symlink_to(secret)
        filename = "ab/link.val"
    _plant(_db(planted), "key", mode=MODE_BINARY, filename=filename, size=10)

    assert cache.get("key") is None
    assert len(warnings) == 1 and "outside the cache" in warnings[0]

    # Storing over the row must not delete the file it names either.
    cache.put("key", {"fresh": True})
    assert cache.get("key") == {"fresh": True}
    cache.close()
    assert secret.read_text() == '{"sentinel": "outside the cache"}'

    _plant(_db(planted), "again", mode=MODE_BINARY, filename=filename, size=10)
    assert diskcache.Cache(str(planted / "results")).get("again") == secret.read_bytes()


def test_text_row_is_refused(planted: Path, warnings: list[str]) -> None:
    (planted / "results" / "ab").mkdir()
    (planted / "results" / "ab" / "t.val").write_text('{"text": 1}')
    _plant(_db(planted), "key", mode=MODE_TEXT, filename="ab/t.val")
    cache = _make(planted, warnings)
    assert cache.get("key") is None and len(warnings) == 1
    cache.close()


def test_row_that_is_not_a_json_object_is_a_miss(planted: Path, warnings: list[str]) -> None:
    _plant(_db(planted), "list", mode=1, value=b"[1, 2]")
    _plant(_db(planted), "junk", mode=1, value=b"\xff\xfe not json")
    _plant(_db(planted), "deep", mode=1, value=b"[" * 100_000)
    cache = _make(planted, warnings)
    assert cache.get("list") is None and cache.get("junk") is None and cache.get("deep") is None
    assert len(warnings) == 1 and "not a JSON object" in warnings[0]
    cache.close()


def test_large_values_in_files_inside_the_cache_are_read(
    tmp_path: Path, warnings: list[str]
) -> None:
    big = {"pad": "x" * 100_000}
    cache = _make(tmp_path / "c", warnings)
    cache.put("big", big)
    cache.close()
    assert list((tmp_path / "c" / "results").glob("*/*/*.val"))
    fresh = _make(tmp_path / "c", warnings)
    assert fresh.get("big") == big
    fresh.close()
    assert warnings == []


def test_safe_disk_refuses_pickled_keys_and_non_bytes_values(tmp_path: Path) -> None:
    disk = SafeDisk(str(tmp_path))
    with pytest.raises(TypeError):
        disk.put(("a", "tuple"))
    with pytest.raises(TypeError):
        disk.store({"a": 1}, False)
    with pytest.raises(Exception, match="pickled key"):
        disk.get(pickle.dumps("k"), False)


def _settings(db: Path) -> dict[str, Any]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT key, value FROM Settings"))
    finally:
        con.close()


def _access_time(db: Path, key: str) -> float:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT access_time FROM Cache WHERE key = ?", (key,)).fetchone()
        return float(row[0])
    finally:
        con.close()


def test_tampered_settings_table_has_no_effect(planted: Path, warnings: list[str]) -> None:
    db = _db(planted)
    cache = _make(planted, warnings, disk_bytes=1 << 20)
    cache.put("kept", {"v": 1})
    cache.close()
    tampered = {
        "eviction_policy": "least-recently-used",  # would turn reads into writes
        "size_limit": 1,  # would evict everything
        "statistics": 1,
        "disk_pickle_protocol": 0,
        "disk_min_file_size": 0,  # would move every value into a file
        "size": 10**15,  # would make every store evict
        "sqlite_query_only": 1,  # an unknown pragma: would make every store fail
        "disk_unknown": "x",  # an unknown Disk argument: would break the open
    }
    con = sqlite3.connect(db)
    with con:
        con.executemany("INSERT OR REPLACE INTO Settings VALUES (?, ?)", tampered.items())
    con.close()

    # The tampering is real: stock diskcache cannot even open this database.
    with pytest.raises(TypeError):
        diskcache.Cache(str(planted / "results"))

    before = _access_time(db, "kept")
    cache = _make(planted, warnings, disk_bytes=1 << 20)
    assert cache.get("kept") == {"v": 1}
    assert _access_time(db, "kept") == before  # least-recently-stored: a read stays a read
    for i in range(20):
        cache.put(f"k{i}", {"i": i})
    assert cache.get("kept") == {"v": 1}
    assert cache.stats()["disk"]["entries"] == 21
    assert not list((planted / "results").glob("*/*/*.val"))
    cache.close()
    settings = _settings(db)
    assert {k: settings[k] for k in SETTINGS} == {**SETTINGS, "size_limit": 1 << 20}
    assert "sqlite_query_only" not in settings and "disk_unknown" not in settings
    assert settings["size"] < 10**6
    assert warnings == []


@pytest.mark.parametrize("damage", ["truncated", "tiny", "garbage", "garbage-pages"])
def test_corrupt_database_is_moved_aside_and_rebuilt(
    tmp_path: Path, warnings: list[str], damage: str
) -> None:
    directory = tmp_path / "cache"
    cache = _make(directory, warnings)
    for i in range(200):
        cache.put(f"k{i}", {"pad": "x" * 3000, "i": i})
    cache.close()
    db = _db(directory)
    size = db.stat().st_size
    with open(db, "r+b") as f:
        if damage == "truncated":
            f.truncate(size // 2)
        elif damage == "tiny":
            f.truncate(50)
        elif damage == "garbage":
            f.write(os.urandom(size))
        else:
            f.seek(8192)
            f.write(os.urandom(20_000))

    cache = _make(directory, warnings)
    assert cache.get("k1") is None
    cache.put("new", {"ok": True})
    assert cache.get("new") == {"ok": True}
    assert cache.stats()["disk"]["enabled"]
    cache.close()
    assert len(warnings) == 1 and "moved it to" in warnings[0]
    assert len(list(db.parent.glob("cache.db.corrupt-*"))) >= 1
    fresh = _make(directory, warnings)
    assert fresh.get("new") == {"ok": True}
    fresh.close()
    assert len(warnings) == 1


def test_corruption_while_open_is_survived(tmp_path: Path, warnings: list[str]) -> None:
    directory = tmp_path / "cache"
    writer = _make(directory, warnings)
    for i in range(200):
        writer.put(f"k{i}", {"pad": "x" * 3000, "i": i})
    writer.close()
    cache = _make(directory, warnings)
    with open(_db(directory), "r+b") as f:
        f.seek(4096)
        f.write(os.urandom(_db(directory).stat().st_size - 4096))
    results = [cache.get(f"k{i}") for i in range(200)]
    assert all(r is None or r["i"] == i for i, r in enumerate(results))
    cache.put("after", {"ok": True})
    assert cache.get("after") == {"ok": True}
    cache.close()
    assert len(warnings) <= 2


def test_unusable_directory_keeps_the_memory_tier(tmp_path: Path, warnings: list[str]) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    cache = _make(blocker, warnings)
    cache.put("k", {"a": 1})
    assert cache.get("k") == {"a": 1}
    assert cache.stats()["disk"]["enabled"] is False
    cache.stat_index.record("/a.py", (1, 1, 1, 1, 1), "h")
    assert cache.stat_index.lookup("/a.py", (1, 1, 1, 1, 1)) == "h"
    cache.close()
    assert len(warnings) == 1 and "memory only" in warnings[0]


def test_full_disk_disables_the_disk_tier_once(tmp_path: Path) -> None:
    # Root ignores directory permissions, so a file size limit stands in for a
    # full disk: writes past it fail with EFBIG, as they would with ENOSPC.
    script = textwrap.dedent(
        """
        import json, resource, signal, sys
        from pathlib import Path
        from tapps_lsp.cache import ResultCache
        warnings = []
        cache = ResultCache(Path(sys.argv[1]), warn=warnings.append)
        cache.put("before", {"a": 1})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = max(p.stat().st_size for p in Path(sys.argv[1]).rglob("*") if p.is_file())
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        for i in range(50):
            cache.put(f"k{i}", {"pad": "x" * 5000, "i": i})
        got = [cache.get(f"k{i}") for i in range(50)]
        print(json.dumps({
            "warnings": warnings,
            "enabled": cache.stats()["disk"]["enabled"],
            "memory_hits": sum(g is not None for g in got),
            "before": cache.get("before"),
        }))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache")],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    report = json.loads(out.stdout)
    assert report["enabled"] is False
    assert report["memory_hits"] == 50 and report["before"] == {"a": 1}
    assert len(report["warnings"]) == 1 and "memory only" in report["warnings"][0]


def _without_privileges(command: list[str]) -> list[str]:
    """Run `command` so that directory permissions bind, even when the tests run as root."""
    if os.geteuid() != 0:
        return command
    # In a new user namespace root's files are not mapped: no DAC override.
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-U", "true"]).returncode != 0:
        pytest.skip("running as root without user namespaces: permissions cannot bind")
    return [unshare, "-U", *command]


def test_read_only_directory_keeps_the_memory_tier(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    cache = ResultCache(directory)
    cache.put("old", {"a": 1})
    cache.close()
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from tapps_lsp.cache import ResultCache
        warnings = []
        cache = ResultCache(Path(sys.argv[1]), warn=warnings.append)
        cache.put("new", {"b": 2})
        print(json.dumps({
            "warnings": warnings,
            "enabled": cache.stats()["disk"]["enabled"],
            "new": cache.get("new"),
            "mode": Path(sys.argv[1]).stat().st_mode & 0o777,
        }))
        """
    )
    for path in (directory / "results", directory):
        os.chmod(path, 0o500)
    try:
        out = subprocess.run(
            _without_privileges([sys.executable, "-c", script, str(directory)]),
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
        )
    finally:
        for path in (directory, directory / "results"):
            os.chmod(path, 0o700)
    report = json.loads(out.stdout)
    assert report["enabled"] is False and report["new"] == {"b": 2}
    assert len(report["warnings"]) == 1 and "memory only" in report["warnings"][0]
    assert report["mode"] == 0o500  # the owner's choice stands


def test_foreign_schema_is_rebuilt(tmp_path: Path, warnings: list[str]) -> None:
    db = _db(tmp_path / "cache")
    db.parent.mkdir(parents=True)
    con = sqlite3.connect(db)
    with con:
        # No UNIQUE key: diskcache's own reads would fail to unpack the duplicates.
        con.execute("CREATE TABLE Settings (key TEXT, value)")
        con.executemany("INSERT INTO Settings VALUES (?, ?)", [("count", 0), ("count", 1)])
        con.execute("CREATE TABLE Cache (x)")
    con.close()
    cache = _make(tmp_path / "cache", warnings)
    cache.put("k", {"a": 1})
    assert cache.get("k") == {"a": 1}
    assert cache.stats()["disk"]["entries"] == 1
    cache.close()
    assert len(warnings) == 1 and "moved it to" in warnings[0]


def test_duplicated_rows_are_a_miss_and_a_rebuild(planted: Path, warnings: list[str]) -> None:
    db = _db(planted)
    con = sqlite3.connect(db)
    with con:
        con.execute("DROP INDEX Cache_key_raw")
    con.close()
    _plant(db, "twice", mode=1, value=b'{"a": 1}')
    _plant(db, "twice", mode=1, value=b'{"a": 2}')
    cache = _make(planted, warnings)
    assert cache.get("twice") is None
    cache.put("twice", {"a": 3})
    assert cache.get("twice") == {"a": 3}
    cache.close()
    assert len(warnings) == 1 and "moved it to" in warnings[0]


@pytest.mark.timeout(60)
def test_row_naming_a_fifo_does_not_hang(planted: Path, warnings: list[str]) -> None:
    (planted / "results" / "ab").mkdir()
    os.mkfifo(planted / "results" / "ab" / "pipe.val")
    _plant(_db(planted), "key", mode=MODE_BINARY, filename="ab/pipe.val", size=10)
    cache = _make(planted, warnings)
    assert cache.get("key") is None
    cache.close()
    assert len(warnings) == 1 and "not a regular file" in warnings[0]


# ---- the cache directory: ours alone, or not used (issue 13, item 10) ----------------------


def _modes(directory: Path) -> dict[str, int]:
    return {
        str(p.relative_to(directory)): p.lstat().st_mode & 0o7777
        for p in [directory, *directory.rglob("*")]
    }


def test_what_we_create_is_private_whatever_the_umask(tmp_path: Path, warnings: list[str]) -> None:
    directory = tmp_path / "new" / "cache"
    old = os.umask(0o002)  # group-writable by default, as with user private groups
    try:
        cache = _make(directory, warnings)
        cache.put("big", {"text": "x" * 40_000})  # over 32 KiB: a value file in a subfolder
        cache.stat_index.record("/a.py", (1, 1, 1, 1, 1), "h")
        cache.close()
        again = _make(directory, warnings)
        assert again.get("big") == {"text": "x" * 40_000}
        assert again.stats()["disk"]["enabled"] and again.refused is None
        again.close()
    finally:
        os.umask(old)
    assert warnings == []
    modes = _modes(directory)
    assert any(name.endswith(".val") for name in modes), modes
    for name, mode in modes.items():
        is_dir = (directory / name).is_dir()
        assert mode == (0o700 if is_dir else 0o600), (name, oct(mode))
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700  # a parent we created


def test_a_file_others_can_write_inside_refuses_the_directory(
    tmp_path: Path, warnings: list[str]
) -> None:
    directory = tmp_path / "cache"
    _make(directory, warnings).close()
    db = directory / "results" / "cache.db"
    os.chmod(db, 0o666)
    cache = _make(directory, warnings)
    assert cache.refused is not None and "cache.db is writable by other users" in cache.refused
    cache.put("k", {"a": 1})
    assert cache.get("k") == {"a": 1}  # the memory tier works
    cache.close()
    assert len(warnings) == 1 and "memory only" in warnings[0]
    assert db.stat().st_mode & 0o777 == 0o666  # not ours to repair


@pytest.mark.parametrize(("mode", "refused"), [(0o777, True), (0o1777, False), (0o755, False)])
def test_a_parent_others_can_rename_in_refuses_the_directory(
    tmp_path: Path, warnings: list[str], mode: int, refused: bool
) -> None:
    # Without the sticky bit, anyone who can write to the parent can swap our cache for theirs.
    parent = tmp_path / "parent"
    parent.mkdir()
    os.chmod(parent, mode)
    cache = _make(parent / "cache", warnings)
    assert (cache.refused is not None) is refused, cache.refused
    if refused:
        assert cache.refused is not None and "a folder above the cache" in cache.refused
    cache.close()
    assert parent.stat().st_mode & 0o7777 == mode
