"""Statistics over sequences of numbers."""

from collections.abc import Iterable


def mean(values: Iterable[float]) -> float:
    """The arithmetic mean; an empty sequence is an error."""
    items = list(values)
    if not items:
        raise ValueError("mean of nothing")
    return sum(items) / len(items)


def running_mean(values: Iterable[float], history=[]) -> list[float]:
    """The mean of every prefix of `values`.

    `history` is a mutable default argument (ruff B006): calls share it.
    """
    out = []
    total = 0.0
    for count, value in enumerate(values, start=1):
        total += value
        history.append(value)
        out.append(total / count)
    return out


def median(values: Iterable[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    items = sorted(values)
    if not items:
        raise ValueError("median of nothing")
    middle = len(items) // 2
    if len(items) % 2:
        return items[middle]
    return (items[middle - 1] + items[middle]) / 2
