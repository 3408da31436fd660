"""The examples of doc/api.rst, sent in the order of the page to the real server.

An example is a literal block that starts with a request line (``POST /private/...``,
then headers, a blank line and the JSON body, or for a GET the JSON answer), or an
inline ````GET /path`` answers 200::``.  Its status is the one the text gives right
after it ("204." / "200::"); an answer shown must have the keys and the types the
real answer has (times, secrets and counters differ from run to run).
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests import factories

from tests.support.server import Server, serve_env, token_headers

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "doc" / "api.rst"
REQUEST_LINE = re.compile(r"^(GET|POST|PATCH|PUT|DELETE) (/\S*)$")
INLINE = re.compile(r"``(GET|POST|PATCH|PUT|DELETE) (/[^`$ ]*)`` answers (\d{3})")
STATUS = re.compile(r"^(\d{3})\b")
# A note at the end of a line of a request body: two spaces, then "(...)".
NOTE = re.compile(r"\s{2,}\([^\"]*\)\s*$")


@dataclass
class Example:
    line: int
    method: str
    path: str
    body: object
    status: int
    answer: object


def _blocks(lines):
    """{line index of the '::' paragraph end: (first, last) line of its block}."""
    blocks = {}
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        first = j
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith("    ")):
            j += 1
        blocks[i] = (first, j)
    return blocks


def _text(lines, first, last) -> list[str]:
    return [line[4:] for line in lines[first:last]]


def _json(text_lines, strip_notes=False):
    text = "\n".join(NOTE.sub("", line) if strip_notes else line for line in text_lines)
    return json.loads(text) if text.strip() else None


def _status_after(lines, blocks, end):
    """The status that the text right after a block gives, and the answer shown."""
    j = end
    while j < len(lines) and not lines[j].strip():
        j += 1
    match = STATUS.match(lines[j]) if j < len(lines) else None
    assert match, f"doc/api.rst:{j + 1}: no status after the example"
    answer = None
    if lines[j].rstrip().endswith("::"):
        answer = _json(_text(lines, *blocks[j]))
    return int(match.group(1)), answer


def examples() -> list[Example]:
    lines = DOC.read_text().splitlines()
    blocks = _blocks(lines)
    block_starts = {first: (first, last) for first, last in blocks.values()}
    found = []
    for i, line in enumerate(lines):
        if i in block_starts:
            first, last = block_starts[i]
            request = REQUEST_LINE.match(lines[first].strip())
            if not request:
                continue
            text = _text(lines, first, last)
            blank = text.index("") if "" in text else len(text)
            rest = text[blank + 1:]
            method, path = request.groups()
            if method == "GET":
                found.append(Example(first + 1, method, path, None, 200, _json(rest)))
            else:
                status, answer = _status_after(lines, blocks, last)
                found.append(Example(first + 1, method, path, _json(rest, strip_notes=True),
                                     status, answer))
        elif not line.startswith("    "):
            for method, path, status in INLINE.findall(line):
                answer = None
                if line.rstrip().endswith("::") and line.rstrip().endswith(f"{status}::"):
                    answer = _json(_text(lines, *blocks[i]))
                found.append(Example(i + 1, method, path, None, int(status), answer))
    return found


def assert_shape(shown, actual, where):
    """Every key shown is there, with a value of the same type, recursively."""
    if isinstance(shown, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        for key, value in shown.items():
            assert key in actual, f"{where}: no {key!r} in {sorted(actual)}"
            assert_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
        if shown:
            assert actual, f"{where}: the answer's list is empty"
            assert_shape(shown[0], actual[0], f"{where}[0]")
    elif shown is not None:
        kinds = (bool,) if isinstance(shown, bool) else (int, float) \
            if isinstance(shown, (int, float)) else (type(shown),)
        assert isinstance(actual, kinds) and isinstance(actual, bool) == isinstance(
            shown, bool), f"{where}: {actual!r} is not like {shown!r}"


def test_the_page_has_examples_of_every_kind():
    found = examples()
    assert {e.method for e in found} >= {"GET", "POST", "PATCH"}
    assert len(found) >= 10 and sum(e.answer is not None for e in found) >= 5


def test_the_examples_of_doc_api_work_in_order(database_url, db):
    server = Server(serve_env(database_url), workers=1)
    try:
        server.wait_ready()
        admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
        for example in examples():
            where = f"doc/api.rst:{example.line} {example.method} {example.path}"
            resp = requests.request(example.method, server.base + example.path,
                                    json=example.body, headers=admin, timeout=10)
            assert resp.status_code == example.status, (where, resp.text[:500])
            if example.answer is not None:
                assert_shape(example.answer, resp.json(), where)
        # The story ends as told: the order took the cart's lock over.
        assert db.execute("SELECT count(*) AS n FROM holds WHERE lock_uuid IS NOT NULL") \
            .fetchone()["n"] == 0
        assert db.execute("SELECT order_id FROM orders").fetchone()["order_id"] == "2026-0042"
    finally:
        server.kill()
