"""Text for `tapps-lsp cache stats|clear|path`; `tapps_lsp.cli` parses the arguments."""

from __future__ import annotations

import json

from tapps_lsp.cache.store import ResultCache


def _size(count: int) -> str:
    amount = float(count)
    for unit in ("B", "KiB", "MiB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def cmd_stats(cache: ResultCache, *, as_json: bool = False) -> str:
    """Entries and bytes per tier; hits and misses are those of this process."""
    stats = cache.stats()
    if as_json:
        return json.dumps(stats, indent=2)
    memory, disk = stats["memory"], stats["disk"]
    lines = [f"Cache directory: {cmd_path(cache)}"]
    if disk["enabled"]:
        lines.append(
            f"Disk:   {disk['entries']} results, {_size(disk['bytes'])} of {_size(disk['limit'])}"
        )
    else:
        lines.append("Disk:   not in use")
    lines.append(
        f"Memory: {memory['entries']} results, {_size(memory['bytes'])} of {_size(memory['limit'])}"
    )
    lines.append(
        f"Lookups: {stats['hits']} hits, {stats['misses']} misses (hit rate {stats['hitRate']:.0%})"
    )
    return "\n".join(lines)


def cmd_clear(cache: ResultCache) -> str:
    count = cache.clear()
    return f"Removed {count} cached result{'s' if count != 1 else ''} from {cmd_path(cache)}"


def cmd_path(cache: ResultCache) -> str:
    return str(cache.directory) if cache.directory is not None else "(memory only)"
