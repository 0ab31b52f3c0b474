"""How Relevo's modules may import each other: no circles, and each layer only downwards.

Imports are read from the source (those inside functions too, which a circle would otherwise
hide), not from what happens to be loaded."""

import ast
from collections.abc import Iterator
from pathlib import Path

import relevo

SOURCE = Path(relevo.__file__).parent
# The top layer: what assembles routes and processes. Routers sit above the `api` package they
# use, so a domain's router importing `api.deps` is no circle of that domain with `api`.
TOP = (
    "relevo.server",
    "relevo.compat",
    "relevo.cli",
    "relevo.command",
    "relevo.__main__",
    "relevo.job_kinds",
    "relevo.demo",
)


def modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        yield from (name for name in names if name in known)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imports(path, known)) - {name} for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def is_route(module: str) -> bool:
    return module.endswith(".router") or module.startswith(TOP)


def package(module: str) -> str:
    """The package a module belongs to for layering: routes form a layer of their own."""
    if is_route(module):
        return "routes"
    return ".".join(module.split(".")[:2])


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert circles(graph()) == []


def test_packages_import_each_other_one_way() -> None:
    edges: dict[str, set[str]] = {}
    for source, targets in graph().items():
        for target in targets:
            if package(source) != package(target):
                edges.setdefault(package(source), set()).add(package(target))
    assert circles(edges) == []


def test_only_the_top_layer_imports_routes() -> None:
    wrong = sorted(
        f"{source} imports {target}"
        for source, targets in graph().items()
        for target in targets
        if is_route(target) and not is_route(source)
    )
    assert wrong == []


def test_the_checks_see_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
