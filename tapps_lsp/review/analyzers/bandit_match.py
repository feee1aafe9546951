"""Where ruff's `S` findings differ from bandit's in place or severity, made to agree.

Bandit reports B602-B604 at the call's `shell=` argument and B607 at the call;
ruff puts them at the call and at the argument. A few bandit tests pick their
severity from the code they flag; where ruff's message shows which case it is,
`by_message` gives bandit's severity.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections import deque
from functools import cached_property

from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

# ruff says "seems safe" where bandit lowers B602/B605 to LOW (a literal command).
_SEEMS_SAFE = "seems safe"
_MASK = re.compile(r"mask (0o[0-7]+)")
# Bandit reports these at the call's `shell=` argument, ruff at the call.
AT_SHELL = frozenset({"S602", "S603", "S604"})
# Bandit reports these at the call, ruff at the argument (on a later line, maybe).
AT_CALL = frozenset({"S607"})


def by_message(code: str, message: str, severity: str) -> str:
    """Bandit's severity where it depends on the flagged code and ruff's message shows it."""
    if code in ("S602", "S605") and _SEEMS_SAFE in message:
        return "LOW"
    if code == "S103":
        mask = _MASK.search(message)
        if mask and not int(mask.group(1), 8) & 0o2:  # not world-writable
            return "MEDIUM"
        if mask:
            return "HIGH"
    return severity


class Calls:
    """The calls of a tree in `ast.walk`'s order, found once (on first use) for every
    finding that needs them."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree

    @cached_property
    def nodes(self) -> list[ast.Call]:
        """Breadth first, as `ast.walk` meets them, without its generator per node."""
        found: list[ast.Call] = []
        queue: deque[ast.AST] = deque([self.tree])
        pop, extend = queue.popleft, queue.extend
        fields = _fields
        while queue:
            node = pop()
            if type(node) is ast.Call:
                found.append(node)
            for name in fields[type(node)]:
                value = getattr(node, name, None)
                if type(value) is list:
                    extend(item for item in value if isinstance(item, ast.AST))
                elif isinstance(value, ast.AST):
                    extend((value,))
        return found


class _Fields(dict[type[ast.AST], tuple[str, ...]]):
    """A node type's fields that may hold nodes other than contexts and operators."""

    def __missing__(self, kind: type[ast.AST]) -> tuple[str, ...]:
        fields = tuple(f for f in kind._fields if f not in ("ctx", "op", "ops"))
        self[kind] = fields
        return fields


_fields = _Fields()


def shell_arguments(calls: Calls, lines: list[str]) -> dict[tuple[int, int], ast.keyword]:
    """(line, code-point column) of each call with a `shell=` argument -> that argument."""
    found = {}
    for node in calls.nodes:
        for kw in node.keywords:
            if kw.arg == "shell":
                line = node.lineno - 1
                text = lines[line] if line < len(lines) else ""
                found[line, utf8_byte_to_codepoint(text, node.col_offset)] = kw
    return found


def at_shell(f: Finding, calls: dict[tuple[int, int], ast.keyword], lines: list[str]) -> Finding:
    """A finding ruff puts at a call, moved to the call's `shell=` argument as bandit puts it."""
    kw = calls.get((f.line, f.col))
    if kw is None or kw.lineno - 1 == f.line:
        return f
    line, end_line = kw.lineno - 1, (kw.end_lineno or kw.lineno) - 1
    return dataclasses.replace(
        f,
        line=line,
        col=utf8_byte_to_codepoint(lines[line], kw.col_offset),
        end_line=end_line,
        end_col=utf8_byte_to_codepoint(lines[end_line], kw.end_col_offset or 0),
    )


def at_call(f: Finding, calls: Calls, lines: list[str]) -> Finding:
    """A finding ruff puts at a call's argument, moved to the call's start as bandit puts it."""
    text = lines[f.line] if f.line < len(lines) else ""
    at = (f.line + 1, len(text[: f.col].encode("utf-8", "surrogatepass")))
    inner = max(
        (
            node
            for node in calls.nodes
            if (node.lineno, node.col_offset)
            <= at
            < (node.end_lineno or 0, node.end_col_offset or 0)
        ),
        key=lambda node: (node.lineno, node.col_offset),
        default=None,
    )
    if inner is None:
        return f
    line = inner.lineno - 1
    return dataclasses.replace(
        f, line=line, col=utf8_byte_to_codepoint(lines[line], inner.col_offset)
    )
