from decimal import Decimal

import pytest

from inventory.pricing import discount_rate, invoice_total, line_total, to_cents


def test_rounds_half_up():
    assert to_cents(Decimal("0.125")) == Decimal("0.13")


def test_discount_steps():
    assert [discount_rate(q) for q in (1, 10, 50)] == [0, Decimal("0.05"), Decimal("0.10")]


def test_line_total_with_tax():
    assert line_total(Decimal("10"), 10, Decimal("0.2")) == Decimal("114.00")


def test_negative_quantity():
    with pytest.raises(ValueError):
        line_total(Decimal("1"), -1, Decimal("0"))


def test_invoice_total():
    lines = [(Decimal("2.50"), 2), (Decimal("1.00"), 10)]
    assert invoice_total(lines, Decimal("0")) == Decimal("14.50")
