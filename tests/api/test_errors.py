"""Every error is a Taler ErrorDetail in JSON: routing, bodies, sizes, encodings."""
import gzip
import io
import json
import zlib

import pytest

from taler_inventory import create_app
from tests.checks import assert_error
from tests.conftest import TEST_SETTINGS

LIMIT = 1024 * 1024  # the default MAX_BODY_SIZE


def _patch(client, headers, data, **extra_headers):
    return client.patch("/private", data=data,
                        headers={**headers, "Content-Type": "application/json", **extra_headers})


def _name(db):
    return db.execute("SELECT name FROM instances WHERE instance_id = 'admin'").fetchone()["name"]


# -- routing ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/nosuch", "/private/nosuch", "/config/", "/private/",
                                 "/instances/shop1/nosuch", "/management", "/favicon.ico",
                                 "/instances/", "/%ff"])
def test_unknown_endpoint_is_404_21(client, url):
    body = assert_error(client.get(url), 404, 21)
    assert "<" not in json.dumps(body)


@pytest.mark.parametrize("method, url, allowed", [
    ("post", "/config", {"GET"}),
    ("put", "/private", {"GET", "PATCH"}),
    ("delete", "/management/instances", {"GET", "POST"}),
    ("get", "/private/auth", {"POST"}),
    ("put", "/instances/shop1/private/token", {"POST", "DELETE"}),
])
def test_wrong_method_is_405_20(client, method, url, allowed):
    resp = getattr(client, method)(url)
    assert_error(resp, 405, 20)
    assert allowed <= {m.strip() for m in resp.headers["Allow"].split(",")}


# -- bodies ------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"{", b"", b"nul", b'{"name": "x",}', b"\xff\xfe",
                                  b'{"name": NaN}', b'{"name": Infinity}', b"[1,2]", b'"str"',
                                  b"null", b"[" * 100000 + b"]" * 100000])
def test_invalid_json_is_400_22(client, admin_headers, db, data):
    assert_error(_patch(client, admin_headers, data), 400, 22)
    assert _name(db) == "admin"


def test_missing_field_is_400_25_naming_it(client, admin_headers):
    resp = client.post("/private/auth", headers=admin_headers, json={"method": "token"})
    body = assert_error(resp, 400, 25)
    assert body["detail"] == "password" and body["parameter"] == "password"
    assert "password" in body["hint"]


def test_nested_field_is_named_with_its_path(client, admin_headers):
    resp = client.post("/management/instances", headers=admin_headers,
                       json={"id": "shop1", "name": "x", "auth": {"method": "token"}})
    assert assert_error(resp, 400, 25)["detail"] == "auth.password"


@pytest.mark.parametrize("data, field", [
    ({"name": 5}, "name"),
    ({"name": ["x"]}, "name"),
    ({"default_pay_delay": {"d_us": 1.0}}, "default_pay_delay"),
    ({"default_pay_delay": {"d_us": 1e3}}, "default_pay_delay"),
    ({"default_pay_delay": {"d_us": True}}, "default_pay_delay"),
    ({"default_pay_delay": {"d_us": 2**63}}, "default_pay_delay"),
    ({"max_active_locks": "3"}, "max_active_locks"),
    ({"use_stefan": 1}, "use_stefan"),
    ({"address": "Bern"}, "address"),
])
def test_malformed_field_is_400_26_naming_it(client, admin_headers, db, data, field):
    body = assert_error(client.patch("/private", headers=admin_headers, json=data), 400, 26)
    assert body["detail"] == field
    assert _name(db) == "admin"


def test_wrong_content_type_is_415(client, admin_headers, db):
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        resp = client.patch("/private", headers=admin_headers, data=b'{"name": "x"}',
                            content_type=ctype)
        assert_error(resp, 415, 10101)
    assert _name(db) == "admin"


def test_json_content_types_are_accepted(client, admin_headers, db):
    for ctype in ("application/json", "application/json; charset=utf-8",
                  "application/problem+json"):
        resp = client.patch("/private", headers=admin_headers, data=b'{"name": "y"}',
                            content_type=ctype)
        assert resp.status_code == 204, resp.get_json()
    assert _name(db) == "y"


# -- size limit -----------------------------------------------------------------------------

def test_oversized_body_is_413_32(client, admin_headers, db):
    data = json.dumps({"name": "x", "logo": "a" * LIMIT}).encode()
    assert_error(_patch(client, admin_headers, data), 413, 32)
    assert _name(db) == "admin"


