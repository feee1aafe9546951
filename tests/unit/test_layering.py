"""The package's layering, read from the source with `ast` (nothing is imported).

Every import among `tapps_lsp` modules counts: at the top level, under
`if TYPE_CHECKING:` and inside functions. A cycle there, even one that works
at run time because one side imports late, means two modules own each other's
facts (issue 14). The engine (`tapps_lsp/review/`) knows nothing of LSP and
reaches out of `review/` only for the settings schema, the safe file reads and
the package version.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import tapps_lsp

PACKAGE = "tapps_lsp"
SOURCE = Path(tapps_lsp.__file__).resolve().parent

# Edges (importer, imported) known to close a cycle today. The list only shrinks:
# an entry whose edge no longer exists fails the test, so it is removed as soon as
# the restructuring removes the edge. It must be empty when issue 14 is done.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()

# What the engine may import from the rest of the package (today's facts, pinned).
ENGINE = f"{PACKAGE}.review"
ENGINE_MAY_IMPORT = {PACKAGE, ENGINE, f"{PACKAGE}.config", f"{PACKAGE}.safe_io"}
LSP_LIBRARIES = {"lsprotocol", "pygls"}


@dataclass
class Module:
    """One module of the package: its file and what it imports."""

    name: str
    path: Path
    is_package: bool
    internal: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)


def discover(root: Path = SOURCE) -> dict[str, Module]:
    """Every module of the package by dotted name (a package by its `__init__.py`)."""
    modules: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        modules[name] = Module(name, path, is_package)
    return modules


def _known(name: str, modules: dict[str, Module]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _base(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` names, relative levels resolved."""
    if not node.level:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    parts = package.split(".")
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _add(module: Module, target: str, modules: dict[str, Module]) -> None:
    top = target.split(".")[0]
    if top != PACKAGE:
        module.external.add(top)
        return
    found = _known(target, modules)
    if found is not None and found != module.name:
        module.internal.add(found)


def read_imports(modules: dict[str, Module]) -> dict[str, Module]:
    """Fill in each module's imports: every Import/ImportFrom node anywhere in its tree."""
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    _add(module, alias.name, modules)
            elif isinstance(node, ast.ImportFrom):
                base = _base(module, node)
                for alias in node.names:
                    # `from pkg import module` imports that module; `from pkg import name`
                    # imports the package (or module) that defines the name.
                    submodule = f"{base}.{alias.name}"
                    _add(module, submodule if submodule in modules else base, modules)
    return modules


def graph() -> dict[str, set[str]]:
    """The import graph among the package's modules."""
    return {name: set(m.internal) for name, m in read_imports(discover()).items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def all_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per edge that closes one, by repeatedly cutting the found cycle's last edge."""
    remaining = {name: set(targets) for name, targets in edges.items()}
    cycles = []
    while (cycle := find_cycle(remaining)) is not None:
        cycles.append(cycle)
        remaining[cycle[-2]].discard(cycle[-1])
    return cycles


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The reader counts TYPE_CHECKING, function-level, relative and `from pkg import mod`."""
    root = tmp_path / PACKAGE
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "sub" / "leaf.py").write_text("def f():\n    from ..top import x\n")
    (root / "top.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from tapps_lsp.sub import leaf\n"
        "import tapps_lsp.other.deep\nx = 1\n"
    )
    (root / "other.py").write_text("from . import sub\n")
    modules = read_imports(discover(root))
    assert modules[f"{PACKAGE}.sub.leaf"].internal == {f"{PACKAGE}.top"}
    # `tapps_lsp.other.deep` is no module: the import runs `tapps_lsp.other`.
    assert modules[f"{PACKAGE}.top"].internal == {f"{PACKAGE}.sub.leaf", f"{PACKAGE}.other"}
    assert modules[f"{PACKAGE}.top"].external == {"typing"}
    assert modules[f"{PACKAGE}.other"].internal == {f"{PACKAGE}.sub"}
    edges = {name: m.internal for name, m in modules.items()}
    cycle = find_cycle(edges)
    assert cycle == [f"{PACKAGE}.sub.leaf", f"{PACKAGE}.top", f"{PACKAGE}.sub.leaf"]


def test_no_import_cycle() -> None:
    """No cycle among the package's modules, the known ones aside; those still exist."""
    edges = graph()
    stale = sorted(edge for edge in KNOWN_CYCLE_EDGES if edge[1] not in edges.get(edge[0], ()))
    assert not stale, f"remove from KNOWN_CYCLE_EDGES, the import is gone: {stale}"
    for importer, imported in KNOWN_CYCLE_EDGES:
        edges[importer].discard(imported)
    cycles = all_cycles(edges)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_known_cycle_edges_close_a_cycle() -> None:
    """Each allow-listed edge is still part of a cycle (else it belongs off the list)."""
    edges = graph()
    for importer, imported in sorted(KNOWN_CYCLE_EDGES):
        only = {name: set(targets) for name, targets in edges.items()}
        for other in KNOWN_CYCLE_EDGES - {(importer, imported)}:
            only[other[0]].discard(other[1])
        cycle = find_cycle(only)
        assert cycle is not None and (importer, imported) in zip(cycle, cycle[1:], strict=False), (
            f"{importer} -> {imported} closes no cycle: remove it from KNOWN_CYCLE_EDGES"
        )


def test_the_engine_knows_no_lsp_and_little_of_the_package() -> None:
    """`review/` imports neither lsprotocol nor pygls, and of the rest only ENGINE_MAY_IMPORT."""
    modules = read_imports(discover())
    engine = [m for name, m in modules.items() if name == ENGINE or name.startswith(ENGINE + ".")]
    assert engine
    lsp = {m.name: sorted(m.external & LSP_LIBRARIES) for m in engine if m.external & LSP_LIBRARIES}
    assert not lsp, f"the engine imports LSP libraries: {lsp}"
    outside = {
        m.name: sorted(
            t for t in m.internal if not t.startswith(ENGINE + ".") and t not in ENGINE_MAY_IMPORT
        )
        for m in engine
    }
    outside = {name: targets for name, targets in outside.items() if targets}
    assert not outside, f"the engine imports from outside review/: {outside}"
