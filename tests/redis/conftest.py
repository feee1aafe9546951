"""Fixtures: a real Redis, a real Redis Cluster, a small project (see redis_support.py)."""

import sys
from pathlib import Path

# tests/ itself, for robustness.raw (the real server over stdio), as its own package does it.
# This folder has no __init__.py, so `import redis` still finds redis-py, not this folder.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis_support import pytestmark, redis_cluster, redis_node, tree  # noqa: E402

__all__ = ["pytestmark", "redis_cluster", "redis_node", "tree"]
