"""Price calculations: discounts, tax and rounding to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """Round half up to a whole cent, as invoices do."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def discount_rate(quantity: int) -> Decimal:
    """Bulk discount: 5 % from 10 units, 10 % from 50."""
    if quantity >= 50:
        return Decimal("0.10")
    if quantity >= 10:
        return Decimal("0.05")
    return Decimal("0")


def line_total(unit_price: Decimal, quantity: int, tax_rate: Decimal) -> Decimal:
    """Price of one invoice line after discount and tax."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    net = unit_price * quantity * (1 - discount_rate(quantity))
    return to_cents(net * (1 + tax_rate))


def invoice_total(lines: list[tuple[Decimal, int]], tax_rate: Decimal) -> Decimal:
    """Sum of the invoice lines."""
    return sum((line_total(price, qty, tax_rate) for price, qty in lines), Decimal("0"))
