"""No public function or method of the source returns a private type: what a caller gets back
is something it may name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domains", "application", "infrastructure", "interfaces")


def _private_names(annotation: ast.expr) -> set[str]:
    names = {node.id for node in ast.walk(annotation) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(annotation) if isinstance(node, ast.Attribute)}
    for node in ast.walk(annotation):  # quoted annotations
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names |= set(re.findall(r"\b\w+\b", node.value))
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def _public_returns(tree: ast.AST, path: Path) -> list[str]:
    found: list[str] = []

    def visit(node: ast.AST, public: bool, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                if public and not child.name.startswith("_") and child.returns is not None:
                    private = _private_names(child.returns)
                    if private:
                        where = f"{path.relative_to(ROOT)}:{child.lineno}"
                        found.append(f"{where} {owner}{child.name} -> {sorted(private)}")
            elif isinstance(child, ast.ClassDef):
                visit(child, public and not child.name.startswith("_"), f"{child.name}.")

    visit(tree, True, "")
    return found


def test_no_public_signature_returns_a_private_type() -> None:
    found = [
        hit
        for layer in LAYERS
        for path in sorted((ROOT / layer).rglob("*.py"))
        for hit in _public_returns(ast.parse(path.read_text()), path)
    ]
    assert found == []


def test_the_check_sees_a_private_return_type() -> None:
    source = (
        "class _Hidden: ...\n"
        "def shown() -> _Hidden: ...\n"
        "class A:\n"
        "    def m(self) -> '_Hidden': ...\n"
    )
    hits = _public_returns(ast.parse(source), ROOT / "example.py")
    assert [hit.split(" ", 1)[1] for hit in hits] == [
        "shown -> ['_Hidden']",
        "A.m -> ['_Hidden']",
    ]
