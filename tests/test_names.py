"""The naming chain, URL -> view -> database operation -> SQL function -> test module.

The rule is written in doc/design.rst ("Layers and naming chain"); this module checks
it on the real application, the real ``backenddb`` source and the real test tree, and
shows on made-up examples that a name off the chain is caught.
"""
import ast
import pathlib
import re

import flask
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "taler_inventory"
API_TESTS = ROOT / "tests" / "api"

#: The first path word that is a scope of its own: it comes before the method.
SCOPES = ("private", "management")
#: What an instance-scoped route has before the path of its admin twin.
INSTANCE_PREFIX = "/instances/<instance_id>"
#: Routes that serve files, not endpoints of the API: outside the chain.
FILE_ENDPOINTS = re.compile(r"^(static|(instances_)?webui\..*)$")


def path_words(rule: str) -> list[str]:
    """The words of a route's path as a view name writes them.

    ``<product_id>`` is ``id``, ``<path:lock_uuid>`` is ``uuid``; any other
    variable keeps its name (``<h_wire>``, ``<int:serial>``); a suffix such as
    ``.json`` is dropped; the bare root ``/`` is ``root``.
    """
    words = []
    for segment in rule.removeprefix(INSTANCE_PREFIX).strip("/").split("/"):
        if not segment:
            continue
        if segment.startswith("<"):
            name = segment[1:-1].rpartition(":")[2].rstrip("_")
            words.append(name.rpartition("_")[2] if name.endswith(("_id", "_uuid")) else name)
        else:
            words.append(segment.partition(".")[0].replace("-", "_"))
    return words or ["root"]


def view_name(rule: str, method: str) -> str:
    """``POST /private/products/<product_id>/lock`` -> ``private_post_products_id_lock``."""
    words = path_words(rule)
    scope = [words.pop(0)] if words[0] in SCOPES else []
    return "_".join(scope + [method.lower()] + words)


def modules_of(view: str, rule: str) -> list[pathlib.Path]:
    """Where a view's tests may be: its own module, or its resource's.

    The resource module is the view name without the method and with the path cut
    after its first word: ``test_private_accounts.py``, ``test_private.py`` (the own
    instance, ``/private`` and ``/private/auth``... are own modules), ``test_orders.py``.
    """
    words = path_words(rule)
    resource = words[:2] if words[0] in SCOPES else words[:1]
    return [API_TESTS / f"test_{view}.py", API_TESTS / f"test_{'_'.join(resource)}.py"]


def literal_parts(rule: str) -> list[str]:
    """The fixed pieces of a route's path, as a test's URL contains them."""
    path = rule.removeprefix(INSTANCE_PREFIX) or "/"
    return [part for part in re.split(r"<[^>]+>", path) if part]


def chain_errors(app: flask.Flask, tests_dir: pathlib.Path = API_TESTS) -> list[str]:
    """Every route of ``app`` whose view or test module is off the chain."""
    errors = []
    for rule in app.url_map.iter_rules():
        if FILE_ENDPOINTS.match(rule.endpoint):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "openapi", None) is None:
            errors.append(f"{rule.rule}: {rule.endpoint} is not declared with @endpoint")
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            wanted = view_name(rule.rule, method)
            if view.__name__ != wanted:
                errors.append(f"{method} {rule.rule}: view {view.__name__}, not {wanted}")
            modules = [tests_dir / m.name for m in modules_of(wanted, rule.rule)]
            found = [m for m in modules if m.exists()]
            if not found:
                errors.append(f"{method} {rule.rule}: no test module "
                              f"({' or '.join(m.name for m in modules)})")
                continue
            text = found[0].read_text()
            missing = [p for p in literal_parts(rule.rule) if p not in text]
            if missing or method.lower() not in text:
                errors.append(f"{method} {rule.rule}: {found[0].name} does not mention it")
    return errors


def procedures() -> set[str]:
    """The SQL functions of sql/procedures, reloaded by every dbinit."""
    names = set()
    for path in (PACKAGE / "sql" / "procedures").glob("*.sql"):
        names.update(re.findall(r"CREATE OR REPLACE FUNCTION (\w+)\s*\(", path.read_text()))
    return names


