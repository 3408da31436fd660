"""Assertions shared by the API tests."""


def assert_error(resp, status: int, code: int) -> dict:
    """Assert a Taler ErrorDetail response with ``status`` and ``code``; return its body."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "application/json", resp.get_data(as_text=True)[:200]
    body = resp.get_json()
    assert body["code"] == code, body
    assert isinstance(body["hint"], str) and body["hint"], body
    return body
