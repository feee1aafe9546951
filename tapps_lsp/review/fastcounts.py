"""What radon's ComplexityVisitor and HalsteadVisitor count for one AST node, by node type.

fastmetrics' one walk looks a node's type up in `DECISIONS` (the decision points
it adds to cyclomatic complexity) and in `HALSTEAD` (the operators and operands
it adds); node types in neither count for nothing, so most nodes cost one lookup.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

__all__ = ["DECISIONS", "HALSTEAD"]


# The decision points ComplexityVisitor.generic_visit adds for a node, by node type.
def _one(node: Any) -> int:
    return 1


def _bool_op(node: ast.BoolOp) -> int:
    return len(node.values) - 1


def _loop(node: ast.For | ast.While | ast.AsyncFor) -> int:
    return bool(node.orelse) + 1


def _comprehension(node: ast.comprehension) -> int:
    return len(node.ifs) + 1


def _try(node: ast.Try) -> int:  # not TryStar: radon does not know `except*`
    return len(node.handlers) + bool(node.orelse)


def _match(node: Any) -> int:
    # `case _:` and a bare capture such as `case x:` are the "else".
    wildcard = any(getattr(case.pattern, "pattern", False) is None for case in node.cases)
    return max(0, len(node.cases) - wildcard)


DECISIONS: dict[type, Callable[[Any], int]] = {
    ast.If: _one,
    ast.IfExp: _one,
    ast.BoolOp: _bool_op,
    ast.For: _loop,
    ast.While: _loop,
    ast.AsyncFor: _loop,
    ast.comprehension: _comprehension,
    ast.Try: _try,
    ast.Match: _match,
}


# What HalsteadVisitor counts for a node, by node type: it adds the operators and
# operands (keyed by context) to the sets and returns how many of each it met.
def _h_binop(
    node: ast.BinOp, context: str | None, ops: set[str], opnds: set[object]
) -> tuple[int, int]:
    ops.add(type(node.op).__name__)
    opnds.add((context, _operand(node.left)))
    opnds.add((context, _operand(node.right)))
    return 1, 2


def _h_augassign(
    node: ast.AugAssign, context: str | None, ops: set[str], opnds: set[object]
) -> tuple[int, int]:
    ops.add(type(node.op).__name__)
    opnds.add((context, _operand(node.target)))
    opnds.add((context, _operand(node.value)))
    return 1, 2


def _h_compare(
    node: ast.Compare, context: str | None, ops: set[str], opnds: set[object]
) -> tuple[int, int]:
    ops.update(type(op).__name__ for op in node.ops)
    opnds.add((context, _operand(node.left)))
    for operand in node.comparators:
        opnds.add((context, _operand(operand)))
    return len(node.ops), len(node.comparators) + 1


def _h_boolop(
    node: ast.BoolOp, context: str | None, ops: set[str], opnds: set[object]
) -> tuple[int, int]:
    ops.add(type(node.op).__name__)
    for operand in node.values:
        opnds.add((context, _operand(operand)))
    return 1, len(node.values)


def _h_unaryop(
    node: ast.UnaryOp, context: str | None, ops: set[str], opnds: set[object]
) -> tuple[int, int]:
    ops.add(type(node.op).__name__)
    opnds.add((context, _operand(node.operand)))
    return 1, 1


HALSTEAD: dict[type, Callable[[Any, str | None, set[str], set[object]], tuple[int, int]]] = {
    ast.BinOp: _h_binop,
    ast.AugAssign: _h_augassign,
    ast.Compare: _h_compare,
    ast.BoolOp: _h_boolop,
    ast.UnaryOp: _h_unaryop,
}


def _operand(node: ast.AST) -> object:
    # HalsteadVisitor keys a name, an attribute or a constant by its value, and
    # anything else by the node itself (so each such operand is distinct).
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant):
        return node.value
    return node
