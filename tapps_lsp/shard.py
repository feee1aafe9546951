"""`check --shard K/N`: a deterministic part of a tree, so N CI machines split a monorepo.

A file belongs to shard K of N when the xxh3-64 hash of its path, relative
to the project root it was found under and with `/` separators, is K-1
modulo N. The same tree gives the same split on every machine and operating
system, whatever the order of discovery, and the N shards cover each file once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import xxhash


def parse(value: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N <= 10,000; raises ValueError with a message."""
    k, sep, n = value.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(f"expected K/N, e.g. 1/4, got {value!r}")
    shard, total = int(k), int(n)
    if not 1 <= shard <= total <= 10_000:
        raise ValueError(f"expected 1 <= K <= N <= 10000, got {value!r}")
    return shard, total


def shard_of(path: Path, root: Path, total: int) -> int:
    """The shard (1-based) `path` falls in."""
    try:
        relative = os.path.relpath(path.resolve(), root.resolve())
    except ValueError:  # another drive on Windows
        relative = str(path)
    name = relative.replace(os.sep, "/").encode("utf-8", "surrogateescape")
    return xxhash.xxh3_64_intdigest(name) % total + 1


def select(files: Sequence[Path], root: Path, shard: tuple[int, int]) -> list[Path]:
    """The files of `files` in shard K of N."""
    k, n = shard
    return [f for f in files if shard_of(f, root, n) == k]
