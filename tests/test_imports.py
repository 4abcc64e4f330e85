"""The package's modules import each other without a circle (function-level imports counted too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qa"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The qa modules a module imports, anywhere in it but under `if TYPE_CHECKING:` (`from . import x` names module x)."""
    package = module_name(path) if path.stem == "__init__" else module_name(path).rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
                   for n in ast.walk(block)}  # imports for type hints only never run
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            target = f"{base}.{node.module}" if node.module else base
        else:
            target = node.module or ""
        for name in [target] + [f"{target}.{alias.name}" for alias in node.names]:
            if name in known:
                found.add(name)
    return found


def test_no_import_circle():
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py") if p.stem != "__main__"}
    known = set(paths)
    # a package's __init__ re-exporting its own modules is not a circle: edges into "qa" itself are left out
    graph = {name: imports_of(path, known) - {"qa", name} for name, path in paths.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        assert name not in trail, "import circle: " + " -> ".join(trail[trail.index(name):] + [name])
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, trail + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
