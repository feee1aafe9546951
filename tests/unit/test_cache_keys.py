"""Cache identity: content hash, engine fingerprint, key."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
from collections.abc import Iterator
from typing import Any

import pytest
import xxhash

from tapps_lsp.cache import content_hash, fingerprint, make_key
from tapps_lsp.config import Settings
from tapps_lsp.review import versions
from tapps_lsp.review.versions import tool_versions


@pytest.fixture(autouse=True)
def _fresh_versions() -> Iterator[None]:
    tool_versions.cache_clear()
    yield
    tool_versions.cache_clear()


def test_content_hash_is_xxh3_128_of_utf8() -> None:
    text = "def f():\n    return 'é'\n"
    assert content_hash(text) == xxhash.xxh3_128(text.encode("utf-8")).hexdigest()
    assert content_hash(text) != content_hash(text + "\n")


def test_content_hash_accepts_lone_surrogates() -> None:
    # Editors can send them; hashing must not fail, and they must not collide.
    assert content_hash("x = '\ud800'") != content_hash("x = '\ud801'")


def test_tool_versions_name_every_analyzer() -> None:
    versions = tool_versions()
    assert set(versions) == {"tapps-lsp", "ruff", "radon", "bandit", "mypy"}
    assert versions["ruff"] == importlib.metadata.version("ruff")


def _bump(monkeypatch: pytest.MonkeyPatch, distribution: str) -> None:
    real = versions.installed_version

    def version(name: str, found: Any = None) -> str | None:
        return "999.0" if name == distribution else real(name, found)

    monkeypatch.setattr(versions, "installed_version", version)
    tool_versions.cache_clear()


@pytest.mark.parametrize("tool", ["ruff", "radon", "bandit"])
def test_fingerprint_changes_with_a_tool_version(
    monkeypatch: pytest.MonkeyPatch, tool: str
) -> None:
    settings = Settings()
    before = fingerprint(settings)
    _bump(monkeypatch, tool)
    assert fingerprint(settings) != before


def test_mypy_version_counts_only_when_mypy_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    off, on = Settings(), Settings(mypyEnabled=True)
    before_off, before_on = fingerprint(off), fingerprint(on)
    _bump(monkeypatch, "mypy")
    assert fingerprint(off) == before_off
    assert fingerprint(on) != before_on


@pytest.mark.parametrize(
    "change",
    [
        {"lintSelect": ["E", "F"]},
        {"lintIgnore": []},
        {"lineLength": 88},
        {"complexityThreshold": 5},
        {"maxFileSize": 1000},
        {"mypyEnabled": True},
        {"severityOverrides": {"W": "hint"}},
    ],
)
def test_fingerprint_changes_with_a_result_affecting_setting(change: dict[str, Any]) -> None:
    assert fingerprint(dataclasses.replace(Settings(), **change)) != fingerprint(Settings())


@pytest.mark.parametrize(
    "change",
    [
        {"qualityThreshold": 90.0},
        {"weights": {"security": 1.0}},
        {"exclude": ["build/**"]},
        {"run": "onType"},
    ],
)
def test_fingerprint_ignores_scoring_and_presentation_settings(change: dict[str, Any]) -> None:
    # Scores are computed when rendering: changing them must keep the cache.
    assert fingerprint(dataclasses.replace(Settings(), **change)) == fingerprint(Settings())


def test_equal_settings_objects_share_a_fingerprint() -> None:
    assert fingerprint(Settings(lineLength=90)) == fingerprint(Settings(lineLength=90))


def test_keys_differ_by_content_and_by_fingerprint() -> None:
    a, b = content_hash("a = 1\n"), content_hash("a = 2\n")
    f1, f2 = fingerprint(Settings()), fingerprint(Settings(lineLength=80))
    keys = {make_key(h, f, "m.py") for h in (a, b) for f in (f1, f2)}
    assert len(keys) == 4


def test_ordinary_modules_share_a_key_and_a_package_or_stub_does_not() -> None:
    digest, fp = content_hash("import os\n"), fingerprint(Settings())
    ordinary = {make_key(digest, fp, p) for p in ("/w/a.py", "/x/b.py", "c", "/w/_private.py")}
    assert len(ordinary) == 1
    names = ("/w/pkg/__init__.py", "/w/a.pyi", "/w/__init__.pyi")
    special = {make_key(digest, fp, p) for p in names}
    assert len(special) == 3 and not special & ordinary


@pytest.mark.parametrize(
    ("select", "same", "different"),
    [
        (["D"], ("/w/a.py", "/w/b.py"), ("/w/a.py", "/w/_a.py")),
        (["D1"], ("/w/a.py", "/w/__main__.py"), ("/w/x.py", "/w/_x.py")),
        (["N"], ("/w/a.py", "/v/a.py"), ("/w/a.py", "/w/Bad-Name.py")),
        (["A005"], ("/w/a.py", "/v/a.py"), ("/w/a.py", "/w/logging.py")),
        (["PLW"], ("/w/a.py", "/v/a.py"), ("/w/a.py", "/w/b.py")),
        (["ALL"], ("/w/a.py", "/v/a.py"), ("/w/a.py", "/w/_a.py")),
    ],
)
def test_names_count_when_the_selected_rules_read_them(
    select: list[str], same: tuple[str, str], different: tuple[str, str]
) -> None:
    digest, fp = content_hash("import os\n"), fingerprint(Settings(lintSelect=select))
    assert make_key(digest, fp, same[0]) == make_key(digest, fp, same[1])
    assert make_key(digest, fp, different[0]) != make_key(digest, fp, different[1])


def test_a_name_that_is_not_utf8_still_makes_a_text_key() -> None:
    fp = fingerprint(Settings(lintSelect=["ALL"]))
    key = make_key(content_hash(""), fp, os.fsdecode(b"/w/caf\xe9.py"))
    key.encode("utf-8")  # SQLite text: must not raise
