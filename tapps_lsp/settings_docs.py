"""The settings reference of docs/configuration.md, generated from the schema."""

from __future__ import annotations

import json

from tapps_lsp.config import ENUMS, FIELDS, MACHINE_LIMITS, USER_ONLY, default_value

# The ceilings in words, for docs/configuration.md (JOBS_CEILING depends on the machine).
CEILINGS = {
    "maxFileSize": "at most 64 MiB",
    "fileBudget": "at most 30",
    "toolTimeout": "at most 120",
    "jobs": "at most 2 per core and 32 in all",
}


def _type_name(name: str) -> str:
    default = default_value(name)
    if name in ENUMS:
        return " \\| ".join(f'`"{v}"`' for v in ENUMS[name])
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "string[]"}.get(
        type(default), "object"
    )


def markdown_table() -> str:
    """The settings reference of docs/configuration.md, generated from the schema."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, f in FIELDS.items():
        default = json.dumps(default_value(name))
        doc = f.metadata["doc"].replace("|", "\\|")
        notes = []
        if f.metadata.get("affects_results"):
            notes.append("changes the cache key")
        if f.metadata.get("restart"):
            notes.append("needs a server restart")
        if name in MACHINE_LIMITS:
            notes.append(f"a machine limit: {CEILINGS[name]}; a workspace may only lower it")
        if name in USER_ONLY:
            notes.append("user-only: a workspace may not set it")
        if notes:
            doc += f" ({'; '.join(notes)})"
        rows.append(f"| `tapps.{name}` | {_type_name(name)} | `{default}` | {doc} |")
    return "\n".join(rows) + "\n"
