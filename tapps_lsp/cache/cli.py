"""Text for `tapps-lsp cache stats|clear|path`; `tapps_lsp.cli` parses the arguments."""

from __future__ import annotations

import json
from typing import Any

from tapps_lsp.cache.store import ResultCache


def _size(count: int) -> str:
    amount = float(count)
    for unit in ("B", "KiB", "MiB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def _rate(hits: int, misses: int) -> str:
    looked_up = hits + misses
    return f"{hits / looked_up:.0%}" if looked_up else "n/a"


def remote_line(remote: dict[str, Any]) -> str:
    """One line about the team cache: where, whether it answers, its counters and breaker."""
    if not remote.get("enabled"):
        return f"Remote: off ({remote.get('reason', 'not configured')})"
    mode = "read-write" if remote.get("write") else "read-only"
    where = f"Remote: {remote['url']} ({mode}{', cluster' if remote.get('cluster') else ''})"
    if "reachable" in remote:  # `cache stats` from the command line asked it just now
        if remote["reachable"]:
            return f"{where}: reachable, {remote['keys']} keys"
        return f"{where}: unreachable ({remote['problem']})"
    return (
        f"{where}: {remote['hits']} hits, {remote['misses']} misses, {remote['rejected']} "
        f"rejected, {remote['errors']} errors, {remote['writes']} written; "
        f"breaker {remote['breaker']}"
    )


def cmd_stats(cache: ResultCache, *, as_json: bool = False) -> str:
    """Entries and bytes per tier, lookups of every process that used the cache directory."""
    stats = cache.stats()
    probe = getattr(cache.remote, "probe", None)
    if callable(probe):
        stats["remote"].update(probe())
    if as_json:
        return json.dumps(stats, indent=2)
    memory, disk, lifetime = stats["memory"], stats["disk"], stats["lifetime"]
    lines = [f"Cache directory: {cmd_path(cache)}"]
    if disk["enabled"]:
        lines.append(
            f"Disk:   {disk['entries']} results, {_size(disk['bytes'])} of {_size(disk['limit'])}"
        )
    else:
        lines.append("Disk:   not in use")
    lines.append(
        f"Memory: {memory['entries']} results, {_size(memory['bytes'])} of {_size(memory['limit'])}"
        " (this process)"
    )
    since = f" since {lifetime['since']}" if lifetime.get("since") else ""
    lines.append(
        f"Lookups{since}, every server and check run: {lifetime['hits']} hits, "
        f"{lifetime['misses']} misses (hit rate {_rate(lifetime['hits'], lifetime['misses'])})"
    )
    if "remote" in stats:
        lines.append(remote_line(stats["remote"]))
    return "\n".join(lines)


def cmd_clear(cache: ResultCache) -> str:
    """Remove the local results; the team cache is left alone."""
    count = cache.clear()
    if cache.refused:
        return f"Removed nothing from {cmd_path(cache)}"
    return f"Removed {count} cached result{'s' if count != 1 else ''} from {cmd_path(cache)}"


def cmd_path(cache: ResultCache) -> str:
    """The cache directory, or a note that the cache lives in memory."""
    if cache.directory is None:
        return "(memory only)"
    if cache.refused:  # another user could read or write it: never used, never changed
        return f"{cache.directory} (refused, memory only: {cache.refused})"
    return str(cache.directory)
