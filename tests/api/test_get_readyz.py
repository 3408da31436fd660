"""``GET /readyz``: whether the database answers, for load balancers."""
from tests.checks import assert_error


def test_ready_when_the_database_answers(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ready", "database": "ok"}


def test_503_when_the_database_does_not_answer(unreachable_app):
    body = assert_error(unreachable_app.test_client().get("/readyz"), 503, 51)
    assert body["hint"] == "The database is unreachable."


def test_needs_no_credentials_and_changes_nothing(client, db):
    before = db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"]
    assert client.get("/readyz", headers={"Authorization": "Bearer nonsense"}).status_code == 200
    assert client.post("/readyz").status_code == 405
    assert db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"] == before
