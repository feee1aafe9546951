"""Items and stock movements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Item:
    sku: str
    name: str
    unit_price: float
    quantity: int = 0
    tags: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Movement:
    sku: str
    delta: int
    day: date
    note: str = ""


def apply(items: dict[str, Item], movements: list[Movement]) -> dict[str, Item]:
    """Apply stock movements in order; unknown SKUs are ignored."""
    for movement in movements:
        item = items.get(movement.sku)
        if item is not None:
            item.quantity += movement.delta
    return items
