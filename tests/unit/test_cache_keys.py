"""Cache identity: content hash, engine fingerprint, key."""

from __future__ import annotations

import dataclasses
import importlib.metadata

import pytest
import xxhash

from tapps_lsp.cache import content_hash, fingerprint, make_key, tool_versions
from tapps_lsp.config import Settings


@pytest.fixture(autouse=True)
def _fresh_versions():
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
    real = importlib.metadata.version

    def version(name: str) -> str:
        return "999.0" if name == distribution else real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
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
def test_fingerprint_changes_with_a_result_affecting_setting(change: dict) -> None:
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
def test_fingerprint_ignores_scoring_and_presentation_settings(change: dict) -> None:
    # Scores are computed when rendering: changing them must keep the cache.
    assert fingerprint(dataclasses.replace(Settings(), **change)) == fingerprint(Settings())


def test_equal_settings_objects_share_a_fingerprint() -> None:
    assert fingerprint(Settings(lineLength=90)) == fingerprint(Settings(lineLength=90))


def test_keys_differ_by_content_and_by_fingerprint() -> None:
    a, b = content_hash("a = 1\n"), content_hash("a = 2\n")
    f1, f2 = fingerprint(Settings()), fingerprint(Settings(lineLength=80))
    assert len({make_key(a, f1), make_key(b, f1), make_key(a, f2), make_key(b, f2)}) == 4
