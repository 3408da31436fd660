"""``taler-inventory serve`` as a child process: started on a free loopback port,
waited for, spoken to, stopped; and the helpers around it (free ports, the CLI's
command line, a leftover embedded PostgreSQL)."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

START_TIMEOUT = 120  # seconds; a first embedded start runs initdb
STOP_TIMEOUT = 30

#: What a test server runs with unless told otherwise: no background reclaimer (a
#: server that lives through other tests must not take their expired holds away), no
#: webhook delivery worker (it would deliver other tests' events), cheap passwords.
TEST_ENV = {"TALER_INVENTORY_RECLAIM_INTERVAL": "0",
            "TALER_INVENTORY_WEBHOOK_INTERVAL": "0",
            "TALER_INVENTORY_ARGON2_TIME_COST": "1",
            "TALER_INVENTORY_ARGON2_MEMORY_COST": "1024"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_command() -> list[str]:
    """The ``taler-inventory`` command of the Python running this code.

    Its own script first: another one on the PATH may belong to another installation
    of the package.
    """
    own = os.path.join(os.path.dirname(sys.executable), "taler-inventory")
    script = own if os.access(own, os.X_OK) else shutil.which("taler-inventory")
    if script:
        return [script]
    return [sys.executable, "-c", "from taler_inventory.cli import main; main()"]


def clean_environ(env: dict) -> dict:
    """This process's environment without its ``TALER_INVENTORY_*``, plus ``env``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TALER_INVENTORY_")}
    environ.update(env)
    return environ


def answers(url: str, timeout: float = 2) -> bool:
    """``GET url`` answers 200 now."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


class Server:
    """A ``taler-inventory serve`` child process in its own process group.

    ``env`` comes on top of ``defaults`` (:data:`TEST_ENV`; the benchmark passes none,
    so that its server reclaims as in production); ``argv(port)``, when given, is the
    command line of another server of the same app (``bench/servers.py``).  The
    output is collected as it comes (:meth:`text`).
    """

    def __init__(self, env: dict, workers: int = 2, threads: int = 2, args=(), *,
                 defaults=TEST_ENV, argv=None, cwd=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if argv is None:
            command = cli_command() + ["serve", "--port", str(self.port), "--workers",
                                       str(workers), "--threads", str(threads), *args]
        else:
            command = argv(self.port)
        self.output = []
        self.proc = subprocess.Popen(
            command, env=clean_environ({"PYTHONUNBUFFERED": "1", **defaults, **env}),
            cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def wait_ready(self, timeout=START_TIMEOUT):
        """Wait until ``GET /config`` answers 200; return the server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.text()}")
            if answers(self.base + "/config"):
                return self
            time.sleep(0.25)
        raise AssertionError(f"serve did not answer within {timeout} s:\n{self.text()}")

    def stop(self) -> int:
        """SIGTERM, as an init system would; return the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        finally:
            self.kill()

    def stop_all(self):
        """SIGTERM, then SIGKILL for whatever of its process group is left, serve
        included if it did not stop in time; never raises.  For servers on a database
        of their own (the benchmark's), not on an embedded one others share."""
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            pass
        finally:
            self.kill(stragglers=True)

    def kill(self, *, stragglers=False):
        """SIGKILL the process group if serve still runs (``stragglers``: even if it
        exited, for whatever of its group outlived it; never where serve started an
        embedded PostgreSQL other servers share)."""
        if self.proc.poll() is None or stragglers:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(10)
        self._reader.join(5)
        if not self._reader.is_alive():
            self.proc.stdout.close()

    def get(self, path, **kwargs):
        return requests.get(self.base + path, timeout=10, **kwargs)

    def post(self, path, **kwargs):
        return requests.post(self.base + path, timeout=10, **kwargs)

    def delete(self, path, **kwargs):
        return requests.delete(self.base + path, timeout=10, **kwargs)


def token_headers(server, instance, password, scope="all", **body) -> dict:
    """Authorization headers of a new token of ``instance`` on ``server``."""
    prefix = "" if instance == "admin" else f"/instances/{instance}"
    resp = server.post(f"{prefix}/private/token", json={"scope": scope, **body},
                       auth=(instance, password))
    assert resp.status_code == 200, resp.text
    return {"Authorization": "Bearer " + resp.json()["access_token"]}


def stop_leftover_postgres(pgdata: Path):
    """After a failure: do not leave a PostgreSQL server running on a deleted directory."""
    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGINT)  # fast shutdown
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and pidfile.exists():
        time.sleep(0.2)


def serve_env(database_url: str, **settings) -> dict:
    """The environment of a test server on ``database_url`` with the tests' admin
    password; ``settings`` are more ``TALER_INVENTORY_*`` (``BODY_TIMEOUT="2"``)."""
    from tests import factories
    return {"TALER_INVENTORY_DATABASE_URL": database_url,
            "TALER_INVENTORY_ADMIN_PASSWORD": factories.ADMIN_PASSWORD,
            **{"TALER_INVENTORY_" + key: value for key, value in settings.items()}}


@contextlib.contextmanager
def running(env: dict, *, clean_stop=False, **kwargs):
    """A ready :class:`Server` for the ``with`` block, killed after it (``clean_stop``:
    stopped with SIGTERM first, which must end it with 0)."""
    server = Server(env, **kwargs)
    try:
        yield server.wait_ready()
        if clean_stop:
            assert server.stop() == 0
    finally:
        server.kill()
