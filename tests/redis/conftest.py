"""Fixtures: a real Redis, a real Redis Cluster, a small project (see redis_support.py)."""

from redis_support import pytestmark, redis_cluster, redis_node, tree

__all__ = ["pytestmark", "redis_cluster", "redis_node", "tree"]
