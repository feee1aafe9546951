"""Signing the team cache's values: HMAC-SHA256 over the key and the JSON, with the team key.

An unsigned, badly signed, oversized or malformed value is rejected (a miss
counted as `rejected`), never stored locally.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from tapps_lsp.cache.tiers import decode

PREFIX = "tapps-lsp:v1:"
MAGIC = b"T1"
_MAC_BYTES = 32
# A value larger than this was not written by us (the disk tier's largest real
# result is a few hundred KiB; a 1 MiB file with a finding on every line is ~10 MiB).
MAX_ENTRY_BYTES = 16 * 2**20


def sign(secret: bytes, key: str, blob: bytes) -> bytes:
    """The stored form of a value: MAGIC, HMAC-SHA256(key, value), then the JSON."""
    mac = hmac.new(secret, f"{PREFIX}{key}\n".encode() + blob, hashlib.sha256).digest()
    return MAGIC + mac + blob


def verify(secret: bytes, key: str, stored: bytes) -> tuple[dict[str, Any] | None, bytes, str]:
    """(value, JSON, "") for a good entry, else (None, b"", why it was rejected)."""
    if len(stored) > MAX_ENTRY_BYTES:
        return None, b"", "oversized"
    if len(stored) < len(MAGIC) + _MAC_BYTES or not stored.startswith(MAGIC):
        return None, b"", "unsigned"
    mac, blob = stored[len(MAGIC) : len(MAGIC) + _MAC_BYTES], stored[len(MAGIC) + _MAC_BYTES :]
    expected = hmac.new(secret, f"{PREFIX}{key}\n".encode() + blob, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        return None, b"", "badly signed"
    value = decode(blob)
    if value is None:
        return None, b"", "malformed"
    return value, blob, ""