def test_oversized_body_without_content_length_is_413(client, admin_headers, db):
    data = json.dumps({"name": "x", "logo": "a" * LIMIT}).encode()
    # A chunked upload: no Content-Length; the server reads up to the limit only.
    resp = client.patch("/private", input_stream=io.BytesIO(data),
                        headers={**admin_headers, "Content-Type": "application/json"},
                        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
    assert not resp.request.content_length  # only the read limit can catch it
    assert_error(resp, 413, 32)
    assert _name(db) == "admin"


def test_body_at_the_limit_is_accepted(client, admin_headers, db):
    head = b'{"name": "z", "website": "'
    data = head + b"w" * (LIMIT - len(head) - 2 - 1024) + b'"}'
    data = data + b" " * (LIMIT - len(data))
    assert len(data) == LIMIT
    assert _patch(client, admin_headers, data).status_code == 400  # website too long: 26
    assert _name(db) == "admin"


# -- compression ---------------------------------------------------------------------------

def test_gzip_body_is_accepted(client, admin_headers, db):
    data = gzip.compress(json.dumps({"name": "gzipped"}).encode())
    resp = _patch(client, admin_headers, data, **{"Content-Encoding": "gzip"})
    assert resp.status_code == 204, resp.get_json()
    assert _name(db) == "gzipped"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_deflate_body_is_accepted(client, admin_headers, db, wbits):
    packer = zlib.compressobj(wbits=wbits)
    data = packer.compress(json.dumps({"name": "deflated"}).encode()) + packer.flush()
    resp = _patch(client, admin_headers, data, **{"Content-Encoding": "deflate"})
    assert resp.status_code == 204, resp.get_json()
    assert _name(db) == "deflated"


def test_gzip_bomb_is_413(client, admin_headers, db):
    # 16 MiB of spaces inside a JSON string: about 16 KiB compressed.
    inflated = b'{"name": "bomb", "logo": "' + b" " * (16 * LIMIT) + b'"}'
    data = gzip.compress(inflated, compresslevel=9)
    assert len(data) < LIMIT // 8
    resp = _patch(client, admin_headers, data, **{"Content-Encoding": "gzip"})
    assert_error(resp, 413, 32)
    assert _name(db) == "admin"


def test_deflate_bomb_is_413(client, admin_headers, db):
    data = zlib.compress(b"[" + b" " * (8 * LIMIT) + b"]", 9)
    resp = _patch(client, admin_headers, data, **{"Content-Encoding": "deflate"})
    assert_error(resp, 413, 32)


@pytest.mark.parametrize("encoding, data", [
    ("gzip", b"this is not gzip"),
    ("deflate", b"this is not deflate either"),
    ("gzip", gzip.compress(b'{"name": "truncated"}')[:-12]),
    ("deflate", zlib.compress(b'{"name": "truncated"}')[:-6]),
    ("gzip", gzip.compress(b'{"name": "x"}') + b"trailing garbage"),
    ("gzip", b""),
], ids=["not-gzip", "not-deflate", "truncated-gzip", "truncated-deflate", "trailing-garbage",
        "empty"])
def test_bad_compression_is_400_28(client, admin_headers, db, encoding, data):
    resp = _patch(client, admin_headers, data, **{"Content-Encoding": encoding})
    body = assert_error(resp, 400, 28)
    assert body["detail"]  # what is wrong with the stream (was absent for garbage)
    assert _name(db) == "admin"


def test_unsupported_content_encoding_is_415(client, admin_headers, db):
    resp = _patch(client, admin_headers, b'{"name": "x"}', **{"Content-Encoding": "br"})
    assert_error(resp, 415, 10101)
    assert _name(db) == "admin"


def test_identity_encoding_is_plain(client, admin_headers, db):
    resp = _patch(client, admin_headers, b'{"name": "plain"}', **{"Content-Encoding": "identity"})
    assert resp.status_code == 204
    assert _name(db) == "plain"


# -- the unexpected --------------------------------------------------------------------

def test_unexpected_exception_is_500_json_without_trace(database_url):
    app = create_app(dict(TEST_SETTINGS, DATABASE_URL=database_url))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    resp = app.test_client().get("/boom")
    body = assert_error(resp, 500, 60)
    assert "secret internals" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    assert set(body) == {"code", "hint"}


def test_repeated_server_errors_cannot_flood_the_log(database_url, caplog):
    """At most LOG_ERRORS_PER_MINUTE full reports a minute, each of bounded length."""
    app = create_app(dict(TEST_SETTINGS, DATABASE_URL=database_url, LOG_ERRORS_PER_MINUTE=3))

    def deep(n):
        return deep(n - 1) if n else 1 / 0

    @app.get("/deep")
    def deep_error():
        return deep(500)

    client = app.test_client()
    with caplog.at_level("ERROR", logger="taler_inventory.errors"):
        statuses = [client.get("/deep").status_code for _ in range(50)]
    assert statuses == [500] * 50
    reports = [r for r in caplog.records if r.getMessage().startswith("unexpected error")]
    assert len(reports) == 3
    # A 500-frame traceback is cut to its last frames.
    assert all(r.getMessage().count("\n") < 60 for r in reports), reports[0].getMessage()
    assert "ZeroDivisionError" in reports[0].getMessage()


# -- what the HTTP server rejects before the app ----------------------------------------

@pytest.mark.parametrize("status, message, want_status, want_code", [
    (400, "the chunked request body is malformed", 400, 26),
    (414, "the request target is longer than 4094 bytes", 414, 31),
    (431, "header x is longer than 8190 bytes", 431, 26),
    (501, "Unsupported transfer coding: 'foo'", 400, 26),
    (500, "", 500, 60),
])
def test_server_level_errors_are_error_details(status, message, want_status, want_code):
    # What the HTTP server refuses before the app (over-long target or header field,
    # a failure outside the app) is rendered by wire_error as an ErrorDetail too.
    from taler_inventory.errors import wire_error

    got_status, payload = wire_error(status, message)
    assert got_status == want_status
    body = json.loads(payload)
    assert body["code"] == want_code and isinstance(body["hint"], str)
    if want_code == 60:
        assert "detail" not in body
    else:
        assert body["detail"] == message
    assert b"<" not in payload


class _BrokenChunks(io.BytesIO):
    """A streamed request body whose connection breaks while it is read."""

    def read(self, *args):
        raise ConnectionResetError("connection reset while reading the body")

    readline = read


def test_broken_chunked_body_is_400_26_naming_the_body(client, admin_headers, db):
    resp = client.patch("/private", input_stream=_BrokenChunks(),
                        headers={**admin_headers, "Content-Type": "application/json"},
                        environ_overrides={"wsgi.input_terminated": True})
    body = assert_error(resp, 400, 26)
    assert body["detail"] == "body" and body["parameter"] == "body"
    assert _name(db) == "admin"
