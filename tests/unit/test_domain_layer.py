"""The domain modules stay below HTTP: views, schemas and database operations use
them, and they import none of those (nor Flask or marshmallow), not even through
another module of the package."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "taler_inventory"
DOMAIN = ("stock", "contract", "orders", "exactjson")
#: What the domain may not reach: the web stack and the layers above it.
FORBIDDEN = ("flask", "werkzeug", "marshmallow", "psycopg", "taler_inventory.api",
             "taler_inventory.schemas", "taler_inventory.backenddb", "taler_inventory.errors",
             "taler_inventory.db")


def imports(module: str) -> set[str]:
    """The absolute names the module ``taler_inventory.<module>`` imports."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "taler_inventory" if node.level else ""
            target = ".".join(part for part in (base, node.module or "") if part)
            names.add(target)
            if node.module is None:  # from . import x
                names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def reachable(module: str) -> set[str]:
    """Every name imported by the module and, within the package, by what it imports."""
    seen, todo = set(), [module]
    while todo:
        for name in imports(todo.pop()):
            if name in seen:
                continue
            seen.add(name)
            local = name.removeprefix("taler_inventory.")
            if name.startswith("taler_inventory.") and (PACKAGE / f"{local}.py").exists():
                todo.append(local)
    return seen


@pytest.mark.parametrize("module", DOMAIN)
def test_a_domain_module_imports_no_layer_above_it(module):
    bad = {name for name in reachable(module)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert bad == set()
