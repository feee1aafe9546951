"""The content hash of a file's text: the half of a cache key that the text decides."""

from __future__ import annotations

import xxhash


def content_hash(text: str) -> str:
    """xxh3_128 hex digest of the text as UTF-8 (lone surrogates kept, never an error)."""
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))
