"""A radon block or a fastmetrics FastBlock as plain nested lists, to compare the two.

Lists, not objects, so that a differential run can also send them between
processes as JSON.
"""

from __future__ import annotations

from typing import Any


def block_tree(block: Any) -> list[Any]:
    """Name, position, complexity and class of a block, with its closures, methods and
    inner classes in turn."""
    return [
        block.name,
        block.lineno,
        getattr(block, "col_offset", getattr(block, "col", None)),
        block.endline,
        block.complexity,
        getattr(block, "classname", None),
        [block_tree(b) for b in getattr(block, "closures", ())],
        [block_tree(b) for b in getattr(block, "methods", ())],
        [block_tree(b) for b in getattr(block, "inner_classes", ())],
    ]
