"""The back-office's static files: served at [/instances/$I]/webui/, self-contained."""
import re

from taler_inventory.webui import STATIC
from tests.checks import assert_error


def test_the_page_is_served_for_every_instance(client):
    for prefix in ("", "/instances/shop1"):
        # A file answer streams from an open file: close it, as a server does.
        with client.get(f"{prefix}/webui/") as resp:
            assert resp.status_code == 200, prefix
            assert resp.mimetype == "text/html"
            assert b'<script type="module" src="js/main.js">' in resp.data
            policy = resp.headers["Content-Security-Policy"]
            assert "default-src 'none'" in policy and "connect-src 'self'" in policy
        with client.get(f"{prefix}/webui/js/main.js") as script:
            assert script.status_code == 200 and script.mimetype in ("text/javascript",
                                                                      "application/javascript")


def test_webui_without_the_slash_redirects(client):
    resp = client.get("/instances/shop1/webui")
    assert resp.status_code == 308 and resp.headers["Location"] == "webui/"


def test_an_unknown_file_is_a_json_404(client):
    assert_error(client.get("/webui/no-such-file.js"), 404, 21)
    assert_error(client.get("/webui/../setup.cfg"), 404, 21)


def test_no_file_asks_another_origin():
    """No CDN, font or script from elsewhere: every URL in the files is relative."""
    for path in STATIC.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text), path
            assert not re.search(r"""(?:import|url\()\s*["']?(?:https?:)?//""", text), path
            assert "fetch(" not in text or path.name == "api.js", path
