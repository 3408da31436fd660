"""Deeply nested JSON on every JSON endpoint of the real server: 400/22, a quiet log.

It used to be a 500 with a traceback of thousands of lines in the log (null-dropping
recursed over the body before anything checked its depth).
"""
import re

import pytest
import requests

from tests import factories
from tests.e2e.hostile import check_clean
from tests.support.server import running, serve_env, token_headers

pytestmark = pytest.mark.e2e

DEPTHS = (33, 500, 950, 100_000)


def _nested(depth: int, key: bytes = b"x") -> bytes:
    return b'{"' + key + b'": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def _json_operations(server):
    """(method, path) of every operation with a JSON body, from /openapi.json."""
    doc = server.get("/openapi.json").json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                yield method.upper(), re.sub(r"\{[^}]+\}", "p", path)


@pytest.fixture
def server(database_url):
    with running(serve_env(database_url)) as server:
        yield server


def test_deep_nesting_is_400_22_on_every_json_endpoint_and_never_logged(server, database_url,
                                                                         db):
    admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
    operations = sorted(set(_json_operations(server)))
    assert len(operations) >= 10, operations
    log_before = len(server.text())
    for method, path in operations:
        # The token endpoint takes the password; every other one a token.
        credentials = factories.basic("admin", factories.ADMIN_PASSWORD) \
            if path.endswith("/private/token") else admin
        for depth in DEPTHS:
            body = _nested(depth)
            resp = requests.request(method, server.base + path, data=body, timeout=30,
                                    headers={**credentials, "Content-Type": "application/json"})
            assert resp.status_code == 400, (method, path, depth, resp.text[:200])
            answer = resp.json()
            assert answer["code"] == 22 and "nested deeper than 32" in answer["detail"], \
                (method, path, depth, answer)
            # Without credentials too: the nesting is refused before authentication.
            resp = requests.request(method, server.base + path, data=body, timeout=30,
                                    headers={"Content-Type": "application/json"})
            assert (resp.status_code, resp.json()["code"]) == (400, 22), \
                (method, path, depth, resp.text[:200])
    # At the limit the body is parsed: the schema answers (not code 22).
    resp = requests.patch(server.base + "/private", data=_nested(32, b"name"), timeout=30,
                          headers={**admin, "Content-Type": "application/json"})
    assert (resp.status_code, resp.json()["code"], resp.json()["detail"]) == (400, 26, "name"), \
        resp.text
    # Brackets inside strings do not count.
    resp = requests.patch(server.base + "/private", json={"name": "[" * 1000}, timeout=30,
                          headers=admin)
    assert resp.status_code == 204, resp.text
    log = server.text()[log_before:]
    assert "Traceback" not in log and len(log) < 2000, log[:2000]
    assert db.execute("SELECT name FROM instances WHERE instance_id = 'admin'") \
        .fetchone()["name"] == "[" * 1000
    assert server.stop() == 0
    check_clean(database_url)
