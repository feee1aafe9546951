"""Small vector helpers."""

from vectors.ops import add, dot, scale
from vectors.stats import mean, running_mean

__all__ = ["add", "dot", "mean", "running_mean", "scale"]
