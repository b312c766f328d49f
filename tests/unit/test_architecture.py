"""The layers: ``workflow`` is pure and imports nothing from ``adapters`` or ``procedures``."""

from __future__ import annotations

import ast
from pathlib import Path

import workflow

CORE = Path(workflow.__file__).parent
FORBIDDEN_MODULES = {
    "adapters",
    "procedures",
    "os",
    "io",
    "pathlib",
    "socket",
    "subprocess",
    "sqlalchemy",
    "kombu",
    "fastapi",
    "yaml",
    "requests",
    "httpx",
}
FORBIDDEN_CALLS = {"open", "print", "input"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_does_no_io_and_imports_no_adapter() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert not (_imports(tree) & FORBIDDEN_MODULES), path.name
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not (calls & FORBIDDEN_CALLS), path.name
