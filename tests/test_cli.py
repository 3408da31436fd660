"""The ``taler-inventory`` command: dbinit, passwd, gc, the admin bootstrap, set-up
errors (the real command: one line, exit status 2) and ``--help``."""
import os
import socket
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from psycopg.conninfo import make_conninfo

from taler_inventory import auth, cli, config
from tests import factories
from tests.checks import assert_error
from tests.support.server import cli_command, free_port

README = Path(__file__).resolve().parents[1] / "README.rst"

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
    line = next(ln for ln in result.output.splitlines() if "password" in ln)
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
    for name in ("serve", "dbinit", "passwd", "gc", "check", "backup", "restore"):
        assert name in result.output
    serve_help = CliRunner().invoke(cli.main, ["serve", "--help"]).output
    for option in ("--host", "--port", "--workers"):
        assert option in serve_help


# -- the real command: set-up errors are one line and exit status 2 ----------------------

def command(*args, timeout=120, **env) -> subprocess.CompletedProcess:
    """Run the installed ``taler-inventory`` in a clean environment plus ``env``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TALER_INVENTORY_")}
    environ.update(CHEAP_HASHES, **env)
    return subprocess.run(cli_command() + list(args), env=environ, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_setup_error(result, *fragments) -> str:
    """Exit status 2 and exactly one line on stderr that contains ``fragments``."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("taler-inventory: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.stdout
    return lines[0]


def _instances(url):
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT instance_id FROM inventory.instances")]


@pytest.mark.parametrize("url, fragments", [
    ("postgresql://u@nosuch.invalid/db", ["nosuch.invalid", "DATABASE_URL"]),
    ("postgresql://u@127.0.0.1:{port}/db", ["Connection refused", "DATABASE_URL"]),
    ("host=localhost port", ["not a PostgreSQL URL", "missing \"=\""]),
    ("postgresql://u:secret-pw@[oops", ["not a PostgreSQL URL", "u:***@"]),
])
def test_database_url_that_cannot_work_is_one_line(url, fragments):
    result = command("dbinit", TALER_INVENTORY_DATABASE_URL=url.format(port=free_port()))
    line = assert_setup_error(result, *fragments)
    assert "secret-pw" not in line


@pytest.mark.parametrize("part, value, fragment", [
    ("user", "nosuch_role", 'role "nosuch_role" does not exist'),
    ("dbname", "nosuch_db", 'database "nosuch_db" does not exist'),
])
def test_unknown_role_or_database_is_one_line(database_url, db, part, value, fragment):
    result = command("gc", TALER_INVENTORY_DATABASE_URL=make_conninfo(database_url,
                                                                      **{part: value}))
    assert_setup_error(result, fragment, "DATABASE_URL")
    assert db.execute("SELECT count(*) AS n FROM pg_database WHERE datname = 'nosuch_db'") \
        .fetchone()["n"] == 0


@pytest.mark.parametrize("key, value, fragment", [
    ("POOL_MAX_SIZE", "lots", "TALER_INVENTORY_POOL_MAX_SIZE='lots' is not a whole number"),
    ("POOL_TIMEOUT", "soon", "TALER_INVENTORY_POOL_TIMEOUT='soon' is not a number"),
    ("POOL_MAX_SIZE", "0", "TALER_INVENTORY_POOL_MAX_SIZE='0' is too small"),
    ("ACCESS_LOG", "maybe", "TALER_INVENTORY_ACCESS_LOG='maybe' is not yes or no"),
    ("LOG_LEVEL", "loud", "TALER_INVENTORY_LOG_LEVEL='loud' is unknown"),
    ("METRICS_ALLOW", "10.0.0.0/33", "TALER_INVENTORY_METRICS_ALLOW='10.0.0.0/33'"),
])
def test_unreadable_setting_is_one_line(database_url, key, value, fragment):
    result = command("gc", TALER_INVENTORY_DATABASE_URL=database_url,
                     **{f"TALER_INVENTORY_{key}": value})
    assert_setup_error(result, fragment)


def test_debug_shows_the_traceback(database_url):
    env = {"TALER_INVENTORY_DATABASE_URL": database_url, "TALER_INVENTORY_POOL_MAX_SIZE": "x"}
    result = command("--debug", "gc", **env)
    assert result.returncode == 1 and "Traceback" in result.stderr
    assert "SetupError" in result.stderr
    result = command("gc", TALER_INVENTORY_DEBUG="yes", **env)
    assert result.returncode == 1 and "Traceback" in result.stderr


