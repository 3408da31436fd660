"""End to end: the real ``taler-inventory serve`` process, spoken to over HTTP."""
import json
import re
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests import factories
from tests.support.server import Server, serve_env, stop_leftover_postgres, token_headers

pytestmark = pytest.mark.e2e


def _walk(server, admin_password, new_instance):
    """What a new user does first: config, a token, a second instance and its token."""
    config = server.get("/config")
    assert config.status_code == 200 and config.json()["name"] == "taler-merchant"
    admin = token_headers(server, "admin", admin_password)
    resp = server.post("/management/instances", headers=admin, json={
        "id": new_instance, "name": "Second shop",
        "auth": {"method": "token", "password": "second-pw"}})
    assert resp.status_code == 204, resp.text
    shop = token_headers(server, new_instance, "second-pw")
    resp = server.get(f"/instances/{new_instance}/private", headers=shop)
    assert resp.status_code == 200 and resp.json()["id"] == new_instance
    # Errors are JSON over the wire too, never HTML.
    resp = server.get("/no/such/endpoint")
    assert resp.status_code == 404 and resp.json()["code"] == 21
    resp = server.get(f"/instances/{new_instance}/private", headers=admin)
    assert resp.status_code == 401 and resp.json()["code"] == 2015
    resp = requests.get(server.base + "/instances/admin/private?x=1", timeout=10,
                        allow_redirects=False)
    assert resp.status_code == 308 and resp.headers["Location"] == "/private?x=1"
    return admin


def _exchange(server, data: bytes) -> tuple[bytes, bytes]:
    """Send raw bytes; return the head and the body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            head, _, payload = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length and len(payload) >= int(length.group(1)):
                break
    head, _, payload = answer.partition(b"\r\n\r\n")
    return head, payload


def _raw(server, data: bytes) -> tuple[int, dict]:
    """Send raw bytes; return the status and JSON body of the answer."""
    head, payload = _exchange(server, data)
    assert re.search(rb"(?i)content-type: application/json", head), head[:300]
    return int(head.split()[1]), json.loads(payload)


def _raw_status(server, data: bytes) -> tuple[int, bytes]:
    """Send raw bytes; return the status and the body of an answer of any type."""
    head, payload = _exchange(server, data)
    return int(head.split()[1]), payload


def _wire_errors(server, admin):
    """What the HTTP server rejects before the app is an ErrorDetail where it can be."""
    auth = b"Authorization: " + admin["Authorization"].encode() + b"\r\n"
    status, body = _raw(server, b"GET /private/products/" + b"x" * 5000 + b" HTTP/1.1\r\n"
                        b"Host: x\r\n\r\n")
    assert (status, body["code"]) == (414, 31), body
    status, body = _raw(server, b"GET /config HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 10000
                        + b"\r\n\r\n")
    assert (status, body["code"]) == (431, 26), body
    # Raw UTF-8 in the target is taken as the product id it spells (hyper accepts it).
    status, body = _raw(server, "GET /private/products/\u00fc HTTP/1.1\r\nHost: x\r\n"
                        .encode() + auth + b"\r\n")
    assert (status, body["code"], body["detail"]) == (404, 2006, "\u00fc"), body
    status, body = _raw(server, b"PATCH /private HTTP/1.1\r\nHost: x\r\n" + auth
                        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                        b"\r\nzz\r\n{}\r\n0\r\n\r\n")
    assert (status, body["code"], body["detail"]) == (400, 26, "body"), body
    # A body that never arrives in full: answered once BODY_TIMEOUT (2 s here) is up.
    started = time.monotonic()
    status, body = _raw(server, b"PATCH /private HTTP/1.1\r\nHost: x\r\n" + auth
                        + b"Content-Type: application/json\r\nContent-Length: 100\r\n"
                        b"\r\n{\"name\": ")
    assert (status, body["code"], body["detail"]) == (400, 26, "body"), body
    assert 1.5 < time.monotonic() - started < 9
    # What hyper refuses while parsing the head is its own empty answer (doc/errors.rst):
    # never HTML, never a 500.
    for raw, want in [(b"GET\r\n\r\n", 400),
                      (b"GET /config HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n", 400),
                      (b"POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", 400),
                      (b"GET /config HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i
                                                           for i in range(150)) + b"\r\n", 431)]:
        assert _raw_status(server, raw) == (want, b""), raw[:40]
    assert db_name_unchanged(server, admin)


def db_name_unchanged(server, admin) -> bool:
    return server.get("/private", headers=admin).json()["name"] == "admin"


def test_serve_against_the_configured_database(database_url, db):
    server = Server(serve_env(database_url, BODY_TIMEOUT="2"))
    try:
        server.wait_ready()
        admin = _walk(server, factories.ADMIN_PASSWORD, "shop2")
        row = db.execute("SELECT name, deleted FROM instances WHERE instance_id = 'shop2'") \
            .fetchone()
        assert row == {"name": "Second shop", "deleted": False}
        # Several requests in parallel, spread over the workers.
        results = []

        def hit():
            results.append(server.get("/private", headers=admin).status_code)

        threads = [threading.Thread(target=hit) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == [200] * 8
        _wire_errors(server, admin)
        assert db.execute("SELECT name FROM instances WHERE instance_id = 'admin'") \
            .fetchone()["name"] == "admin"
        assert "password:" not in server.text()  # a configured password is never printed
        assert server.stop() == 0
    finally:
        server.kill()


def test_serve_on_the_embedded_default():
    data_dir = Path(tempfile.mkdtemp(prefix="taler-inventory-e2e-"))
    env = {"TALER_INVENTORY_DATA_DIR": str(data_dir)}
    server = Server(env)
    try:
        server.wait_ready()
        match = re.search(r"password: (\S+)", server.text())
        assert match, server.text()
        password = match.group(1)
        _walk(server, password, "shop2")
        assert server.stop() == 0
        # The private PostgreSQL server stopped with it.
        assert not (data_dir / "pgdata" / "postmaster.pid").exists()

        # Restart: the data is still there and no new password is made up.
        server = Server(env)
        server.wait_ready()
        assert "password:" not in server.text()
        shop = token_headers(server, "shop2", "second-pw")
        assert server.get("/instances/shop2/private", headers=shop).json()["name"] \
            == "Second shop"
        admin = token_headers(server, "admin", password)
        ids = {i["id"] for i in server.get("/management/instances", headers=admin)
               .json()["instances"]}
        assert ids == {"admin", "shop2"}
        assert server.stop() == 0
        assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    finally:
        server.kill()
        stop_leftover_postgres(data_dir / "pgdata")
        shutil.rmtree(data_dir, ignore_errors=True)
