"""The package's imports run one way: no module-level import cycles among `agentic_jax`
modules, and the layers `env` <- `ppo` <- `training` <- `system`/`sweep` <- `cli` hold.

The import graph is read from the source (`ast`), not by importing it: module-level imports,
those under `if TYPE_CHECKING:` included (a module that names another's type depends on it),
make the cycle graph; every import, lazy ones inside functions included, counts for the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "agentic_jax"

# layer -> the packages it must never import (lower layers never import higher ones)
FORBIDDEN = {
    "env": ("ppo", "training", "system", "sweep", "cli"),
    "ppo": ("training", "system", "sweep", "cli"),
    "training": ("system", "sweep", "cli"),
    "system": ("cli",),
    "sweep": ("cli",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str], module_level: bool) -> set[str]:
    """The `agentic_jax` modules `name` imports (at module level only, or anywhere)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if module_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - child.level
                                                      + 1] + ([base] if base else []))
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in known else base)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def graph(module_level: bool) -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(name, path, known, module_level) for name, path in found.items()}


def test_the_reader_sees_imports_and_cycles():
    known = {"agentic_jax.a", "agentic_jax.b", "agentic_jax.c"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    source = PACKAGE / "training" / "schedule.py"
    assert "agentic_jax.config" in imports("agentic_jax.training.schedule", source,
                                           known | {"agentic_jax.config"}, True)


def test_no_import_cycles_among_agentic_jax_modules():
    assert cycles(graph(module_level=True)) == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_one_way(layer):
    prefix = f"agentic_jax.{layer}"
    bad = []
    for name, targets in graph(module_level=False).items():
        if name != prefix and not name.startswith(prefix + "."):
            continue
        for target in sorted(targets):
            if any(target == f"agentic_jax.{up}" or target.startswith(f"agentic_jax.{up}.")
                   for up in FORBIDDEN[layer]):
                bad.append(f"{name} -> {target}")
    assert bad == []
