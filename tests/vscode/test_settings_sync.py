"""The VS Code extension contributes exactly the server's settings schema.

`tapps_lsp/config.py` is the one schema; `vscode-client/package.json` must
offer each of its keys as `tapps.<key>` with the same description, type,
default and bounds, plus the client's own keys, and nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tapps_lsp import config

CLIENT = Path(__file__).resolve().parents[2] / "vscode-client"
CLIENT_KEYS = {"tapps.interpreter", "tapps.trace.server"}
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
# Server-wide settings: one server process serves every folder.
WINDOW_SCOPED = {"jobs", "logLevel"}


def _contributed() -> dict[str, dict[str, Any]]:
    manifest = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))
    properties: dict[str, dict[str, Any]] = manifest["contributes"]["configuration"]["properties"]
    return properties


FIELDS = [pytest.param(f, id=f.name) for f in dataclasses.fields(config.Settings)]


def test_same_keys() -> None:
    server_keys = {f"tapps.{f.name}" for f in dataclasses.fields(config.Settings)}
    assert set(_contributed()) == server_keys | CLIENT_KEYS


@pytest.mark.parametrize("field", FIELDS)
def test_same_schema(field: dataclasses.Field[Any]) -> None:
    prop = _contributed()[f"tapps.{field.name}"]
    default = config.default_value(field.name)
    assert prop["description"] == field.metadata["doc"]
    assert prop["default"] == default
    assert prop["type"] == JSON_TYPES.get(type(default), "object")
    # User-only keys: VS Code ignores a workspace's value of a machine-scoped setting.
    scope = "machine" if field.name in config.USER_ONLY else "resource"
    assert prop["scope"] == ("window" if field.name in WINDOW_SCOPED else scope)
    enum = config.ENUMS.get(field.name)
    assert prop.get("enum") == (list(enum) if enum else None)
    bounds = config.BOUNDS.get(field.name)
    assert (prop.get("minimum"), prop.get("maximum")) == (bounds if bounds else (None, None))


def test_weights_and_severities_offer_the_server_values() -> None:
    props = _contributed()
    assert set(props["tapps.weights"]["properties"]) == set(config.CATEGORIES)
    severities = props["tapps.severityOverrides"]["additionalProperties"]["enum"]
    assert severities == list(config.SEVERITIES)


def test_client_restarts_on_exactly_the_settings_read_at_start() -> None:
    source = (CLIENT / "src" / "common" / "settings.ts").read_text(encoding="utf-8")
    listed = re.search(r"RESTART_SETTINGS = \[([^\]]*)\]", source)
    assert listed, "RESTART_SETTINGS not found in settings.ts"
    restart = set(re.findall(r"'([^']+)'", listed.group(1)))
    server_restart = {
        f"tapps.{f.name}" for f in dataclasses.fields(config.Settings) if f.metadata["restart"]
    }
    assert restart == server_restart | {"tapps.interpreter"}


def test_interpreter_is_restricted_in_untrusted_workspaces() -> None:
    manifest = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))
    untrusted = manifest["capabilities"]["untrustedWorkspaces"]
    assert untrusted["supported"] == "limited"
    # Restricted Mode also ignores a workspace's machine limits and user-only keys outright.
    guarded = sorted(f"tapps.{key}" for key in config.MACHINE_LIMITS | config.USER_ONLY)
    assert untrusted["restrictedConfigurations"][0] == "tapps.interpreter"
    assert sorted(untrusted["restrictedConfigurations"][1:]) == guarded
    assert manifest["contributes"]["configuration"]["properties"]["tapps.interpreter"]["scope"] == (
        "machine-overridable"
    )


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_vscode_types_not_newer_than_the_engine() -> None:
    """APIs typed for a newer VS Code than `engines.vscode` would fail at run time."""
    manifest = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))
    types = manifest["devDependencies"]["@types/vscode"]
    assert _version(types) <= _version(manifest["engines"]["vscode"])
