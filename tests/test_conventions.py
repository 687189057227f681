"""House rules that keep the package readable: documented public functions and modules of one idea."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "geo"
#: A module longer than this mixes ideas: split it by idea.
MAX_MODULE_LINES = 450
_NOT_DOCUMENTED_AS_FUNCTIONS = {"property", "cached_property", "setter", "field_validator", "model_validator",
                                "field_serializer"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


def _public_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Public module functions and public methods of public classes (properties and validators aside)."""
    found = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body)
            elif (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_")
                  and not _decorator_names(node) & _NOT_DOCUMENTED_AS_FUNCTIONS):
                found.append(node)

    visit(tree.body)
    return found


def test_public_functions_document_parameters_and_returns() -> None:
    """Numpydoc ``Parameters`` for functions that take arguments, ``Returns`` for those that return."""
    missing = []
    for path in _modules():
        if "cli" in path.relative_to(PACKAGE).parts:
            continue  # click commands: their docstrings are the --help text
        for node in _public_functions(ast.parse(path.read_text(encoding="utf-8"))):
            doc = ast.get_docstring(node) or ""
            arguments = [a for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                         if a.arg not in ("self", "cls")]
            returns = node.returns is not None and not (
                isinstance(node.returns, ast.Constant) and node.returns.value is None)
            if (arguments and "Parameters" not in doc) or (returns and not {"Returns", "Yields"} & set(doc.split())):
                missing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert missing == [], "\n".join(missing)


def test_no_module_is_over_the_line_limit() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_the_package_ships_its_type_information() -> None:
    assert (PACKAGE / "py.typed").is_file()