def operation_errors(source: str, module: str, known: set[str]) -> list[str]:
    """Operations (functions of a backenddb module) that select from a stored procedure
    not of their name.  A leading ``_`` (a helper) does not count."""
    tree = ast.parse(source)
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.JoinedStr)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value
    errors = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        texts = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                texts.append(sub.value)
            elif isinstance(sub, ast.Name) and sub.id in constants:
                texts.extend(c.value for c in ast.walk(constants[sub.id])
                             if isinstance(c, ast.Constant) and isinstance(c.value, str))
        called = {name for text in texts
                  for name in re.findall(r"\bFROM\s+(\w+)\s*\(", text, re.IGNORECASE)
                  if name in known}
        name = node.name.lstrip("_")
        if called and called != {name}:
            errors.append(f"{module}.{node.name} selects from {', '.join(sorted(called))}")
    return errors


def test_every_route_follows_the_chain(app):
    """``app`` is the application of tests/conftest.py, built by ``create_app``."""
    assert chain_errors(app) == []


def test_every_operation_is_named_after_its_stored_procedure():
    known = procedures()
    errors = []
    for path in sorted((PACKAGE / "backenddb").glob("*.py")):
        errors += operation_errors(path.read_text(), path.stem, known)
    assert errors == []


@pytest.mark.parametrize("rule, method, name", [
    ("/private/products/<product_id>/lock", "POST", "private_post_products_id_lock"),
    ("/instances/<instance_id>/private/locks/<path:lock_uuid>", "DELETE",
     "private_delete_locks_uuid"),
    ("/private/tokens/<int:serial>", "DELETE", "private_delete_tokens_serial"),
    ("/private/accounts/<h_wire>", "PATCH", "private_patch_accounts_h_wire"),
    ("/management/instances/<instance_id_>/auth", "POST", "management_post_instances_id_auth"),
    ("/private", "GET", "private_get"),
    ("/orders/<order_id>/claim", "POST", "post_orders_id_claim"),
    ("/openapi.json", "GET", "get_openapi"),
    ("/", "GET", "get_root"),
])
def test_view_names_are_mechanical(rule, method, name):
    assert view_name(rule, method) == name


def _fake_app(view_name_: str, rule: str = "/private/widgets/<widget_id>"):
    app = flask.Flask("fake")

    def view(widget_id):
        return ""
    view.__name__ = view_name_
    view.openapi = {}
    app.add_url_rule(rule, endpoint=view_name_, view_func=view, methods=["DELETE"])
    return app


def test_a_misnamed_view_is_caught(tmp_path):
    (tmp_path / "test_private_widgets.py").write_text(
        'client.delete("/private/widgets/w1")\n')
    assert chain_errors(_fake_app("private_delete_widgets_id"), tmp_path) == []
    errors = chain_errors(_fake_app("private_remove_widget"), tmp_path)
    assert errors == ["DELETE /private/widgets/<widget_id>: view private_remove_widget,"
                      " not private_delete_widgets_id"]


def test_a_view_without_its_test_module_is_caught(tmp_path):
    errors = chain_errors(_fake_app("private_delete_widgets_id"), tmp_path)
    assert errors == ["DELETE /private/widgets/<widget_id>: no test module"
                      " (test_private_delete_widgets_id.py or test_private_widgets.py)"]
    (tmp_path / "test_private_widgets.py").write_text('client.get("/private/other")\n')
    errors = chain_errors(_fake_app("private_delete_widgets_id"), tmp_path)
    assert errors == ["DELETE /private/widgets/<widget_id>: test_private_widgets.py"
                      " does not mention it"]


def test_an_operation_calling_another_procedure_is_caught():
    source = '''
_SQL = "SELECT out_status FROM pay_order(%s)"

def pay_order(conn):
    return conn.execute("SELECT out_status FROM pay_order(%s)", (1,))

def settle_order(conn):
    return conn.execute(_SQL, (1,))

def _pay_order(conn):
    return conn.execute(_SQL, (1,))

def lookup_order(conn):
    return conn.execute("SELECT * FROM orders")
'''
    assert operation_errors(source, "orders", {"pay_order"}) == [
        "orders.settle_order selects from pay_order"]