def _read_only_mount(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip("cannot mount a read-only file system here (needs root)")
    return target


@pytest.mark.parametrize("case", ["file", "through_a_file", "missing_under_proc",
                                  "unwritable", "read_only"])
def test_data_directory_that_cannot_be_used_is_one_line(tmp_path, case):
    fragment = {"file": "it is a file", "through_a_file": "a part of the path is a file",
                "missing_under_proc": "No such file or directory",
                "unwritable": "cannot write in the data directory",
                "read_only": "Read-only file system"}[case]
    if case in ("file", "through_a_file"):
        (tmp_path / "afile").write_text("x")
        data_dir = tmp_path / "afile" if case == "file" else tmp_path / "afile" / "data"
    elif case == "missing_under_proc":
        data_dir = Path("/proc/nosuch/data")
    elif case == "unwritable":
        data_dir = Path("/proc/sys")  # a directory nobody may write into, root neither
    else:
        data_dir = _read_only_mount(tmp_path) / "data"
    try:
        result = command("dbinit", TALER_INVENTORY_DATA_DIR=str(data_dir))
    finally:
        if case == "read_only":
            subprocess.run(["umount", str(data_dir.parent)], check=True)
    assert_setup_error(result, fragment, str(data_dir), "TALER_INVENTORY_DATA_DIR")
    if case == "file":
        assert data_dir.read_text() == "x"


def test_port_in_use_is_one_line_before_anything_starts(scratch_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = command("serve", "--port", str(port), TALER_INVENTORY_DATABASE_URL=scratch_url)
    assert_setup_error(result, f"port {port} on 127.0.0.1 is in use", "--port")
    with psycopg.connect(scratch_url) as conn:  # not even the schema was made
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'inventory'") \
            .fetchone()[0] == 0


def test_host_that_is_not_here_is_one_line(scratch_url):
    result = command("serve", "--host", "nosuch.invalid", "--port", str(free_port()),
                     TALER_INVENTORY_DATABASE_URL=scratch_url)
    assert_setup_error(result, "cannot listen on --host nosuch.invalid")


# -- --help ------------------------------------------------------------------------------

def test_help_lists_every_setting_with_its_default():
    result = command("--help")
    assert result.returncode == 0
    for key, setting in config.SETTINGS.items():
        assert f"TALER_INVENTORY_{key} (default: " in result.stdout, key
        assert setting.help.split()[0] in result.stdout


def test_command_list_shows_whole_descriptions():
    result = command("--help")
    listed = result.stdout.split("Commands:")[1].split("Settings")[0]
    names = {line.split()[0] for line in listed.strip().splitlines()}
    assert names == set(cli.main.commands)
    assert "..." not in listed
    for name, cmd in cli.main.commands.items():
        assert cmd.get_short_help_str(limit=1000) in listed, name


@pytest.mark.parametrize("doc", [README, README.parent / "doc" / "operations.rst"])
def test_readme_and_operations_list_every_setting(doc):
    text = doc.read_text()
    for key in config.SETTINGS:
        assert f"``TALER_INVENTORY_{key}``" in text, key
    for flag in ("--access-log", "--log-level", "--log-format"):
        assert flag in text, flag


# -- backup and restore ------------------------------------------------------------------

def _add_instance(url, instance_id):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO inventory.instances (instance_id, name, password_hash,"
                     " default_pay_delay, max_lock_duration) VALUES (%s, 's', 'h', 0, 0)",
                     (instance_id,))


def test_backup_then_restore_brings_the_data_back(scratch_url, tmp_path):
    url = make_conninfo(scratch_url, password="dump-secret")  # never on a command line
    assert command("dbinit", TALER_INVENTORY_DATABASE_URL=url,
                   TALER_INVENTORY_ADMIN_PASSWORD="pw").returncode == 0
    _add_instance(scratch_url, "shop1")
    dump = tmp_path / "inventory.dump"
    result = command("backup", str(dump), TALER_INVENTORY_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert f"backup written to {dump}" in result.stdout and dump.stat().st_size > 0
    _add_instance(scratch_url, "shop2")
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        conn.execute("DELETE FROM inventory.instances WHERE instance_id = 'shop1'")
    result = command("restore", str(dump), TALER_INVENTORY_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "restored" in result.stdout and "(0 patches applied)" in result.stdout
    assert sorted(_instances(scratch_url)) == ["admin", "shop1"]  # the dump's, exactly


def test_restore_refuses_while_a_server_is_connected(scratch_url, tmp_path):
    assert command("dbinit", TALER_INVENTORY_DATABASE_URL=scratch_url).returncode == 0
    dump = tmp_path / "inventory.dump"
    assert command("backup", str(dump), TALER_INVENTORY_DATABASE_URL=scratch_url) \
        .returncode == 0
    _add_instance(scratch_url, "kept")
    with psycopg.connect(scratch_url, application_name="taler-inventory"):
        result = command("restore", str(dump), TALER_INVENTORY_DATABASE_URL=scratch_url)
    assert_setup_error(result, "server is connected", "stop it")
    assert sorted(_instances(scratch_url)) == ["admin", "kept"]


def test_restore_of_something_that_is_no_dump_changes_nothing(scratch_url, tmp_path):
    assert command("dbinit", TALER_INVENTORY_DATABASE_URL=scratch_url).returncode == 0
    _add_instance(scratch_url, "kept")
    junk = tmp_path / "junk.dump"
    junk.write_text("not a dump\n")
    result = command("restore", str(junk), TALER_INVENTORY_DATABASE_URL=scratch_url)
    assert_setup_error(result, f"reading {junk} failed")
    assert sorted(_instances(scratch_url)) == ["admin", "kept"]
