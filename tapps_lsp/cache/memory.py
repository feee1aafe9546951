"""The memory tier: an LRU of decoded results, bounded by bytes.

It holds the decoded dicts, not their JSON, because a hit must cost
microseconds: a dict hit is about 1 us, where `json.loads` of a real result
(the 694-line tokenize.py: 67 findings, 25.6 KB of JSON) costs about 145 us.
Dicts take more room than their JSON, so each entry is charged its
estimated resident size: 4.7 x JSON bytes + 1.2 KB, fitted with
tracemalloc on `FileResult.to_dict()` shapes from 0 to 300 findings
(within 10 %: 309 B of JSON -> 2.6 KB resident, 17.5 KB -> 84 KB, 120 KB ->
561 KB). On the real results of 580 standard-library files it says 18.9 MB
where tracemalloc measures 16.6 MB, so the bound is a little conservative,
and the default 32 MiB holds those with room to spare.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from tapps_lsp.cache.tiers import Found, Stored


def resident_estimate(json_size: int) -> int:
    """Bytes a dict decoded from `json_size` bytes of JSON occupies in memory."""
    return json_size * 47 // 10 + 1200


class MemoryLRU:
    """Least-recently-used map of key -> dict, bounded by estimated resident bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.bytes = 0
        self._items: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
        # The server reads on the event loop and may store from worker threads.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._items)

    def get(self, key: str) -> dict[str, Any] | None:
        """The value, marked as most recently used; None when absent."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._items.move_to_end(key)
            return entry[0]

    def put(self, key: str, value: dict[str, Any], json_size: int) -> None:
        """Store `value`, charged by its JSON size; evict the least recently used over the limit."""
        cost = resident_estimate(json_size)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if cost > self.limit:
                return
            self._items[key] = (value, cost)
            self.bytes += cost
            while self.bytes > self.limit:
                _, (_, evicted) = self._items.popitem(last=False)
                self.bytes -= evicted

    def clear(self) -> int:
        """Forget everything; returns how many entries there were."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
            self.bytes = 0
            return count


class MemoryTier:
    """The memory LRU as a cache `Tier` (see tiers.py): decoded dicts, hits in microseconds."""

    name = "memory"
    remote = False

    def __init__(self, limit: int) -> None:
        self.lru = MemoryLRU(limit)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        """One key, counted: the path of a cached save, kept free of batching overhead."""
        value = self.lru.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def get_many(self, keys: Sequence[str]) -> dict[str, Found]:
        """The keys held in memory."""
        found = {}
        for key in keys:
            value = self.lru.get(key)
            if value is not None:
                found[key] = Found(value)
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, items: Sequence[Stored]) -> None:
        """Keep each decoded dict, charged by its JSON size."""
        for item in items:
            self.lru.put(item.key, item.value, len(item.blob))

    def stats(self) -> dict[str, Any]:
        """Counters, entries and bytes against the limit."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "entries": len(self.lru),
            "bytes": self.lru.bytes,
            "limit": self.lru.limit,
        }

    def keys(self) -> list[str]:
        """The keys held, least recently used first."""
        return self.lru.keys()

    def clear(self) -> int:
        """Forget everything; returns how many entries there were."""
        return self.lru.clear()

    def close(self) -> None:
        """Nothing to release."""
