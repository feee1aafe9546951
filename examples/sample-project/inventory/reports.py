"""Stock reports for the weekly meeting."""

import csv
import io

from inventory.models import Item


def classify(item: Item, low: int, high: int, season: str, clearance: bool) -> str:
    """Label an item for the report (grew one rule at a time)."""
    label = "normal"
    if item.quantity <= 0:
        label = "out of stock"
    elif item.quantity < low:
        if "seasonal" in item.tags and season == "winter":
            label = "reorder soon"
        elif "fragile" in item.tags or item.unit_price > 100:
            label = "reorder carefully"
        else:
            label = "reorder"
    elif item.quantity > high:
        if clearance and item.unit_price < 5:
            label = "clearance"
        elif clearance or "discontinued" in item.tags:
            label = "sell off"
        else:
            label = "overstocked"
    if label == "normal" and item.unit_price == 0:
        label = "free sample"
    elif label == "normal" and not item.tags:
        label = "untagged"
    return label


def shelf_matrix(items: list[Item], aisles: int, shelves: int, bins: int) -> list[tuple]:
    """Every place an item could go, checked one by one."""
    places = []
    for aisle in range(aisles):
        for shelf in range(shelves):
            for slot in range(bins):
                for item in items:
                    for tag in item.tags:
                        if tag == f"aisle-{aisle}":
                            if item.quantity > shelf * slot:
                                places.append((aisle, shelf, slot, item.sku))
    return places


def to_csv(items: list[Item]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sku", "name", "quantity", "value"])
    for item in items:
        writer.writerow([item.sku, item.name, item.quantity, f"{item.value:.2f}"])
    return out.getvalue()
