"""The seam between `ResultCache` and its tiers: memory, disk, and (optionally) remote.

A tier maps cache keys to results. It is asked for a batch of keys at once
(a scan asks for a chunk, a save for one), is given results in batches (one
disk transaction, one Redis pipeline), counts its own hits and misses, and
never raises: a tier that fails is a miss, with one warning.

`ResultCache` holds its tiers in a list, fastest first, and a hit in a later
tier is written to the earlier ones. A tier whose `remote` is true may wait
on the network: `ResultCache.get` (the synchronous path of a save, on the
event loop) never asks it; scans ask it from a thread, and a save asks it
with a time budget (`ResultCache.get_remote`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from tapps_lsp.cache.disk import DiskTier, WarnOnce


@dataclass(frozen=True)
class Stored:
    """One result on its way into a tier: its key, the decoded dict and its JSON bytes."""

    key: str
    value: dict[str, Any]
    blob: bytes


@dataclass(frozen=True)
class Found:
    """One result a tier had: the decoded dict and, when the tier kept it, its JSON bytes."""

    value: dict[str, Any]
    blob: bytes | None = None


@runtime_checkable
class Tier(Protocol):
    """What `ResultCache` needs of a tier."""

    name: str
    remote: bool

    def get_many(self, keys: Sequence[str]) -> dict[str, Found]:
        """The results this tier holds for `keys` (absent keys are misses)."""
        ...

    def put_many(self, items: Sequence[Stored]) -> None:
        """Store results, as one batch where the tier can."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counters and sizes, as JSON-ready values."""
        ...

    def clear(self) -> int:
        """Forget what this tier holds that this process may forget; returns a count."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


def encode(value: dict[str, Any]) -> bytes:
    """The JSON bytes every tier stores (compact, as the disk tier always stored them)."""
    return json.dumps(value, separators=(",", ":")).encode()


def decode(blob: bytes) -> dict[str, Any] | None:
    """A stored JSON object, or None when the bytes are not one."""
    try:
        value = json.loads(blob)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class DiskResults:
    """The disk tier (diskcache, hardened in safe_disk.py) seen as a `Tier` of JSON results."""

    name = "disk"
    remote = False

    def __init__(self, tier: DiskTier, warn: WarnOnce) -> None:
        self.tier = tier
        self._warn = warn
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: Sequence[str]) -> dict[str, Found]:
        """Each key read from diskcache and decoded; a row that is not a JSON object is a miss."""
        found: dict[str, Found] = {}
        for key in keys:
            blob = self.tier.get(key)
            if blob is None:
                continue
            value = decode(blob)
            if value is None:
                self._warn("unreadable", f"ignored a cache entry that is not a JSON object ({key})")
                continue
            found[key] = Found(value, blob)
        self.hits += len(found)
        self.misses += len(keys) - len(found) if self.tier.enabled else 0
        return found

    def put_many(self, items: Sequence[Stored]) -> None:
        """Store in one transaction."""
        self.tier.put_many([(item.key, item.blob) for item in items])

    def __contains__(self, key: str) -> bool:
        return key in self.tier

    def stats(self) -> dict[str, Any]:
        """Whether the tier works, where it lives, its counters and its size."""
        return {
            "enabled": self.tier.enabled,
            "directory": str(self.tier.directory),
            "hits": self.hits,
            "misses": self.misses,
            "entries": self.tier.entries(),
            "bytes": self.tier.volume(),
            "limit": self.tier.size_limit,
        }

    def clear(self) -> int:
        """Remove every row; returns how many there were."""
        return self.tier.clear()

    def close(self) -> None:
        """Close the database."""
        self.tier.close()


__all__ = ["DiskResults", "Found", "Stored", "Tier", "decode", "encode"]
