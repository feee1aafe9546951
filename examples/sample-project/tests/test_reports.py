from inventory.models import Item
from inventory.reports import classify, to_csv


def test_out_of_stock():
    assert classify(Item("a", "Anvil", 80.0, 0, ["heavy"]), 2, 10, "summer", False) == "out of stock"


def test_csv_header():
    assert to_csv([]).splitlines() == ["sku,name,quantity,value"]
