"""The package's layering: no import cycles, and nothing below the command line imports the API or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import geo

PACKAGE = Path(geo.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, name: str, known: set[str], is_package: bool = False) -> set[str]:
    """The package's modules that module ``name`` imports, type-checking and function-level imports included."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    # importing a submodule from its own package's __init__ (``from geo import __version__``) is not a cycle
    return {name: {t for t in imported_modules(path.read_text(encoding="utf-8"), name, known,
                                               is_package=path.name == "__init__.py")
                   if not name.startswith(f"{t}.")}
            for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_only_the_command_line_imports_the_api_or_the_cli() -> None:
    offenders = {name: sorted(t for t in targets if t == "geo.api" or t.startswith("geo.cli"))
                 for name, targets in import_graph().items()
                 if not (name == "geo.cli" or name.startswith("geo.cli."))}
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_the_checks_see_cycles_and_type_checking_imports() -> None:
    graph = {"geo.a": {"geo.b"}, "geo.b": {"geo.c"}, "geo.c": {"geo.a"}, "geo.d": {"geo.a"}}
    assert find_cycle(graph) == ["geo.a", "geo.b", "geo.c", "geo.a"]
    assert find_cycle({"geo.a": {"geo.b"}, "geo.b": set()}) is None
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from geo.api import RunResult\n"
              "def f():\n    from .cli.map import load_result\n")
    known = {"geo", "geo.api", "geo.cli", "geo.cli.map", "geo.mod"}
    assert imported_modules(source, "geo.mod", known) == {"geo.api", "geo.cli.map"}


def test_import_geo_offers_the_api() -> None:
    import geo.api

    assert callable(geo.load_config) and callable(geo.run)
    assert set(geo.api.__all__) <= set(dir(geo))
    assert all(getattr(geo, name) is getattr(geo.api, name) for name in geo.api.__all__)
