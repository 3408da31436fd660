"""The ``taler-inventory`` command: dbinit, passwd, gc and the admin bootstrap."""

import psycopg
from click.testing import CliRunner
from freezegun import freeze_time

from taler_inventory import auth, cli
from tests import factories
from tests.checks import assert_error

CHEAP_HASHES = {"TALER_INVENTORY_ARGON2_TIME_COST": "1",
                "TALER_INVENTORY_ARGON2_MEMORY_COST": "64"}


def run(url, *args, input=None, **env):
    """Run the real command in-process against ``url``; return the click Result."""
    environ = {"TALER_INVENTORY_DATABASE_URL": url, "TALER_INVENTORY_ADMIN_PASSWORD": None,
               **CHEAP_HASHES, **env}
    return CliRunner().invoke(cli.main, list(args), env=environ, input=input,
                              catch_exceptions=False)


def _admin_hash(url):
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT password_hash FROM inventory.instances"
                           " WHERE instance_id = 'admin'").fetchone()
    return row and row[0]


def _verify(stored, password):
    return auth.Passwords().verify(stored, password)


# -- dbinit ---------------------------------------------------------------------------------

def test_dbinit_creates_schema_and_admin_from_environment(scratch_url):
    result = run(scratch_url, "dbinit", TALER_INVENTORY_ADMIN_PASSWORD="boot-pw")
    assert result.exit_code == 0, result.output
    assert "schema up to date" in result.output
    assert _verify(_admin_hash(scratch_url), "boot-pw")
    assert "boot-pw" not in result.output


def test_dbinit_twice_is_a_noop(scratch_url):
    run(scratch_url, "dbinit", TALER_INVENTORY_ADMIN_PASSWORD="pw")
    stored = _admin_hash(scratch_url)
    result = run(scratch_url, "dbinit", TALER_INVENTORY_ADMIN_PASSWORD="pw")
    assert result.exit_code == 0 and "(0 patches applied)" in result.output
    assert _admin_hash(scratch_url) == stored  # same password: nothing rewritten


def test_dbinit_without_password_makes_one_up_once(scratch_url):
    result = run(scratch_url, "dbinit")
    assert result.exit_code == 0
    line = next(l for l in result.output.splitlines() if "password" in l)
    generated = line.rsplit(" ", 1)[1]
    assert len(generated) >= 16 and _verify(_admin_hash(scratch_url), generated)
    again = run(scratch_url, "dbinit")
    assert "password:" not in again.output
    assert _verify(_admin_hash(scratch_url), generated)


def test_dbinit_reset_loses_all_data(scratch_url):
    run(scratch_url, "dbinit", TALER_INVENTORY_ADMIN_PASSWORD="pw")
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        conn.execute("INSERT INTO inventory.instances (instance_id, name, password_hash,"
                     " default_pay_delay, max_lock_duration) VALUES ('shop1', 's', 'h', 0, 0)")
    result = run(scratch_url, "dbinit", "--reset", TALER_INVENTORY_ADMIN_PASSWORD="pw")
    assert result.exit_code == 0, result.output
    with psycopg.connect(scratch_url) as conn:
        ids = [r[0] for r in conn.execute("SELECT instance_id FROM inventory.instances")]
    assert ids == ["admin"]


def test_changed_admin_password_in_environment_resets_it(client, database_url, db):
    headers = factories.auth_headers(factories.token(client, "admin", factories.ADMIN_PASSWORD))
    # Same password: the admin keeps its tokens.
    run(database_url, "dbinit", TALER_INVENTORY_ADMIN_PASSWORD=factories.ADMIN_PASSWORD)
    assert client.get("/private", headers=headers).status_code == 200
    # Another password: old tokens stop working, the new password opens.
    run(database_url, "dbinit", TALER_INVENTORY_ADMIN_PASSWORD="rotated")
    assert_error(client.get("/private", headers=headers), 401, 2015)
    factories.token(client, "admin", "rotated")


# -- passwd ---------------------------------------------------------------------------------

def test_passwd_changes_password_and_revokes_tokens(client, admin_headers, database_url, db):
    shop = factories.instance_headers(client, admin_headers, "shop1")
    result = run(database_url, "passwd", "--instance", "shop1", "fresh-pw")
    assert result.exit_code == 0, result.output
    assert "fresh-pw" not in result.output
    assert_error(client.get("/instances/shop1/private", headers=shop), 401, 2015)
    assert_error(client.post("/instances/shop1/private/token", json={"scope": "all"},
                             headers=factories.basic("shop1", "pw-" + "x" * 8)), 401, 2015)
    factories.token(client, "shop1", "fresh-pw")
    # The admin is untouched.
    assert client.get("/private", headers=admin_headers).status_code == 200


def test_passwd_of_admin_by_default_with_prompt(client, admin_headers, database_url):
    result = run(database_url, "passwd", input="typed-pw\ntyped-pw\n")
    assert result.exit_code == 0, result.output
    assert_error(client.get("/private", headers=admin_headers), 401, 2015)
    factories.token(client, "admin", "typed-pw")


def test_passwd_of_unknown_instance_fails(database_url, db):
    result = CliRunner().invoke(cli.main, ["passwd", "--instance", "nosuch", "pw"],
                                env={"TALER_INVENTORY_DATABASE_URL": database_url, **CHEAP_HASHES})
    assert result.exit_code != 0
    assert "nosuch" in result.output
    assert db.execute("SELECT count(*) AS n FROM instances WHERE instance_id = 'nosuch'") \
        .fetchone()["n"] == 0


def test_passwd_creates_the_admin_instance_if_needed(scratch_url):
    result = run(scratch_url, "passwd", "first-pw")
    assert result.exit_code == 0, result.output
    assert _verify(_admin_hash(scratch_url), "first-pw")


# -- gc --------------------------------------------------------------------------------------

def test_gc_removes_expired_tokens_only(client, database_url, db):
    with freeze_time("2020-01-01 00:00:00"):
        factories.token(client, "admin", factories.ADMIN_PASSWORD, duration={"d_us": 1_000_000})
    live = factories.token(client, "admin", factories.ADMIN_PASSWORD)
    result = run(database_url, "gc")
    assert result.exit_code == 0, result.output
    assert "expired tokens removed: 1" in result.output
    assert db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"] == 1
    assert client.get("/private", headers=factories.auth_headers(live)).status_code == 200


def test_version_and_help():
    assert CliRunner().invoke(cli.main, ["--version"]).exit_code == 0
    result = CliRunner().invoke(cli.main, ["--help"])
    for command in ("serve", "dbinit", "passwd", "gc", "check"):
        assert command in result.output
    serve_help = CliRunner().invoke(cli.main, ["serve", "--help"]).output
    for option in ("--host", "--port", "--workers"):
        assert option in serve_help
